import { test, expect } from './fixtures';
import { expectHeading, open, ready, signIn, unique } from './helpers';

test('external data groups and their typed fields', async ({ page }, testInfo) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/$/);
  const tag = unique(testInfo, 'xd');

  await open(page, '/external-data');
  await page.getByLabel('Name', { exact: true }).fill(`Jira ${tag}`);
  await page.getByLabel('Stored against').selectOption({ label: 'Feedback tickets' });
  await page.getByRole('button', { name: 'Create group' }).click();
  await expect(page.getByRole('status')).toHaveText('The data group was created: add its fields.');
  await expectHeading(page, `Data group Jira ${tag}`);
  await expect(page.getByText('Stored against feedback tickets.')).toBeVisible();

  // A bad parameter is named; the other rows keep what was typed only when hydrated, so the
  // form is filled again after the refusal.
  const fill = async (parameter: string) => {
    await ready(page);
    await page.getByLabel('Label of data field 1').fill('Issue key');
    await page.getByLabel('Parameter of data field 1').fill(parameter);
    await page.getByLabel('Data field 1 is a favourite').check();
    await page.getByLabel('Label of data field 2').fill('Story points');
    await page.getByLabel('Parameter of data field 2').fill('points');
    await page.getByLabel('Type of data field 2').selectOption({ label: 'Integer' });
    await page.getByRole('button', { name: 'Save group' }).click();
  };
  await fill('issue key');
  await expect(page.getByText('The parameter must be a key or a path into the body such as issue.fields.labels[0]: up to 100 characters without spaces.')).toBeVisible();
  await fill('issueKey');
  await expect(page.getByRole('status')).toHaveText('The data group was saved.');
  await expect(page.getByLabel('Parameter of data field 1')).toHaveValue('issueKey');
  await expect(page.getByLabel('Type of data field 2')).toHaveValue('integer');

  await page.getByRole('link', { name: 'External data' }).first().click();
  await expect(page.getByRole('row', { name: new RegExp(`Jira ${tag}`) })).toContainText('Issue key (String), Story points (Integer)');

  // The demo project comes with its feedback types.
  await open(page, '/projects');
  await page.getByRole('link', { name: 'Aurora Beta' }).click();
  await expect(page.getByRole('row', { name: /^Bug Report / })).toContainText('New → Open → In Progress → Closed');
  await expect(page.getByRole('row', { name: /^Feature Request / })).toBeVisible();
  // Seeds 001/003: a project holds external data too; its page shows it.
  await expect(page.getByRole('region', { name: 'External data' })).toBeVisible();
});
