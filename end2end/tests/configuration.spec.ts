import { test, expect } from './fixtures';
import * as fs from 'fs';
import { expectHeading, open, ready, shoot, signIn, unique } from './helpers';

// Configuration as code: the set-up downloads as one file, and a file from another
// installation is imported only after its preview is confirmed.
test('export the set-up, then import a file: a preview first, applied on confirmation', async ({ page }, testInfo) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/$/);
  await open(page, '/configuration');
  await expectHeading(page, 'Configuration');
  await expect(page.getByTestId('export-counts')).toContainText(/\d+ filters?, \d+ macros?, \d+ webhooks?/);

  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'Download the configuration' }).click(),
  ]);
  expect(download.suggestedFilename()).toMatch(/^switchyard-configuration-\d{4}-\d{2}-\d{2}\.json$/);
  const exported = JSON.parse(fs.readFileSync(await download.path(), 'utf8'));
  expect(exported.format).toBe('switchyard.configuration');
  expect(exported.version).toBe(1);
  expect(Array.isArray(exported.macros)).toBe(true);

  // A file as staging would hand it over: a filter, and a macro whose webhook's secret header
  // stayed behind (masked).
  const tag = unique(testInfo, 'cfg');
  const filter = `Beta customers ${tag}`;
  const doc = {
    format: 'switchyard.configuration',
    version: 1,
    filters: [{
      scope: 'user', name: filter, description: 'From staging', match: 'all',
      groups: [{ match: 'all', conditions: [{ field: 'team', op: 'is', value: 'Customers' }] }],
    }],
    macros: [{
      scope: 'user', key: `welcome-${tag}`, name: `Welcome ${tag}`,
      actions: [{ kind: 'add_to_team', value: 'Testers' }],
      trigger_webhooks: true,
      webhooks: [{
        kind: 'http', name: 'CRM', method: 'POST', url: 'https://crm.example/hooks',
        headers: ['Authorization: Bearer ••••••'], content_type: 'json', body: '{"email": "((user.email))"}',
      }],
    }],
  };

  // Not a configuration: the form says why.
  await page.getByLabel('Configuration file').setInputFiles({ name: 'people.csv', mimeType: 'text/csv', buffer: Buffer.from('email\nada@example.com\n') });
  await page.getByRole('button', { name: 'Preview the import' }).click();
  await ready(page);
  await expect(page.getByRole('alert')).toContainText('The file is not JSON');

  await page.getByLabel('Configuration file').setInputFiles({ name: 'staging.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(doc, null, 2)) });
  await page.getByRole('button', { name: 'Preview the import' }).click();
  await expectHeading(page, 'Import staging.json');
  await ready(page);
  await expect(page.getByTestId('plan-summary')).toHaveText('Importing this file would create 3, update 0 and leave 0 as they are.');
  const plan = page.getByRole('table', { name: 'What the import does' });
  await expect(plan.getByRole('row', { name: new RegExp(`Filter ${filter} create`) })).toBeVisible();
  await expect(plan.getByRole('row', { name: new RegExp(`Webhook welcome-${tag} › CRM create`) })).toBeVisible();
  await expect(page.getByText('comes paused; type the value of Authorization on its page')).toBeVisible();
  await shoot(page, 'config-preview');

  // Nothing is applied before the confirmation.
  await open(page, '/filters');
  await expect(page.getByRole('link', { name: filter })).toHaveCount(0);
  await page.goBack();
  await ready(page);

  await page.getByRole('button', { name: 'Apply the import' }).click();
  await expect(page.getByRole('heading', { name: 'Imported' })).toBeVisible();
  await expect(page.getByTestId('import-outcome')).toHaveText('3 created, 0 updated, 0 unchanged.');
  await expect(page.getByText('To do by hand')).toBeVisible();
  await shoot(page, 'config-imported');

  await open(page, '/filters');
  await expect(page.getByRole('link', { name: filter })).toBeVisible();
  await open(page, '/configuration');
  await expect(page.getByRole('table', { name: 'Latest imports' })).toContainText('applied');
  await shoot(page, 'configuration');
});
