import { test, expect } from './fixtures';
import { type Page, type TestInfo } from '@playwright/test';
import { expectHeading, menuLink, open, ready, shoot, signIn, startListener, unique } from './helpers';

/**
 * Seed 001's "Community or Project Manager access", in the browser: a project manager uses
 * listeners, macros, filters, webhooks, external data and both logs; API keys, the audit log
 * and the opt-out dashboard are not in their menu and their pages refuse them (403); a macro
 * that removes users is shown to them without anything to change, run or delete it.
 *
 * The community manager makes the project manager (with a password) and a removal macro
 * through the screens first; the tests of this file run in order.
 */
test.describe.configure({ mode: 'serial' });

const PASSWORD = 'pm e2e password 123';
const pmEmail = (testInfo: TestInfo) => `${unique(testInfo, 'pat')}@example.com`;
const tagOf = (testInfo: TestInfo) => unique(testInfo, 'role');

async function signInAsProjectManager(page: Page, testInfo: TestInfo) {
  await signIn(page, pmEmail(testInfo), PASSWORD);
  await expect(page).toHaveURL(/\/$/);
  await ready(page);
}

/** The main menu's links (both the wide one and the phone's), hidden or not. */
const menuHref = (page: Page, href: string) => page.locator(`nav[aria-label="Main"] a[href="${href}"]`);

test('a community manager makes a project manager and a removal macro', async ({ page }, testInfo) => {
  const tag = tagOf(testInfo);
  await signIn(page);
  await expect(page).toHaveURL(/\/$/);

  await open(page, '/users/new');
  await page.getByLabel('First name').fill('Pat');
  await page.getByLabel('Last name').fill(`Manager ${tag}`);
  await page.getByLabel('Email').fill(pmEmail(testInfo));
  await page.getByLabel('Role').selectOption({ label: 'Project manager' });
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Save user' }).click();
  await expect(page.getByRole('status')).toHaveText('The user was created.');

  // A user to run macros on.
  await ready(page);
  await open(page, '/users/new');
  await page.getByLabel('First name').fill('Role');
  await page.getByLabel('Last name').fill(`Target ${tag}`);
  await page.getByLabel('Email').fill(`${tag}-target@example.com`);
  await page.getByRole('button', { name: 'Save user' }).click();
  await expect(page.getByRole('status')).toHaveText('The user was created.');

  // The API key the project manager's listener will ask for: keys are community managers'.
  await ready(page);
  await open(page, '/api-keys/new');
  await page.getByLabel('Name', { exact: true }).fill(`Key ${tag}`);
  await page.getByLabel('Prefix').fill('pm');
  await page.getByRole('button', { name: 'Create API key' }).click();
  await expect(page.getByLabel('New API key')).toHaveValue(/^pm_/);

  await ready(page);
  await open(page, '/macros/new');
  await page.getByLabel('Name', { exact: true }).fill(`Forget ${tag}`);
  await page.getByLabel('Key', { exact: true }).fill(`forget-${tag}`);
  await page.getByLabel('Remove user completely').check();
  await page.getByRole('button', { name: 'Save macro' }).click();
  await expect(page.getByRole('status')).toHaveText('The macro was saved.');

  // The listener another system calls to run it.
  await ready(page);
  await startListener(page, 'Macro Execution');
  await page.getByLabel('Name', { exact: true }).fill(`GDPR ${tag}`);
  await page.getByLabel('Key', { exact: true }).fill(`gdpr-${tag}`);
  await page.getByLabel('Macro to run').selectOption({ label: `Forget ${tag}` });
  await page.getByLabel('API key', { exact: true }).selectOption({ label: `Key ${tag}` });
  await page.getByRole('button', { name: 'Save listener' }).click();
  await expect(page.getByRole('status')).toHaveText('The listener was saved.');
});

