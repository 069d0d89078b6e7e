import { test, expect, type Page } from '@playwright/test';
import { expectHeading, open, ready, signIn, unique } from './helpers';

async function newUser(page: Page, email: string, team: string) {
  await open(page, '/users/new');
  await page.getByLabel('First name').fill('Listener');
  await page.getByLabel('Last name').fill('Target');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel(team).check();
  await page.getByRole('button', { name: 'Save user' }).click();
  await expect(page.getByRole('status')).toHaveText('The user was created.');
}

// Seed 000: a third party removes users through a listener, guarded by a filter on Customers.
test('a GDPR removal request through a listener removes a customer and spares an administrator', async ({ page, request }, testInfo) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/$/);
  const tag = unique(testInfo, 'l');
  const customer = `${tag}-customer@example.com`;
  const admin = `${tag}-admin@example.com`;
  await newUser(page, customer, 'Customers');
  await newUser(page, admin, 'Administrators');

  // 1. An API key.
  await open(page, '/api-keys/new');
  await page.getByLabel('Name').fill(`Jira ${tag}`);
  await page.getByLabel('Prefix').fill('jira');
  await page.getByRole('button', { name: 'Create API key' }).click();
  const key = await page.getByLabel('New API key').inputValue();
  expect(key).toMatch(/^jira_/);

  // 2. A macro that removes the user completely.
  await open(page, '/macros/new');
  await page.getByLabel('Name').fill(`Delete ${tag}`);
  await page.getByLabel('Key').fill(`delete-${tag}`);
  await page.getByLabel('Action 1', { exact: true }).selectOption('remove_user');
  await page.getByLabel('Include removed users on the opt-out dashboard').check();
  await page.getByRole('button', { name: 'Save macro' }).click();
  await expect(page.getByRole('status')).toHaveText('The macro was saved.');

  // 3. A filter on the Customers team.
  await open(page, '/filters/new');
  await page.getByLabel('Name', { exact: true }).fill(`Customers ${tag}`);
  await page.getByLabel('Group 1, condition 1 field').selectOption('team');
  await page.getByLabel('Group 1, condition 1 operator').selectOption({ value: 'is' });
  await page.getByLabel('Group 1, condition 1 value').fill('Customers');
  await page.getByRole('button', { name: 'Save filter' }).click();
  await expect(page.getByRole('status').first()).toHaveText('The filter was created.');

  // 4. The listener.
  await open(page, '/listeners/new');
  await expectHeading(page, 'New user macro listener');
  await page.getByLabel('Name').fill(`GDPR ${tag}`);
  await page.getByLabel('Key', { exact: true }).fill(`deleteuser-${tag}`);
  await page.getByLabel('Filter').selectOption({ label: `Customers ${tag}` });
  await page.getByLabel('Macro to run').selectOption({ label: `Delete ${tag}` });
  await page.getByLabel('API key', { exact: true }).selectOption({ label: `Jira ${tag}` });
  await page.getByRole('button', { name: 'Save listener' }).click();
  await expect(page.getByRole('status')).toHaveText('The listener was saved.');
  await ready(page);
  const url = await page.getByLabel(/URL for a webhook/).inputValue();
  expect(url).toContain(`/api/v1/userMacroListeners/deleteuser-${tag}?find=VALUE&apiKey=YOUR_API_KEY`);

  // The third party calls it the way Jira does (key in the query string).
  const path = `/api/v1/userMacroListeners/deleteuser-${tag}`;
  const protectedCall = await request.post(`${path}?find=${encodeURIComponent(admin)}&apiKey=${key}`);
  expect(protectedCall.status()).toBe(404);
  expect((await protectedCall.json()).error.code).toBe('target_not_in_filter');
  const removal = await request.post(`${path}?find=${encodeURIComponent(customer)}&apiKey=${key}`);
  expect(removal.status()).toBe(200);
  expect((await removal.json()).status).toBe('completed');
  const badKey = await request.post(`${path}?find=${encodeURIComponent(customer)}&apiKey=jira_wrong`);
  expect(badKey.status()).toBe(401);

  await open(page, `/users?q=${encodeURIComponent(customer)}`);
  await expect(page.getByText('No users match.')).toBeVisible();
  await open(page, `/users?q=${encodeURIComponent(admin)}`);
  await expect(page.getByRole('link', { name: 'Listener Target' })).toBeVisible();

  await open(page, '/listeners');
  const log = page.getByRole('table', { name: 'Listener log' });
  await expect(log).toContainText('target_not_in_filter');
  await expect(log).toContainText('completed');
  await expect(log).not.toContainText(customer);
});
