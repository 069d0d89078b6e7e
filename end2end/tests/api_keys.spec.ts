import { test, expect } from './fixtures';
import { expectHeading, menuLink, open, ready, signIn, unique } from './helpers';

test('create an API key, see it once, disable and delete it', async ({ page }, testInfo) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/$/);
  const name = unique(testInfo, 'Jira');
  await (await menuLink(page, 'Integrations', 'API keys')).click();
  await ready(page);
  await expectHeading(page, 'API keys');
  await page.getByRole('link', { name: 'New API key' }).click();
  await ready(page);
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Prefix').fill('jira');
  await page.getByLabel('Allowed caller IPs').fill('10.0.0.0/33');
  await page.getByRole('button', { name: 'Create API key' }).click();
  await expect(page.getByText(/Allowed caller IPs.*prefix length outside 0–32/)).toBeVisible();

  await ready(page);
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Prefix').fill('jira');
  await page.getByLabel('Allowed caller IPs').fill('127.0.0.1');
  await page.getByRole('button', { name: 'Create API key' }).click();
  const shown = page.getByLabel('New API key');
  await expect(shown).toHaveValue(/^jira_[0-9a-f]{48}$/);
  const key = await shown.inputValue();

  // Shown once: a reload no longer has it.
  await open(page, '/api-keys');
  await expect(page.getByLabel('New API key')).toHaveCount(0);
  await expect(page.locator('body')).not.toContainText(key);
  const row = page.getByRole('row', { name: new RegExp(name) });
  await expect(row).toContainText('Enabled');
  await expect(row).toContainText(key.slice(0, 11) + '…');

  await row.getByRole('link', { name }).click();
  await ready(page);
  await page.getByRole('button', { name: 'Disable key' }).click();
  await expect(page.getByRole('status')).toHaveText('The API key is disabled.');
  await ready(page);
  await page.getByLabel('Yes, delete this key').check();
  await page.getByRole('button', { name: 'Delete key' }).click();
  await expect(page.getByRole('status')).toHaveText('The API key was deleted.');
  await expect(page.getByRole('row', { name: new RegExp(name) })).toHaveCount(0);
});
