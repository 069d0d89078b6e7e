import { test, expect } from './fixtures';
import { type Page } from '@playwright/test';
import { admin, expectHeading, open, ready, shoot, signIn, unique } from './helpers';

// Seed 004, step for step in its own order: a CRM (Salesforce) 1. removes people through a macro
// listener — the macro that removes, the listener that runs it, the endpoint URL copied; the
// CRM's POST names the person in `find`; the troubleshooting notes: 404 for someone without an
// account, 202 (or 200) in the answer and the logs — and 2. creates feedback through an external
// source of a project and feedback type, with its workflow starting point (team, status) and its
// field mapping, from the CRM's JSON.

async function newUser(page: Page, email: string) {
  await open(page, '/users/new');
  await page.getByLabel('First name').fill('Crm');
  await page.getByLabel('Last name').fill('Contact');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Customers').check();
  await page.getByRole('button', { name: 'Save user' }).click();
  await expect(page.getByRole('status')).toHaveText('The user was created.');
}

test('seed 004: a CRM removes people through a listener and creates feedback through an external source', async ({ page, request }, testInfo) => {
  test.setTimeout(180_000);
  const tag = unique(testInfo, 's4');
  const contact = `${tag}-contact@example.com`;
  let apiKey = '';
  let endpoint = '';

  await signIn(page);
  await expect(page).toHaveURL(/\/$/);
  await newUser(page, contact);
  await open(page, '/api-keys/new');
  await page.getByLabel('Name', { exact: true }).fill(`CRM ${tag}`);
  await page.getByLabel('Prefix').fill('crm');
  await page.getByRole('button', { name: 'Create API key' }).click();
  apiKey = await page.getByLabel('New API key').inputValue();

  await test.step('removal: create the macro that removes the user', async () => {
    await open(page, '/users');
    await page.getByRole('link', { name: 'User automation' }).click();
    await ready(page);
    await page.getByRole('link', { name: 'Create a macro' }).click();
    await ready(page);
    await page.getByLabel('Name', { exact: true }).fill(`CRM removal ${tag}`);
    await page.getByLabel('Key', { exact: true }).fill(`crm-removal-${tag}`);
    await page.getByLabel('Remove user completely').check();
    await page.getByRole('button', { name: 'Save macro' }).click();
    await expect(page.getByRole('status')).toHaveText('The macro was saved.');
  });

  await test.step('removal: create the listener that runs it, and copy the endpoint URL', async () => {
    await open(page, '/users');
    await page.getByRole('link', { name: 'User automation' }).click();
    await ready(page);
    await page.getByRole('link', { name: 'Create an external listener' }).click();
    await ready(page);
    await page.getByRole('link', { name: /^Macro Execution/ }).click();
    await ready(page);
    await page.getByLabel('Name', { exact: true }).fill(`CRM removals ${tag}`);
    await page.getByLabel('Key', { exact: true }).fill(`demo-${tag}`);
    await page.getByLabel('Macro to run').selectOption({ label: `CRM removal ${tag}` });
    await page.getByLabel('API key', { exact: true }).selectOption({ label: `CRM ${tag}` });
    await page.getByRole('button', { name: 'Save listener' }).click();
    await expect(page.getByRole('status')).toHaveText('The listener was saved.');
    await ready(page);
    endpoint = (await page.getByLabel(/URL for a webhook/).inputValue()).split('?')[0];
    expect(endpoint).toMatch(new RegExp(`/api/v1/userMacroListeners/demo-${tag}$`));
    await shoot(page, 'seed004-listener');
  });

  await test.step('removal: the CRM POSTs with the email in find', async () => {
    const post = (email: string) => request.post(`${new URL(endpoint).pathname}?${new URLSearchParams({ find: email, apiKey })}`);
    // Troubleshooting: someone who has no account here is a 404.
    const missing = await post(`${tag}-never-joined@example.com`);
    expect(missing.status()).toBe(404);
    expect((await missing.json()).error.code).toBe('target_not_found');
    // 200 when the removal finished within the call; 202 when it finishes just after.
    const removed = await post(contact);
    expect([200, 202], await removed.text()).toContain(removed.status());
    await expect(async () => {
      await open(page, `/users?q=${encodeURIComponent(contact)}`);
      await expect(page.getByText('No users match.')).toBeVisible({ timeout: 1_000 });
    }).toPass({ timeout: 20_000 });
    // The logs show the same status the CRM got.
    await open(page, '/listeners/log');
    const row = page.getByRole('row', { name: new RegExp(`CRM removals ${tag}`) });
    await expect(row.filter({ hasText: String(removed.status()) }).first()).toBeVisible();
    await expect(row.filter({ hasText: '404' }).first()).toBeVisible();
    await expect(page.getByRole('main')).not.toContainText(contact);
    await shoot(page, 'seed004-log');
  });

  await test.step('feedback: an external source in the project and feedback type', async () => {
    await open(page, '/projects');
    await page.getByRole('link', { name: 'Aurora Beta' }).click();
    await ready(page);
    await page.getByRole('link', { name: 'Automation of Bug Report' }).click();
    await ready(page);
    await page.getByRole('link', { name: 'Create an external source' }).click();
    await ready(page);
    await expectHeading(page, 'New external source');
    await page.getByLabel('Name', { exact: true }).fill(`CRM feedback ${tag}`);
    await page.getByLabel('Key', { exact: true }).fill(`crm-${tag}`);
    await expect(page.getByLabel('Feedback type').locator('option:checked')).toHaveText('Bug Report');
    await page.getByLabel('API key').selectOption({ label: `CRM ${tag}` });
    // The workflow's starting point.
    await page.getByLabel('Team').selectOption({ label: 'Bug Report: Testers' });
    await page.getByLabel('Status', { exact: true }).selectOption({ index: 1 });
    const status = (await page.getByLabel('Status', { exact: true }).locator('option:checked').textContent())!.split(': ').pop()!.trim();
    await page.getByLabel('Default submitter (email)').fill(admin.email);
    // The CRM's parameters paired with the form's fields.
    await page.getByLabel('Mapping').fill('Subject = title\nDescription = description\nPriority__c = severity');
    await shoot(page, 'seed004-source');
    await page.getByRole('button', { name: 'Save external source' }).click();
    await expect(page.getByRole('status')).toHaveText('The external source was saved.');
    await ready(page);
    const url = await page.getByLabel('URL', { exact: true }).inputValue();
    expect(url).toContain(`/api/v1/externalSources/crm-${tag}`);

    const res = await request.post(new URL(url).pathname, {
      headers: { 'X-Api-Key': apiKey },
      data: { Subject: `Checkout fails ${tag}`, Description: 'Seen by three customers.', Priority__c: 'High' },
    });
    expect(res.status(), await res.text()).toBe(201);
    const { ticket_id } = await res.json();
    await open(page, `/feedback/${ticket_id}`);
    await expectHeading(page, `#${ticket_id} Checkout fails ${tag}`);
    const details = page.getByRole('region', { name: 'Details' });
    await expect(details).toContainText('High');
    await expect(details).toContainText('Testers');
    await expect(details).toContainText(status);
    await shoot(page, 'seed004-ticket');
  });
});
