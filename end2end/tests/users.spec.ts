import { test, expect } from './fixtures';
import { expectHeading, open, ready, signIn, unique } from './helpers';

test.beforeEach(async ({ page }) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/$/);
});

test('create, edit and delete a user', async ({ page }, testInfo) => {
  const email = `${unique(testInfo, 'ada')}@example.com`;
  await open(page, '/users');
  await page.getByRole('link', { name: 'New user' }).click();
  await ready(page);
  await expectHeading(page, 'New user');
  await page.getByLabel('First name').fill('Ada');
  await page.getByLabel('Last name').fill('Lovelace');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Score').fill('7');
  await page.getByLabel('Customers').check();
  await page.getByRole('button', { name: 'Save user' }).click();

  await expect(page.getByRole('status')).toHaveText('The user was created.');
  await expectHeading(page, 'Ada Lovelace');
  const summary = page.getByRole('region', { name: 'Summary' });
  await expect(summary.getByText(email)).toBeVisible();
  await expect(summary.getByText('Customers')).toBeVisible();

  await ready(page);
  await page.getByRole('link', { name: 'Edit user' }).click();
  await ready(page);
  await expectHeading(page, 'Edit Ada Lovelace');
  await page.getByLabel('Last name').fill('King');
  await page.getByLabel('Score').fill('8');
  await page.getByRole('button', { name: 'Save user' }).click();
  await expect(page.getByRole('status')).toHaveText('The user was saved.');
  await expectHeading(page, 'Ada King');

  // The list finds her by search.
  await open(page, `/users?q=${encodeURIComponent(email)}`);
  await expect(page.getByRole('link', { name: 'Ada King' })).toBeVisible();
  await expect(page.getByText('1 in all')).toBeVisible();

  await page.getByRole('link', { name: 'Ada King' }).click();
  await ready(page);
  await page.getByRole('link', { name: 'Edit user' }).click();
  await ready(page);
  // Without the confirmation nothing is deleted.
  await page.getByRole('button', { name: 'Delete user' }).click();
  await expect(page.getByText('Tick the box to confirm the deletion.')).toBeVisible();
  await ready(page);
  await page.getByLabel('Yes, delete this user').check();
  await page.getByRole('button', { name: 'Delete user' }).click();
  await expect(page).toHaveURL(/\/users\?notice=user_deleted$/);
  await expect(page.getByRole('status')).toHaveText('The user was deleted.');
  await open(page, `/users?q=${encodeURIComponent(email)}`);
  await expect(page.getByText('No users match.')).toBeVisible();
});

test('the server names every field it refuses and writes nothing', async ({ page }) => {
  await open(page, '/users/new');
  // An email that already belongs to someone (the signed-in manager).
  await page.getByLabel('First name').fill('Copy');
  await page.getByLabel('Last name').fill('Cat');
  await page.getByLabel('Email').fill('admin@example.com');
  await page.getByLabel('Role').selectOption('project_manager');
  await page.getByRole('button', { name: 'Save user' }).click();
  await expect(page.getByText('A user with this email already exists.')).toBeVisible();
  await expect(page.getByText(/needs a password to sign in/)).toBeVisible();
  await expect(page.getByRole('alert')).toContainText('Please correct the highlighted fields');
  await open(page, `/users?q=copy`);
  await expect(page.getByText('No users match.')).toBeVisible();
});

test('the users list filters by team and pages', async ({ page }) => {
  await open(page, '/users');
  await expect(page.getByText(/Page 1 of \d+ · \d+ in all/)).toBeVisible();
  await page.getByLabel('Team').selectOption({ label: 'Administrators' });
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page).toHaveURL(/team=\d+/);
  const rows = page.getByRole('table', { name: 'Users' }).getByRole('row');
  await expect(rows.nth(1)).toContainText('Administrators');
});
