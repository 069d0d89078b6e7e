import { test, expect } from './fixtures';
import { type Page } from '@playwright/test';
import { expectHeading, open, ready, signIn, startListener, unique } from './helpers';

async function newUser(page: Page, email: string, lastName: string) {
  await open(page, '/users/new');
  await page.getByLabel('First name').fill('Bulk');
  await page.getByLabel('Last name').fill(lastName);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Testers').check();
  await page.getByRole('button', { name: 'Save user' }).click();
  await expect(page.getByRole('status')).toHaveText('The user was created.');
}

// The bulk action: pick a filter, pick a macro, perform it, and watch the progress.
test('a macro runs on every user of a filter, with a progress bar and a summary', async ({ page }, testInfo) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/$/);
  const tag = unique(testInfo, 'bulk');
  for (const n of [1, 2, 3]) await newUser(page, `${tag}-${n}@example.com`, `Bulk${n}`);

  await open(page, '/macros/new');
  await page.getByLabel('Name', { exact: true }).fill(`Points ${tag}`);
  await page.getByLabel('Key').fill(`points-${tag}`);
  await page.getByLabel('Action 1', { exact: true }).selectOption('adjust_score');
  await page.getByLabel('Action 1 value').fill('7');
  await page.getByRole('button', { name: 'Save macro' }).click();
  await expect(page.getByRole('status')).toHaveText('The macro was saved.');

  await open(page, '/filters/new');
  await page.getByLabel('Name', { exact: true }).fill(`Bulk ${tag}`);
  await page.getByLabel('Group 1, condition 1 field').selectOption('email');
  await page.getByLabel('Group 1, condition 1 operator').selectOption({ value: 'contains' });
  await page.getByLabel('Group 1, condition 1 value').fill(`${tag}-`);
  await page.getByRole('button', { name: 'Save filter' }).click();
  await expect(page.getByRole('status').first()).toHaveText('The filter was created.');
  await ready(page);
  await expect(page.getByText('3 matching users', { exact: true })).toBeVisible();

  // Without the confirmation nothing starts.
  const panel = page.getByRole('region', { name: 'Bulk action' });
  await panel.getByLabel('Macro').selectOption({ label: `Points ${tag}` });
  await panel.getByRole('button', { name: 'Perform action' }).click();
  await expect(page.getByText('Tick the box to confirm the run on every matching user.', { exact: true })).toBeVisible();
  await ready(page);

  await panel.getByLabel('Macro').selectOption({ label: `Points ${tag}` });
  await panel.getByLabel('Yes, run it on all 3 users').check();
  await panel.getByRole('button', { name: 'Perform action' }).click();
  await expect(page).toHaveURL(/\/bulk-runs\/\d+$/);
  await ready(page);
  await expectHeading(page, `Bulk run: Points ${tag}`);
  // The page refreshes itself (polling hydrated, a meta refresh without JavaScript).
  await expect(page.getByRole('status')).toHaveText('Finished: 3 of 3 users done.', { timeout: 20_000 });
  await expect(page.getByRole('progressbar', { name: 'Bulk run progress' })).toHaveAttribute('aria-valuenow', '100');
  await expect(page.getByRole('row', { name: /^Completed/ })).toContainText('3');
  await page.screenshot({ path: `/tmp/bulk-run-${testInfo.project.name}.png`, fullPage: true });

  await open(page, `/users?q=${encodeURIComponent(`${tag}-2@example.com`)}`);
  await expect(page.getByRole('row', { name: /Bulk2/ })).toContainText('7');
});

// The listener page's test request says what a call would do, without doing it.
test('the test-request panel explains a call without running it', async ({ page }, testInfo) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/$/);
  const tag = unique(testInfo, 'probe');
  await newUser(page, `${tag}@example.com`, 'Probe');

  await open(page, '/api-keys/new');
  await page.getByLabel('Name', { exact: true }).fill(`Probe ${tag}`);
  await page.getByLabel('Prefix').fill('probe');
  await page.getByRole('button', { name: 'Create API key' }).click();
  await expect(page.getByLabel('New API key')).toHaveValue(/^probe_/);

  await open(page, '/macros/new');
  await page.getByLabel('Name', { exact: true }).fill(`Remove ${tag}`);
  await page.getByLabel('Key').fill(`remove-${tag}`);
  await page.getByLabel('Remove user completely').check();
  await page.getByRole('button', { name: 'Save macro' }).click();
  await expect(page.getByRole('status')).toHaveText('The macro was saved.');

  await open(page, '/filters/new');
  await page.getByLabel('Name', { exact: true }).fill(`Customers ${tag}`);
  await page.getByLabel('Group 1, condition 1 field').selectOption('team');
  await page.getByLabel('Group 1, condition 1 operator').selectOption({ value: 'is' });
  await page.getByLabel('Group 1, condition 1 value').fill('Customers');
  await page.getByRole('button', { name: 'Save filter' }).click();
  await expect(page.getByRole('status').first()).toHaveText('The filter was created.');

  await startListener(page, 'Macro Execution');
  await page.getByLabel('Name', { exact: true }).fill(`Probe ${tag}`);
  await page.getByLabel('Key', { exact: true }).fill(`probe-${tag}`);
  await page.getByLabel('Filter').selectOption({ label: `Customers ${tag}` });
  await page.getByLabel('Macro to run').selectOption({ label: `Remove ${tag}` });
  await page.getByLabel('API key', { exact: true }).selectOption({ label: `Probe ${tag}` });
  await page.getByRole('button', { name: 'Save listener' }).click();
  await expect(page.getByRole('status')).toHaveText('The listener was saved.');
  await ready(page);

  // The tester is outside the filter on Customers.
  await page.getByLabel('Email to find').fill(`${tag}@example.com`);
  await page.getByRole('button', { name: 'Test', exact: true }).click();
  await ready(page);
  const result = page.getByRole('region', { name: 'Test result' });
  await expect(result).toContainText('A call would answer 404 target_not_in_filter');
  await expect(result).toContainText(`Bulk Probe <${tag}@example.com>`);
  await expect(result).toContainText('✗ team is Customers — not met');
  await expect(result).toContainText('No action would run.');
  await page.screenshot({ path: `/tmp/test-request-${testInfo.project.name}.png`, fullPage: true });

  // An unknown address.
  await page.getByLabel('Email to find').fill(`nobody-${tag}@example.com`);
  await page.getByRole('button', { name: 'Test', exact: true }).click();
  await ready(page);
  await expect(page.getByRole('region', { name: 'Test result' })).toContainText('404 target_not_found');

  // Nothing ran: the user is still there.
  await open(page, `/users?q=${encodeURIComponent(`${tag}@example.com`)}`);
  await expect(page.getByRole('link', { name: 'Bulk Probe' })).toBeVisible();
});
