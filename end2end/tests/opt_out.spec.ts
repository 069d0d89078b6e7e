import { test, expect } from './fixtures';
import { type Page } from '@playwright/test';
import { expectHeading, menuLink, open, ready, signIn, startListener, unique } from './helpers';

async function createMacro(page: Page, name: string, key: string, action: [string, string], options: string[]) {
  await open(page, '/macros/new');
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Key').fill(key);
  if (action[0] === 'remove_user') {
    await page.getByLabel('Remove user completely').check();
  } else {
    await page.getByLabel('Action 1', { exact: true }).selectOption(action[0]);
    if (action[1]) await page.getByLabel('Action 1 value').fill(action[1]);
  }
  for (const option of options) await page.getByLabel(option).check();
  await page.getByRole('button', { name: 'Save macro' }).click();
  await expect(page.getByRole('status')).toHaveText('The macro was saved.');
  await ready(page);
}

/** Creates a customer and returns the path of their page. */
async function createUser(page: Page, email: string, first: string) {
  await open(page, '/users/new');
  await page.getByLabel('First name').fill(first);
  await page.getByLabel('Last name').fill('Optout');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Customers').check();
  await page.getByRole('button', { name: 'Save user' }).click();
  await expect(page.getByRole('status')).toHaveText('The user was created.');
  await ready(page);
  return new URL(page.url()).pathname;
}

