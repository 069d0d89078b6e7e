import { test, expect } from './fixtures';
import { admin, expectHeading, menuLink, open, ready, signIn } from './helpers';

test('a signed-out visit to an admin page lands on sign-in, then returns there', async ({ page }) => {
  await page.goto('/teams');
  await expect(page).toHaveURL(/\/login\?next=%2Fteams$/);
  await ready(page);
  await expectHeading(page, 'Sign in');
  await page.getByLabel('Email').fill(admin.email);
  await page.getByLabel('Password').fill(admin.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/teams$/);
  await expectHeading(page, 'Teams');
});

test('a wrong password shows an error and keeps you signed out', async ({ page }) => {
  await signIn(page, admin.email, 'not the password');
  await expect(page.getByText('The email or password is not right.')).toBeVisible();
  await expect(page.getByRole('alert')).toContainText('Please correct the highlighted fields');
  await open(page, '/users');
  await expect(page).toHaveURL(/\/login/);
});

test('sign in, see the dashboard, sign out', async ({ page }) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/$/);
  await expectHeading(page, 'My Community');
  await expect(await menuLink(page, 'People', 'Users')).toBeVisible();
  await expect(page.getByText('Community Manager', { exact: true })).toBeVisible();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login\?notice=signed_out$/);
  await expect(page.getByRole('status')).toHaveText('You have signed out.');
  await open(page, '/');
  await expect(page).toHaveURL(/\/login/);
});
