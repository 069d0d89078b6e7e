import { test, expect } from './fixtures';
import { type Page } from '@playwright/test';
import { expectHeading, menuLink, open, ready, shoot, signIn, unique } from './helpers';

// Seed 000, step for step in its own order: a third-party system (Jira, through a URL-only
// webhook) asks for a GDPR removal. 1. an API key; 2. a user macro that removes the user
// completely, with its four options; 3. an external listener from user automation, guarded by a
// filter on the Customers team, whose URL is copied; 4. the third party calls that URL with the
// person's email in `find` and the key in `apiKey`. The notes: the filter protects the
// administrators' team, and someone without an account is a 404.

async function newUser(page: Page, email: string, team: string) {
  await open(page, '/users/new');
  await page.getByLabel('First name').fill('Seed');
  await page.getByLabel('Last name').fill('Zero');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel(team).check();
  await page.getByRole('button', { name: 'Save user' }).click();
  await expect(page.getByRole('status')).toHaveText('The user was created.');
}

/** From the community home, through the menu, to user automation (where the seed's user macros and listeners live). */
async function toUserAutomation(page: Page) {
  await open(page, '/');
  await (await menuLink(page, 'People', 'Users')).click();
  await ready(page);
  await expectHeading(page, 'Users');
  await page.getByRole('link', { name: 'User automation' }).click();
  await ready(page);
  await expectHeading(page, 'User automation');
}