test('a project manager’s menu and dashboard leave out API keys, the audit log and opt-outs', async ({ page }, testInfo) => {
  await signInAsProjectManager(page, testInfo);
  await expectHeading(page, 'My Community');
  await expect(page.locator('header [title="Project manager"]')).toBeVisible();

  for (const [group, link] of [
    ['Automation', 'Filters'],
    ['Automation', 'Macros'],
    ['Automation', 'Listeners'],
    ['Integrations', 'External data'],
    ['Logs', 'Listener log'],
    ['Logs', 'Webhook log'],
  ]) {
    await expect(await menuLink(page, group, link), `${group} › ${link}`).toBeVisible();
    await open(page, '/');
  }
  for (const href of ['/api-keys', '/audit', '/opt-out', '/configuration']) {
    await expect(menuHref(page, href), `no menu entry for ${href}`).toHaveCount(0);
  }
  await expect(menuHref(page, '/filters')).not.toHaveCount(0);

  // The dashboard: no audit trail, no API key or removal step in Get started.
  await expect(page.getByRole('heading', { name: 'Recent activity' })).toHaveCount(0);
  await expect(page.getByText('Create an API key')).toHaveCount(0);
  await expect(page.getByText('Make a macro that removes users')).toHaveCount(0);
  await expect(page.getByRole('link', { name: 'New API key' })).toHaveCount(0);
  await page.screenshot({ path: testInfo.outputPath('pm-dashboard-1280.png'), fullPage: true });

  // On a phone the one Menu lists the same groups, without the refused links.
  await page.setViewportSize({ width: 390, height: 844 });
  await open(page, '/');
  await page.locator('summary', { hasText: /^Menu$/ }).click();
  const main = page.getByRole('navigation', { name: 'Main' });
  await expect(main.getByRole('link', { name: 'Listeners', exact: true })).toBeVisible();
  await expect(main.getByRole('link', { name: 'Webhook log', exact: true })).toBeVisible();
  await expect(main.getByRole('link', { name: 'API keys' })).toHaveCount(0);
  await expect(main.getByRole('link', { name: 'Audit log' })).toHaveCount(0);
  await page.screenshot({ path: testInfo.outputPath('pm-dashboard-390-menu.png'), fullPage: true });
  await open(page, '/');
  await page.screenshot({ path: testInfo.outputPath('pm-dashboard-390.png'), fullPage: true });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow, 'the dashboard is no wider than the phone').toBeLessThanOrEqual(0);
});

test('the community managers’ pages refuse a project manager', async ({ page }, testInfo) => {
  await signInAsProjectManager(page, testInfo);
  for (const url of ['/api-keys', '/api-keys/new', '/audit', '/opt-out', '/users/new', '/users/import', '/configuration']) {
    const res = await page.goto(url);
    expect.soft(res?.status(), url).toBe(403);
    await ready(page);
    const alert = page.getByRole('alert');
    await expect(alert, url).toContainText('Not allowed');
    await expect(alert, url).toContainText('A project manager cannot do this');
  }
  // People and settings: seen, not changed.
  await open(page, '/users');
  await expectHeading(page, 'Users');
  await expect(page.getByRole('link', { name: 'New user' })).toHaveCount(0);
  await expect(page.getByRole('link', { name: 'Import CSV' })).toHaveCount(0);
});

