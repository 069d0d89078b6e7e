import { test, expect } from './fixtures';
import { expectHeading, menuLink, open, ready, signIn, unique } from './helpers';

test('build a user filter from conditions and see the users it matches', async ({ page }, testInfo) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/$/);
  const name = unique(testInfo, 'Customers only');
  await (await menuLink(page, 'Automation', 'Filters')).click();
  await ready(page);
  await expectHeading(page, 'Filters');
  await page.getByRole('link', { name: 'New user filter' }).click();
  await ready(page);

  await page.getByLabel('Name', { exact: true }).fill(name);
  // A mistake first: score compared with text.
  await page.getByLabel('Group 1, condition 1 field').selectOption('score');
  await page.getByLabel('Group 1, condition 1 operator').selectOption({ label: '≥' });
  await page.getByLabel('Group 1, condition 1 value').fill('lots');
  await page.getByRole('button', { name: 'Save filter' }).click();
  await expect(page.getByText('Score needs a whole number, not "lots".')).toBeVisible();

  await ready(page);
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Group 1, condition 1 field').selectOption('team');
  await page.getByLabel('Group 1, condition 1 operator').selectOption({ value: 'is' });
  await page.getByLabel('Group 1, condition 1 value').fill('Customers');
  await page.getByLabel('Group 1, condition 2 field').selectOption('role');
  await page.getByLabel('Group 1, condition 2 operator').selectOption({ value: 'is' });
  await page.getByLabel('Group 1, condition 2 value').fill('participant');
  await page.getByRole('button', { name: 'Save filter' }).click();

  await expect(page.getByRole('status').first()).toHaveText('The filter was created.');
  await expectHeading(page, name);
  await expect(page.getByRole('region', { name: 'Rule' })).toContainText('team is Customers and role is Participant');
  await expect(page.getByText(/^\d+ matching users?$/)).toBeVisible();
  const rows = page.getByRole('table').getByRole('row');
  await expect(rows.nth(1)).toContainText('Customers');

  await open(page, '/filters');
  await expect(page.getByRole('row', { name: new RegExp(name) })).toContainText('team is Customers and role is Participant');
});

test('the filter editor previews the matching users while the conditions change', async ({ page }, testInfo) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/$/);
  await open(page, '/filters/new');
  const preview = page.getByRole('status', { name: 'Live preview' });
  if (testInfo.project.use.javaScriptEnabled === false) {
    // Without JavaScript nothing could update it: it stays out of sight, and the count shows
    // on the filter's page once saved (the test above).
    await expect(preview).toBeHidden();
    return;
  }
  await expect(preview).toHaveText('Change a condition to see how many users it selects.');
  await page.getByLabel('Group 1, condition 1 field').selectOption('team');
  await page.getByLabel('Group 1, condition 1 operator').selectOption({ value: 'is' });
  await page.getByLabel('Group 1, condition 1 value').fill('Administrators');
  await expect(preview).toContainText(/^\d+ users? match \(team is Administrators\)/);
  await preview.screenshot({ path: `/tmp/live-preview-${testInfo.project.name}.png` });
  await page.getByLabel('Group 1, condition 1 value').fill('Nobody-team');
  await expect(preview).toHaveText('No preview yet: there is no team "Nobody-team".');
  // Nothing was saved.
  await open(page, '/filters');
  await expect(page.getByText('Nobody-team')).toHaveCount(0);
});
