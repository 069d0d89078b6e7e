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

// Seeds 001/003: external data fields are shown in user management: as columns of the users
// list (the favourites until others are chosen; the choice lives in the URL) and in its CSV
// export.
test('the users list shows external data fields as columns and exports them', async ({ page }, testInfo) => {
  const tag = unique(testInfo, 'cols');
  await open(page, '/external-data');
  await page.getByLabel('Name', { exact: true }).fill(`CRM ${tag}`);
  await page.getByLabel('Stored against').selectOption({ label: 'Users' });
  await page.getByRole('button', { name: 'Create group' }).click();
  await expect(page.getByRole('status')).toHaveText('The data group was created: add its fields.');
  await ready(page);
  await page.getByLabel('Label of data field 1').fill('Tier');
  await page.getByLabel('Parameter of data field 1').fill('tier');
  await page.getByLabel('Data field 1 is a favourite').check();
  await page.getByLabel('Label of data field 2').fill('Seats');
  await page.getByLabel('Parameter of data field 2').fill('seats');
  await page.getByRole('button', { name: 'Save group' }).click();
  await expect(page.getByRole('status')).toHaveText('The data group was saved.');

  const table = page.getByRole('table', { name: 'Users' });
  const tier = table.getByRole('columnheader', { name: `CRM ${tag} · Tier` });
  const seats = table.getByRole('columnheader', { name: `CRM ${tag} · Seats` });
  await open(page, '/users');
  // The favourite is a column until others are chosen.
  await expect(tier).toBeVisible();
  await expect(seats).toHaveCount(0);
  await page.getByText(/^Columns: external data/).click();
  await page.getByLabel(`CRM ${tag} · Tier`).uncheck();
  await page.getByLabel(`CRM ${tag} · Seats`).check();
  await page.getByRole('button', { name: 'Show columns' }).click();
  await expect(page).toHaveURL(/columns=chosen/);
  await ready(page);
  await expect(seats).toBeVisible();
  await expect(tier).toHaveCount(0);
  // The search keeps the chosen columns.
  await page.getByLabel('Search').fill('example.com');
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page).toHaveURL(/q=example\.com.*col=\d+/);
  await ready(page);
  await expect(seats).toBeVisible();
  // The export has the list's columns and the chosen one.
  const href = await page.getByRole('link', { name: 'Export CSV' }).getAttribute('href');
  expect(href).toMatch(/^\/users\.csv\?q=example.*&columns=chosen&col=\d+/);
  const res = await page.request.get(href!);
  expect(res.status()).toBe(200);
  expect(res.headers()['content-type']).toContain('text/csv');
  const header = (await res.text()).split('\n')[0];
  // The list's columns, then the chosen fields (other favourites stay ticked until unticked).
  expect(header).toMatch(/^email,first_name,last_name,role,teams,score,joined,/);
  expect(header.split(',')).toContain(`CRM ${tag} · Seats`);
  expect(header.split(',')).not.toContain(`CRM ${tag} · Tier`);
  for (const width of [1280, 390]) {
    await page.setViewportSize({ width, height: 900 });
    await page.screenshot({ path: testInfo.outputPath(`users-columns-${width}.png`), fullPage: true });
  }
});