test('a project manager builds a filter, a macro with a webhook, a data group and a listener', async ({ page }, testInfo) => {
  const tag = tagOf(testInfo);
  await signInAsProjectManager(page, testInfo);

  // A filter.
  await (await menuLink(page, 'Automation', 'Filters')).click();
  await ready(page);
  await expectHeading(page, 'Filters');
  await page.getByRole('link', { name: 'New user filter' }).first().click();
  await ready(page);
  await page.getByLabel('Name', { exact: true }).fill(`PM filter ${tag}`);
  await page.getByLabel('Group 1, condition 1 field').selectOption('email');
  await page.getByLabel('Group 1, condition 1 operator').selectOption({ value: 'contains' });
  await page.getByLabel('Group 1, condition 1 value').fill(`${tag}-target`);
  await page.getByRole('button', { name: 'Save filter' }).click();
  await expect(page.getByRole('status').first()).toHaveText('The filter was created.');
  await expect(page.getByText('1 matching user', { exact: true })).toBeVisible();

  // A macro of their own (no removal: that option is not theirs), then run on the user.
  await ready(page);
  await open(page, '/macros/new');
  await expect(page.getByLabel('Remove user completely')).toBeDisabled();
  await page.getByLabel('Name', { exact: true }).fill(`Points ${tag}`);
  await page.getByLabel('Key', { exact: true }).fill(`points-${tag}`);
  await page.getByLabel('Action 1', { exact: true }).selectOption('adjust_score');
  await page.getByLabel('Action 1 value').fill('4');
  await page.getByRole('button', { name: 'Save macro' }).click();
  await expect(page.getByRole('status')).toHaveText('The macro was saved.');
  await ready(page);

  // Its webhook.
  await page.getByRole('link', { name: `Points ${tag}` }).click();
  await ready(page);
  await expectHeading(page, `Points ${tag}`);
  await expect(page.getByRole('button', { name: 'Save macro' })).toBeVisible();
  await page.getByRole('link', { name: 'Add a webhook' }).click();
  await ready(page);
  await expectHeading(page, `New webhook of Points ${tag}`);
  await page.getByLabel('Name', { exact: true }).fill(`Hook ${tag}`);
  await page.getByLabel('URL').fill('http://127.0.0.1:9/hook');
  await page.getByRole('button', { name: 'Save webhook' }).click();
  await expect(page.getByRole('status')).toHaveText('The webhook was saved.');

  // The macro runs on the user from their page.
  await open(page, `/users?q=${encodeURIComponent(`${tag}-target`)}`);
  await page.getByRole('link', { name: `Role Target ${tag}` }).click();
  await ready(page);
  await page.getByLabel('Macro', { exact: true }).selectOption({ label: `Points ${tag}` });
  await page.getByLabel('Yes, run it on this user').check();
  await page.getByRole('button', { name: 'Run macro' }).click();
  await expect(page.getByRole('status')).toHaveText('The macro ran.');
  await expect(page.getByRole('region', { name: 'Summary' }).getByText('4', { exact: true })).toBeVisible();

  // An external data group.
  await open(page, '/external-data');
  await page.getByLabel('Name', { exact: true }).fill(`CRM ${tag}`);
  await page.getByRole('button', { name: 'Create group' }).click();
  await expect(page.getByRole('status')).toHaveText('The data group was created: add its fields.');

  // A listener running their macro: the removal macro is not offered.
  await startListener(page, 'Macro Execution');
  const runnable = await page.getByLabel('Macro to run').locator('option').allTextContents();
  expect(runnable).toContain(`Points ${tag}`);
  expect(runnable).not.toContain(`Forget ${tag}`);
  await page.getByLabel('Name', { exact: true }).fill(`PM listener ${tag}`);
  await page.getByLabel('Key', { exact: true }).fill(`pm-listener-${tag}`);
  await page.getByLabel('Macro to run').selectOption({ label: `Points ${tag}` });
  await page.getByLabel('API key', { exact: true }).selectOption({ label: `Key ${tag}` });
  await page.getByRole('button', { name: 'Save listener' }).click();
  await expect(page.getByRole('status')).toHaveText('The listener was saved.');
  await expectHeading(page, `PM listener ${tag}`);

  // Both logs.
  await open(page, '/');
  await (await menuLink(page, 'Logs', 'Listener log')).click();
  await ready(page);
  await expectHeading(page, 'Listener log');
  await open(page, '/');
  await (await menuLink(page, 'Logs', 'Webhook log')).click();
  await ready(page);
  await expectHeading(page, 'Webhook log');
});

test('a removal macro shows a project manager no control to change, run or delete it', async ({ page }, testInfo) => {
  const tag = tagOf(testInfo);
  await signInAsProjectManager(page, testInfo);
  await open(page, '/macros');
  const row = page.getByRole('row', { name: new RegExp(`Forget ${tag}`) });
  await expect(row).toContainText('Remove user completely');
  await row.getByRole('link', { name: `Forget ${tag}` }).click();
  await ready(page);
  await expectHeading(page, `Forget ${tag}`);
  await expect(page.getByText('Only a community manager can change, run or delete it.')).toBeVisible();
  await expect(page.getByText('Remove user completely', { exact: true })).toBeVisible();
  for (const name of ['Save macro', 'Delete macro', 'Run macro']) {
    await expect(page.getByRole('button', { name })).toHaveCount(0);
  }
  await expect(page.getByRole('link', { name: 'Add a webhook' })).toHaveCount(0);
  await expect(page.locator('form')).toHaveCount(1); // only the header's Sign out

  // Not offered to run on a user either.
  await open(page, `/users?q=${encodeURIComponent(`${tag}-target`)}`);
  await page.getByRole('link', { name: `Role Target ${tag}` }).click();
  await ready(page);
  const offered = await page.getByLabel('Macro', { exact: true }).locator('option').allTextContents();
  expect(offered).toContain(`Points ${tag}`);
  expect(offered).not.toContain(`Forget ${tag}`);

  // The listener that runs it: its address is shown, nothing to change, test or delete.
  await open(page, '/listeners');
  await page.getByRole('link', { name: `GDPR ${tag}` }).click();
  await ready(page);
  await expectHeading(page, `GDPR ${tag}`);
  await expect(page.getByTestId('removal-locked')).toHaveText(
    'This listener belongs to a macro that removes users completely. Only a community manager can change it.',
  );
  await expect(page.getByLabel('URL for a webhook that can only set a URL (e.g. Jira)')).toHaveValue(
    new RegExp(`/api/v1/userMacroListeners/gdpr-${tag}\\?`),
  );
  for (const name of ['Save listener', 'Delete listener', 'Test']) {
    await expect(page.getByRole('button', { name })).toHaveCount(0);
  }
  await shoot(page, 'pm-removal-listener');
});