// Seed: community managers follow removals (GDPR opt-outs) on a dashboard and check what
// third parties sent to the listeners.
test('the opt-out dashboard counts a removal; the listener log filters calls', async ({ page, request }, testInfo) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/$/);
  const tag = unique(testInfo, 'o');
  const removal = `Opt out ${tag}`;

  // A removal from the user page, reported to the dashboard.
  await createMacro(page, removal, `optout-${tag}`, ['remove_user', ''], [
    'Include removed users on the opt-out dashboard',
    'Show in user-management actions',
    'Suppress confirmation',
  ]);
  await createUser(page, `${tag}-gone@example.com`, 'Gone');
  await page.getByLabel('Macro', { exact: true }).selectOption({ label: removal });
  await page.getByRole('button', { name: 'Run macro' }).click();
  await expect(page.getByRole('status')).toHaveText('The user was removed completely.');
  await ready(page);

  // The dashboard, reached from the main navigation.
  await (await menuLink(page, 'Logs', 'Opt-outs')).click();
  await ready(page);
  await expectHeading(page, 'Opt-out dashboard');
  await expect(page.getByRole('img', { name: /^Removals per day over the last 30 days: \d+ in all/ })).toBeVisible();
  const range = page.getByRole('navigation', { name: 'Range' });
  await expect(range.getByRole('link', { name: 'Last 30 days' })).toHaveAttribute('aria-current', 'page');
  const byMacro = page.getByRole('table', { name: 'Removals by macro' });
  await expect(byMacro.getByRole('row', { name: new RegExp(removal) }).getByRole('cell').first()).toHaveText('1');
  await expect(page.getByRole('table', { name: 'Removals by listener' }).getByRole('rowheader', { name: '(manual run)' })).toBeVisible();

  // Its receipt: who asked, what went, without naming the person.
  const receipts = page.getByRole('region', { name: 'Erasure receipts' });
  const receipt = receipts.getByRole('listitem').filter({ hasText: `${removal} run by hand` });
  await expect(receipt).toHaveCount(1);
  await expect(receipt).toContainText('removed user ');
  await receipt.getByText(/rows? removed or scrubbed$/).click();
  await expect(receipt.getByRole('listitem').filter({ hasText: 'team memberships removed: 1' })).toBeVisible();
  await expect(page.locator('body')).not.toContainText(`${tag}-gone`);

  // The numbers behind the chart, today included.
  await page.getByText('Show the numbers as a table').click();
  const days = page.getByRole('table', { name: 'Removals per day' });
  await expect(days.getByRole('row')).toHaveCount(31);
  const today = new Date().toISOString().slice(0, 10);
  await expect(days.getByRole('row', { name: new RegExp(today) }).getByRole('cell')).not.toHaveText('0');

  // Another range.
  await range.getByRole('link', { name: 'Last 7 days' }).click();
  await expect(page).toHaveURL(/\/opt-out\?days=7$/);
  await ready(page);
  await expect(page.getByRole('img', { name: /^Removals per day over the last 7 days: \d+ in all/ })).toBeVisible();
  await expect(range.getByRole('link', { name: 'Last 7 days' })).toHaveAttribute('aria-current', 'page');
  await expect(byMacro.getByRole('row', { name: new RegExp(removal) })).toBeVisible();

  // The CSV download: the removal is in it, nothing personal is.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'Download CSV' }).click(),
  ]);
  expect(download.suggestedFilename()).toMatch(/^opt-outs-\d{4}-\d{2}-\d{2}\.csv$/);
  const csv = await page.request.get('/opt-out.csv');
  expect(csv.headers()['content-type']).toBe('text/csv; charset=utf-8');
  const text = await csv.text();
  expect(text.split('\n')[0]).toBe('occurred_at,macro,listener,source,teams');
  expect(text).toContain(`,${removal},,manual,Customers`);
  expect(text).not.toContain(`${tag}-gone`);
  // Not for anyone signed out.
  const signedOut = await request.get('/opt-out.csv', { maxRedirects: 0 });
  expect(signedOut.status()).toBe(303);

  // A listener that third parties call.
  await createMacro(page, `Bump ${tag}`, `bump-${tag}`, ['adjust_score', '1'], []);
  const keeper = `${tag}-kept@example.com`;
  const keeperPage = await createUser(page, keeper, 'Kept');
  await open(page, '/api-keys/new');
  await page.getByLabel('Name', { exact: true }).fill(`Log key ${tag}`);
  await page.getByLabel('Prefix').fill('logk');
  await page.getByRole('button', { name: 'Create API key' }).click();
  const key = await page.getByLabel('New API key').inputValue();
  await startListener(page, 'Macro Execution');
  await page.getByLabel('Name', { exact: true }).fill(`Log ${tag}`);
  await page.getByLabel('Key', { exact: true }).fill(`log-${tag}`);
  await page.getByLabel('Macro to run').selectOption({ label: `Bump ${tag}` });
  await page.getByLabel('API key', { exact: true }).selectOption({ label: `Log key ${tag}` });
  await page.getByRole('button', { name: 'Save listener' }).click();
  await expect(page.getByRole('status')).toHaveText('The listener was saved.');
  const path = `/api/v1/userMacroListeners/log-${tag}`;
  expect((await request.post(`${path}?find=${encodeURIComponent(keeper)}&apiKey=logk_wrong`)).status()).toBe(401);
  expect((await request.post(`${path}?find=${encodeURIComponent(keeper)}&apiKey=${key}`)).status()).toBeLessThan(300);

  // The log, from the listeners page, filtered by listener and by status.
  await open(page, '/listeners');
  await page.getByRole('link', { name: /^Open the listener log/ }).click();
  await ready(page);
  await expectHeading(page, 'Listener log');
  await expect(page.getByRole('navigation', { name: 'Main' }).locator('summary', { hasText: 'Logs' })).toHaveAttribute('data-current', 'true');
  await expect(await menuLink(page, 'Logs', 'Listener log')).toHaveAttribute('aria-current', 'page');
  const search = page.getByRole('search', { name: 'Filter the log' });
  await search.getByLabel('Listener').selectOption({ label: `Log ${tag}` });
  await search.getByRole('button', { name: 'Apply filters' }).click();
  await expect(page).toHaveURL(/\/listeners\/log\?listener=\d+&status=&page=0$/);
  await ready(page);
  const calls = page.getByRole('table', { name: 'Listener calls' });
  await expect(calls.getByRole('row')).toHaveCount(3);
  await expect(page.getByText('Page 1 of 1 · 2 in all')).toBeVisible();

  await search.getByLabel('Status').selectOption('401');
  await search.getByRole('button', { name: 'Apply filters' }).click();
  await expect(page).toHaveURL(/\/listeners\/log\?listener=\d+&status=401&page=0$/);
  await ready(page);
  await expect(calls.getByRole('row')).toHaveCount(2);
  await expect(calls.getByRole('row').nth(1)).toContainText(`Log ${tag}`);
  await expect(calls.getByRole('row').nth(1)).toContainText('401');
  await expect(search.getByLabel('Status')).toHaveValue('401');

  await page.getByRole('link', { name: 'Clear filters' }).click();
  await expect(page).toHaveURL(/\/listeners\/log$/);
  await ready(page);
  await expect(search.getByLabel('Listener')).toHaveValue('');

  // The person the listener acted on: their page lists the call and links to the log.
  await open(page, keeperPage);
  await expect(page.getByRole('table', { name: 'Listener calls about this user' }).getByRole('row')).toHaveCount(2);
  await page.getByRole('link', { name: 'All 1 in the listener log' }).click();
  await ready(page);
  await expectHeading(page, 'Listener log');
  await expect(page.getByText('Calls about Kept Optout', { exact: true })).toBeVisible();
  await expect(calls.getByRole('row')).toHaveCount(2);
  await expect(calls).toContainText(keeper);
});
