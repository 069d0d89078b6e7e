import { test, expect } from './fixtures';
import { expectHeading, open, ready, signIn, unique } from './helpers';

async function createUser(page: import('@playwright/test').Page, email: string) {
  await open(page, '/users/new');
  await page.getByLabel('First name').fill('Macro');
  await page.getByLabel('Last name').fill('Target');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Customers').check();
  await page.getByRole('button', { name: 'Save user' }).click();
  await expect(page.getByRole('status')).toHaveText('The user was created.');
  await ready(page);
}

async function createMacro(page: import('@playwright/test').Page, name: string, key: string, actions: [string, string][], options: string[]) {
  await open(page, '/macros/new');
  await expectHeading(page, 'New user macro');
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Key').fill(key);
  for (const [i, [kind, value]] of actions.entries()) {
    // Removal is an option of its own, after the actions.
    if (kind === 'remove_user') {
      await page.getByLabel('Remove user completely').check();
      continue;
    }
    await page.getByLabel(`Action ${i + 1}`, { exact: true }).selectOption(kind);
    if (value) await page.getByLabel(`Action ${i + 1} value`).fill(value);
  }
  for (const option of options) await page.getByLabel(option).check();
  await page.getByRole('button', { name: 'Save macro' }).click();
  await expect(page.getByRole('status')).toHaveText('The macro was saved.');
  await ready(page);
}

test('run a macro on a user, then remove a user completely', async ({ page }, testInfo) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/$/);
  const tag = unique(testInfo, 'm');
  const email = `${tag}@example.com`;

  await createMacro(page, `Welcome ${tag}`, `welcome-${tag}`, [['adjust_score', '5'], ['add_comment', 'Welcome aboard!']], []);
  await createMacro(page, `Delete ${tag}`, `delete-${tag}`, [['remove_user', '']], ['Include removed users on the opt-out dashboard']);
  await expect(page.getByRole('row', { name: new RegExp(`Delete ${tag}`) })).toContainText('Remove user completely');

  await createUser(page, email);
  await page.getByLabel('Macro', { exact: true }).selectOption({ label: `Welcome ${tag}` });
  await page.getByRole('button', { name: 'Run macro' }).click();
  await expect(page.getByText('Tick the box to confirm the run.')).toBeVisible();
  await ready(page);
  await page.getByLabel('Macro', { exact: true }).selectOption({ label: `Welcome ${tag}` });
  await page.getByLabel('Yes, run it on this user').check();
  await page.getByRole('button', { name: 'Run macro' }).click();
  await expect(page.getByRole('status')).toHaveText('The macro ran.');
  await expect(page.getByText('Welcome aboard!', { exact: true })).toBeVisible();
  await expect(page.getByRole('region', { name: 'Summary' }).getByText('5', { exact: true })).toBeVisible();

  await ready(page);
  await page.getByLabel('Macro', { exact: true }).selectOption({ label: `Delete ${tag}` });
  await page.getByLabel('Yes, run it on this user').check();
  await page.getByRole('button', { name: 'Run macro' }).click();
  await expect(page).toHaveURL(/\/users\?notice=user_removed$/);
  await expect(page.getByRole('status')).toHaveText('The user was removed completely.');
  await open(page, `/users?q=${encodeURIComponent(email)}`);
  await expect(page.getByText('No users match.')).toBeVisible();
});

// Seed 000: removal is an option of the macro; ticking it shows what it erases and its four
// settings, which no other macro has (the same without JavaScript: the reveal is CSS).
test('Remove user completely opens its four options and says what it erases', async ({ page }, testInfo) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/$/);
  const tag = unique(testInfo, 'opt');
  await open(page, '/macros/new');
  const options = [
    'Include removed users on the opt-out dashboard',
    'Show in user-management actions',
    'Only run once per user',
    'Suppress confirmation',
  ];
  for (const o of options) await expect(page.getByLabel(o)).toBeHidden();
  await expect(page.getByRole('option', { name: 'Remove user completely' })).toHaveCount(0);
  await page.getByLabel('Remove user completely').check();
  for (const o of options) await expect(page.getByLabel(o)).toBeVisible();
  await expect(page.getByText(/every copy of their email and name is cut from the logs/)).toBeVisible();
  await page.getByLabel('Name', { exact: true }).fill(`Forget ${tag}`);
  await page.getByLabel('Key').fill(`forget-${tag}`);
  await page.getByLabel('Only run once per user').check();
  await page.getByRole('button', { name: 'Save macro' }).click();
  await expect(page.getByRole('status')).toHaveText('The macro was saved.');
  await ready(page);
  await expect(page.getByRole('row', { name: new RegExp(`Forget ${tag}`) })).toContainText('Remove user completely');

  // Edited again, the macro shows as a removal with its options.
  await page.getByRole('link', { name: `Forget ${tag}` }).click();
  await ready(page);
  await expect(page.getByLabel('Remove user completely')).toBeChecked();
  await expect(page.getByLabel('Only run once per user')).toBeChecked();
  await expect(page.getByLabel('Action 1', { exact: true })).toHaveValue('');
});
