import { test, expect } from '@playwright/test';
import { expectHeading, open, ready, signIn, unique } from './helpers';

test('build a user filter from conditions and see the users it matches', async ({ page }, testInfo) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/$/);
  const name = unique(testInfo, 'Customers only');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Filters' }).click();
  await ready(page);
  await expectHeading(page, 'Filters');
  await page.getByRole('link', { name: 'New filter' }).click();
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