test('seed 000: a GDPR removal asked by another system, set up step by step', async ({ page, request }, testInfo) => {
  test.setTimeout(180_000);
  const tag = unique(testInfo, 's0');
  const customer = `${tag}-customer@example.com`;
  const administrator = `${tag}-admin@example.com`;
  const nobody = `${tag}-nobody@example.com`;
  let apiKey = '';
  let endpoint = '';

  await signIn(page);
  await expect(page).toHaveURL(/\/$/);
  await newUser(page, customer, 'Customers');
  await newUser(page, administrator, 'Administrators');

  await test.step('1. Creating an API key', async () => {
    await open(page, '/');
    await (await menuLink(page, 'Integrations', 'API keys')).click();
    await ready(page);
    await expectHeading(page, 'API keys');
    await page.getByRole('link', { name: 'New API key' }).first().click();
    await ready(page);
    await page.getByLabel('Name', { exact: true }).fill(`Jira ${tag}`);
    await page.getByLabel('Prefix').fill('jira');
    await page.getByRole('button', { name: 'Create API key' }).click();
    const shown = page.getByLabel('New API key');
    await expect(shown).toHaveValue(/^jira_/);
    apiKey = await shown.inputValue();
    await shoot(page, 'seed000-1-api-key');
  });

  await test.step('2. Creating a user macro to delete user accounts', async () => {
    // Users → user resources (user automation) → Create a macro.
    await toUserAutomation(page);
    await page.getByRole('link', { name: 'Create a macro' }).click();
    await ready(page);
    await expectHeading(page, 'New user macro');
    await page.getByLabel('Name', { exact: true }).fill(`Delete user ${tag}`);
    await page.getByLabel('Key').fill(`delete-${tag}`);
    // Under the macro options: Remove user completely, and its prompt.
    const options = [
      'Include removed users on the opt-out dashboard',
      'Show in user-management actions',
      'Only run once per user',
      'Suppress confirmation',
    ];
    for (const o of options) await expect(page.getByLabel(o)).toBeHidden();
    await page.getByLabel('Remove user completely').check();
    for (const o of options) await expect(page.getByLabel(o)).toBeVisible();
    await expect(page.getByText(/every copy of their email and name is cut from the logs/)).toBeVisible();
    await page.getByLabel('Include removed users on the opt-out dashboard').check();
    await page.getByLabel('Show in user-management actions').check();
    await page.getByLabel('Only run once per user').check();
    await shoot(page, 'seed000-2-macro');
    await page.getByRole('button', { name: 'Save macro' }).click();
    await expect(page.getByRole('status')).toHaveText('The macro was saved.');
  });

  await test.step('3. Creating an external listener (with a filter on the Customers team)', async () => {
    // The filter the listener is guarded by: only customers may be removed this way.
    await open(page, '/');
    await (await menuLink(page, 'Automation', 'Filters')).click();
    await ready(page);
    await page.getByRole('link', { name: /New (user )?filter/ }).first().click();
    await ready(page);
    await page.getByLabel('Name', { exact: true }).fill(`Customers ${tag}`);
    await page.getByLabel('Group 1, condition 1 field').selectOption('team');
    await page.getByLabel('Group 1, condition 1 operator').selectOption({ value: 'is' });
    await page.getByLabel('Group 1, condition 1 value').fill('Customers');
    await page.getByRole('button', { name: 'Save filter' }).click();
    await expect(page.getByRole('status').first()).toHaveText('The filter was created.');

    // User automation → Create an external listener.
    await toUserAutomation(page);
    await page.getByRole('link', { name: 'Create an external listener' }).click();
    await ready(page);
    // The type step comes first: Macro Execution.
    await page.getByRole('link', { name: /^Macro Execution/ }).click();
    await ready(page);
    await expectHeading(page, 'New user listener');
    await page.getByLabel('Name', { exact: true }).fill(`Delete user ${tag}`);
    await page.getByLabel('Key', { exact: true }).fill(`deleteuser-${tag}`);
    await page.getByLabel('Filter').selectOption({ label: `Customers ${tag}` });
    await page.getByLabel('Macro to run').selectOption({ label: `Delete user ${tag}` });
    await page.getByLabel('API key', { exact: true }).selectOption({ label: `Jira ${tag}` });
    if (testInfo.project.use.javaScriptEnabled !== false) {
      // Hydrated, the URL to copy is there before saving ("copy the URL, then Submit").
      await expect(page.getByLabel('Endpoint URL', { exact: true })).toHaveValue(new RegExp(`/api/v1/userMacroListeners/deleteuser-${tag}$`));
    }
    await shoot(page, 'seed000-3-listener');
    await page.getByRole('button', { name: 'Save listener' }).click();
    await expect(page.getByRole('status')).toHaveText('The listener was saved.');
    await ready(page);
    endpoint = await page.getByLabel(/URL for a webhook/).inputValue();
    expect(endpoint).toContain(`/api/v1/userMacroListeners/deleteuser-${tag}?find=VALUE&apiKey=YOUR_API_KEY`);
    await shoot(page, 'seed000-3-listener-saved');
  });

  await test.step('4. The third-party system calls the URL with the email in find', async () => {
    const call = (email: string) =>
      request.post(endpoint.replace('VALUE', encodeURIComponent(email)).replace('YOUR_API_KEY', apiKey));
    // The customer is removed: 200 when done within the call, 202 when it finishes just after.
    const removed = await call(customer);
    expect([200, 202], await removed.text()).toContain(removed.status());
    await expect(async () => {
      await open(page, `/users?q=${encodeURIComponent(customer)}`);
      await expect(page.getByText('No users match.')).toBeVisible({ timeout: 1_000 });
    }).toPass({ timeout: 20_000 });
    // Notes: the filter protects the administrators' team; someone unknown is a 404.
    const spared = await call(administrator);
    expect(spared.status()).toBe(404);
    expect((await spared.json()).error.code).toBe('target_not_in_filter');
    const unknown = await call(nobody);
    expect(unknown.status()).toBe(404);
    expect((await unknown.json()).error.code).toBe('target_not_found');
    await open(page, `/users?q=${encodeURIComponent(administrator)}`);
    await expect(page.getByRole('link', { name: 'Seed Zero' })).toBeVisible();
  });

  await test.step('the listener log and the opt-out dashboard show the removal, never the person', async () => {
    await open(page, '/');
    await (await menuLink(page, 'Logs', 'Listener log')).click();
    await ready(page);
    await expect(page.getByRole('main')).toContainText(`Delete user ${tag}`);
    await expect(page.getByRole('main')).not.toContainText(customer);
    await shoot(page, 'seed000-4-listener-log');
    await open(page, '/opt-out');
    await expect(page.getByRole('main')).toContainText(`Delete user ${tag}`);
  });
});
