import { createHmac } from 'crypto';
import { test, expect } from './fixtures';
import { type APIResponse, type Page } from '@playwright/test';
import { admin, expectHeading, open, ready, shoot, signIn, startListener, unique, type ListenerType } from './helpers';

async function newUser(page: Page, email: string, team: string) {
  await open(page, '/users/new');
  await page.getByLabel('First name').fill('Listener');
  await page.getByLabel('Last name').fill('Target');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel(team).check();
  await page.getByRole('button', { name: 'Save user' }).click();
  await expect(page.getByRole('status')).toHaveText('The user was created.');
}

/** Creates an API key on /api-keys/new and returns the key, shown only this once. */
async function newApiKey(page: Page, name: string, prefix: string) {
  await open(page, '/api-keys/new');
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Prefix').fill(prefix);
  await page.getByRole('button', { name: 'Create API key' }).click();
  const shown = page.getByLabel('New API key');
  await expect(shown).toHaveValue(new RegExp(`^${prefix}_`));
  return shown.inputValue();
}

/** Creates a user macro listener and returns its id (from the page it lands on). */
async function newListener(page: Page, name: string, key: string, filter: string, macro: string, apiKey: string) {
  await startListener(page, 'Macro Execution');
  await expectHeading(page, 'New user listener');
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Key', { exact: true }).fill(key);
  await page.getByLabel('Filter').selectOption({ label: filter });
  await page.getByLabel('Macro to run').selectOption({ label: macro });
  await page.getByLabel('API key', { exact: true }).selectOption({ label: apiKey });
  await page.getByRole('button', { name: 'Save listener' }).click();
  await expect(page.getByRole('status')).toHaveText('The listener was saved.');
  await ready(page);
  await expectHeading(page, name);
  const id = new URL(page.url()).pathname.match(/^\/listeners\/(\d+)$/)?.[1];
  expect(id, `a listener page, not ${page.url()}`).toBeTruthy();
  return id!;
}

/** Asserts an error answer of the listener contract: status and `error.code`. */
async function expectError(response: APIResponse, status: number, code: string) {
  expect(response.status(), `${code}: ${await response.text()}`).toBe(status);
  expect(response.headers()['content-type']).toContain('application/json');
  const body = await response.json();
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe('string');
}

/** Asserts a run answer: 200 done within the request, or 202 queued (seed 004); returns the run id. */
async function expectRun(response: APIResponse) {
  expect([200, 202], await response.text()).toContain(response.status());
  const body = await response.json();
  expect(body.status).toBe(response.status() === 200 ? 'completed' : 'accepted');
  expect(body.run_id).toMatch(/^\d+$/);
  return body.run_id as string;
}

/** The users page until nobody matches `email` (a 202 run finishes a moment later). */
async function expectRemoved(page: Page, email: string) {
  await expect(async () => {
    await open(page, `/users?q=${encodeURIComponent(email)}`);
    await expect(page.getByText('No users match.')).toBeVisible({ timeout: 1_000 });
  }).toPass({ timeout: 20_000 });
}

// Seeds 000 and 004: a third party (Jira through a URL-only webhook, Salesforce through an
// APEX POST) asks for a GDPR removal through a listener guarded by a filter on Customers.
test('a GDPR removal request through a listener removes a customer and spares an administrator', async ({ page, request }, testInfo) => {
  test.setTimeout(120_000);
  await signIn(page);
  await expect(page).toHaveURL(/\/$/);
  const tag = unique(testInfo, 'l');
  const jiraCustomer = `${tag}-customer@example.com`;
  const salesforceCustomer = `${tag}-sf-customer@example.com`;
  const admin = `${tag}-admin@example.com`;
  const nobody = `${tag}-nobody@example.com`;
  const listenerName = `GDPR ${tag}`;
  let key = '';
  let listenerId = '';
  let burstListenerId = '';

  await test.step('set up in the browser: API key, removal macro, filter on Customers, listener', async () => {
    await newUser(page, jiraCustomer, 'Customers');
    await newUser(page, salesforceCustomer, 'Customers');
    await newUser(page, admin, 'Administrators');

    // 1. An API key.
    key = await newApiKey(page, `Jira ${tag}`, 'jira');

    // 2. A macro that removes the user completely.
    await open(page, '/macros/new');
    await page.getByLabel('Name', { exact: true }).fill(`Delete ${tag}`);
    await page.getByLabel('Key').fill(`delete-${tag}`);
    await page.getByLabel('Remove user completely').check();
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

    // 4. The listener, and the URL to copy into Jira.
    listenerId = await newListener(page, listenerName, `deleteuser-${tag}`, `Customers ${tag}`, `Delete ${tag}`, `Jira ${tag}`);
    const url = await page.getByLabel(/URL for a webhook/).inputValue();
    expect(url).toContain(`/api/v1/userMacroListeners/deleteuser-${tag}?find=VALUE&apiKey=YOUR_API_KEY`);
  });

  const path = `/api/v1/userMacroListeners/deleteuser-${tag}`;
  const query = (params: Record<string, string>) => `${path}?${new URLSearchParams(params)}`;
  let salesforceRun = '';

  await test.step('Jira: the key in the query string, no body', async () => {
    // An administrator is outside the filter: protected, nothing runs.
    await expectError(await request.post(query({ find: admin, apiKey: key })), 404, 'target_not_in_filter');
    // Someone who has no account here.
    await expectError(await request.post(query({ find: nobody, apiKey: key })), 404, 'target_not_found');
    // A wrong key, and none at all.
    await expectError(await request.post(query({ find: jiraCustomer, apiKey: 'jira_wrong' })), 401, 'invalid_api_key');
    await expectError(await request.post(query({ find: jiraCustomer })), 401, 'missing_api_key');
    // The customer is removed.
    await expectRun(await request.post(query({ find: jiraCustomer, apiKey: key })));
    await expectRemoved(page, jiraCustomer);
    await open(page, `/users?q=${encodeURIComponent(admin)}`);
    await expect(page.getByRole('link', { name: 'Listener Target' })).toBeVisible();
  });

  await test.step('Salesforce: the key in a header, a JSON body, an Idempotency-Key', async () => {
    const data = { event: 'gdpr.erasure_requested', source: 'Salesforce', requestedAt: new Date().toISOString() };
    // X-Api-Key: the administrator is still protected.
    await expectError(
      await request.post(query({ find: admin }), { headers: { 'X-Api-Key': key }, data }),
      404, 'target_not_in_filter',
    );
    // Authorization: Bearer, sent twice with the same Idempotency-Key (a retried APEX callout).
    const idempotencyKey = `sf-${tag}-${Date.now()}`;
    const send = (find: string) => request.post(query({ find }), {
      headers: { Authorization: `Bearer ${key}`, 'Idempotency-Key': idempotencyKey },
      data,
    });
    const first = await send(salesforceCustomer);
    salesforceRun = await expectRun(first);
    const again = await send(salesforceCustomer);
    // The first answer again, not a 404 for a user who is gone: it did not run a second time.
    expect(again.status()).toBe(first.status());
    expect(await again.json()).toEqual(await first.json());
    // The same Idempotency-Key for another person is refused.
    await expectError(await send(admin), 422, 'idempotency_key_reused');
    await expectRemoved(page, salesforceCustomer);
    // Without the Idempotency-Key a repeat finds nobody: the removal happened once.
    await expectError(
      await request.post(query({ find: salesforceCustomer }), { headers: { Authorization: `Bearer ${key}` }, data }),
      404, 'target_not_found',
    );
  });

  await test.step('malformed calls: 400, 405, 413, 415', async () => {
    const headers = { 'X-Api-Key': key };
    await expectError(await request.post(query({ apiKey: key })), 400, 'missing_find');
    await expectError(await request.post(query({ find: 'not-an-email', apiKey: key })), 400, 'invalid_find');
    // A Buffer, because Playwright would JSON-encode a string that is not JSON.
    await expectError(
      await request.post(query({ find: admin }), { headers: { ...headers, 'Content-Type': 'application/json' }, data: Buffer.from('{"email": ') }),
      400, 'invalid_json',
    );
    await expectError(
      await request.post(query({ find: admin }), { headers, data: { note: 'x'.repeat(70 * 1024) } }),
      413, 'payload_too_large',
    );
    await expectError(
      await request.post(query({ find: admin }), { headers: { ...headers, 'Content-Type': 'text/plain' }, data: `please remove ${admin}` }),
      415, 'unsupported_media_type',
    );
    const get = await request.get(query({ find: admin, apiKey: key }));
    await expectError(get, 405, 'method_not_allowed');
    expect(get.headers()['allow']).toBe('POST');
    // Still there after all that.
    await open(page, `/users?q=${encodeURIComponent(admin)}`);
    await expect(page.getByRole('link', { name: 'Listener Target' })).toBeVisible();
  });

  await test.step('the integration specialist finds the contract in the OpenAPI document', async () => {
    const doc = await request.get('/api/v1/openapi.json');
    expect(doc.status()).toBe(200);
    const spec = await doc.json();
    const op = spec.paths['/api/v1/userMacroListeners/{key}'].post;
    expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['200', '202', '400', '401', '403', '404', '413', '415', '429']));
  });

  await test.step('over the rate: 429 with Retry-After (a key used only for this)', async () => {
    const burstKeyName = `Burst ${tag}`;
    const burstKey = await newApiKey(page, burstKeyName, 'burst');
    burstListenerId = await newListener(page, `Burst ${tag}`, `burst-${tag}`, `Customers ${tag}`, `Delete ${tag}`, burstKeyName);
    const burstPath = `/api/v1/userMacroListeners/burst-${tag}?${new URLSearchParams({ find: nobody })}`;
    // 60 at once for somebody unknown (nothing to remove): the burst allowance is 40.
    const answers = await Promise.all(
      Array.from({ length: 60 }, () => request.post(burstPath, { headers: { 'X-Api-Key': burstKey } })),
    );
    const statuses = answers.map((a) => a.status());
    expect(statuses.every((s) => s === 404 || s === 429), statuses.join(',')).toBe(true);
    const limited = answers.filter((a) => a.status() === 429);
    testInfo.annotations.push({ type: 'burst', description: `${limited.length} of 60 calls answered 429` });
    expect(limited.length, statuses.join(',')).toBeGreaterThan(0);
    await expectError(limited[0], 429, 'rate_limited');
    const retryAfter = Number(limited[0].headers()['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    // After Retry-After seconds the key is served again.
    await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000));
    await expectError(await request.post(burstPath, { headers: { 'X-Api-Key': burstKey } }), 404, 'target_not_found');
  });

  await test.step('disable the key in the browser: 403', async () => {
    await open(page, '/api-keys');
    await page.getByRole('row', { name: new RegExp(`Jira ${tag}`) }).getByRole('link', { name: `Jira ${tag}` }).click();
    await ready(page);
    await expectHeading(page, `Jira ${tag}`);
    await page.getByRole('button', { name: 'Disable key' }).click();
    await expect(page.getByRole('status')).toHaveText('The API key is disabled.');
    await expectError(await request.post(query({ find: admin, apiKey: key })), 403, 'api_key_disabled');
    await expectError(await request.post(query({ find: admin }), { headers: { Authorization: `Bearer ${key}` } }), 403, 'api_key_disabled');
  });

  await test.step('the listener log shows every outcome and never a removed customer', async () => {
    // The newest calls, on the listeners page.
    await open(page, '/listeners');
    await expect(page.getByRole('table', { name: 'Listeners' }).getByRole('row', { name: new RegExp(listenerName) })).toContainText('Enabled');
    const recent = page.getByRole('table', { name: 'Listener log' });
    await expect(recent.getByRole('row').nth(1)).toContainText(listenerName);
    await expect(recent.getByRole('row').nth(1)).toContainText('api_key_disabled');
    for (const email of [jiraCustomer, salesforceCustomer, nobody]) await expect(recent).not.toContainText(email);
    await page.screenshot({ path: `/tmp/listeners-${testInfo.project.name}.png`, fullPage: true });

    // The whole log of this listener, from its page.
    await open(page, `/listeners/${listenerId}`);
    await page.getByRole('link', { name: 'Calls', exact: true }).click();
    await ready(page);
    await expectHeading(page, 'Listener log');
    await expect(page).toHaveURL(new RegExp(`/listeners/log\\?listener=${listenerId}$`));
    const log = page.getByRole('table', { name: 'Listener calls' });
    const rows = log.getByRole('row');
    const cell = (text: string) => page.getByRole('cell', { name: text, exact: true });
    const row = (status: number, code: string) => rows.filter({ has: cell(String(status)) }).filter({ has: cell(code) });
    await expect(row(404, 'target_not_in_filter')).toHaveCount(2);
    await expect(row(404, 'target_not_found')).toHaveCount(2);
    await expect(row(401, 'invalid_api_key')).toHaveCount(1);
    await expect(row(401, 'missing_api_key')).toHaveCount(1);
    await expect(row(400, 'missing_find')).toHaveCount(1);
    await expect(row(400, 'invalid_find')).toHaveCount(1);
    await expect(row(400, 'invalid_json')).toHaveCount(1);
    await expect(row(413, 'payload_too_large')).toHaveCount(1);
    await expect(row(415, 'unsupported_media_type')).toHaveCount(1);
    await expect(row(405, 'method_not_allowed')).toHaveCount(1);
    await expect(row(422, 'idempotency_key_reused')).toHaveCount(1);
    // The two calls with the disabled key were refused before the key was accepted: they
    // share one row, which says how many calls it stands for.
    const disabled = rows.filter({ has: cell('403') }).filter({ has: page.getByRole('cell', { name: /^api_key_disabled/ }) });
    await expect(disabled).toHaveCount(1);
    await expect(disabled).toContainText('× 2 calls in this minute');
    // Two removals, each shown under a pseudonym with its run; the repeated Salesforce call
    // is logged as a replay of the first answer, pointing at the same run: no second run.
    const answered = rows.filter({ has: page.getByRole('cell', { name: /^(completed|accepted)$/ }) });
    await expect(answered).toHaveCount(2);
    const runs = answered.filter({ has: page.getByRole('cell', { name: /^#\d+$/ }) });
    await expect(runs).toHaveCount(2);
    await expect(runs.filter({ has: page.getByRole('cell', { name: /^removed user [0-9a-f]+$/ }) })).toHaveCount(2);
    const replayed = rows.filter({ has: cell('replayed') });
    await expect(replayed).toHaveCount(1);
    await expect(replayed.filter({ has: cell(`#${salesforceRun}`) })).toHaveCount(1);
    await expect(rows.filter({ has: cell(`#${salesforceRun}`) })).toHaveCount(2);
    // Nobody's address in clear: the removed customers are gone, the unknown one is masked.
    for (const email of [jiraCustomer, salesforceCustomer, nobody]) await expect(log).not.toContainText(email);
    await expect(log).toContainText(`${nobody[0]}…@example.com`);
    await page.screenshot({ path: `/tmp/listener-log-${testInfo.project.name}.png`, fullPage: true });

    // The burst listener's refusals, found with the log's filters.
    const search = page.getByRole('search', { name: 'Filter the log' });
    await search.getByLabel('Listener').selectOption({ label: `Burst ${tag}` });
    await search.getByLabel('Status').selectOption('429');
    await search.getByRole('button', { name: 'Apply filters' }).click();
    await expect(page).toHaveURL(new RegExp(`/listeners/log\\?listener=${burstListenerId}&status=429`));
    await ready(page);
    await expect(rows.nth(1)).toContainText('rate_limited');
    await expect(rows.filter({ hasText: 'target_not_found' })).toHaveCount(0);
  });

  await test.step('the opt-out dashboard counts the two removals of this listener', async () => {
    await open(page, '/opt-out');
    const byListener = page.getByRole('table', { name: 'Removals by listener' });
    await expect(byListener.getByRole('row', { name: new RegExp(listenerName) }).getByRole('cell').first()).toHaveText('2');
  });
});

// Seed 001: Jira adds a comment about a tester and stores its issue data on them.
test('Add Comment and External Data listeners write to the user page', async ({ page, request }, testInfo) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/$/);
  const tag = unique(testInfo, 'cd');
  const tester = `${tag}-tester@example.com`;
  await newUser(page, tester, 'Testers');
  const userUrl = new URL(page.url()).pathname;
  const key = await newApiKey(page, `Jira data ${tag}`, 'jd');

  await open(page, '/external-data');
  await page.getByLabel('Name', { exact: true }).fill(`Jira ${tag}`);
  await page.getByRole('button', { name: 'Create group' }).click();
  await expect(page.getByRole('status')).toHaveText('The data group was created: add its fields.');
  await ready(page);
  await page.getByLabel('Label of data field 1').fill('Issue key');
  await page.getByLabel('Parameter of data field 1').fill('issueKey');
  await page.getByLabel('Data field 1 is a favourite').check();
  await page.getByLabel('Label of data field 2').fill('Open bugs');
  await page.getByLabel('Parameter of data field 2').fill('openBugs');
  await page.getByLabel('Type of data field 2').selectOption('integer');
  await page.getByRole('button', { name: 'Save group' }).click();
  await expect(page.getByRole('status')).toHaveText('The data group was saved.');

  const listener = async (name: string, kind: ListenerType, fill: () => Promise<void>) => {
    await startListener(page, kind);
    await expectHeading(page, 'New user listener');
    await page.getByLabel('Name', { exact: true }).fill(name);
    await page.getByLabel('Key', { exact: true }).fill(name.toLowerCase().replace(/[^a-z0-9-]+/g, '-'));
    await page.getByLabel('API key', { exact: true }).selectOption({ label: `Jira data ${tag}` });
    await fill();
    await page.getByRole('button', { name: 'Save listener' }).click();
    await expect(page.getByRole('status')).toHaveText('The listener was saved.');
    await ready(page);
    return (await page.getByLabel(/URL for a webhook/).inputValue()).split('?')[0];
  };
  const dataUrl = await listener(`Data ${tag}`, 'External Data', async () => {
    await page.getByLabel('Data group').selectOption({ label: `Jira ${tag}` });
  });
  expect(dataUrl).toContain('/api/v1/userDataListeners/');
  const commentUrl = await listener(`Notes ${tag}`, 'Add Comment', async () => {
    await page.getByLabel('Author field').fill('author_name');
    await page.getByLabel('Comment field').fill('comment');
    // Seed 001: user comments are community- or project-level; the body may name the project.
    await expect(page.getByLabel('Project', { exact: true })).toHaveValue('');
    await page.getByLabel('Project', { exact: true }).selectOption({ label: 'Aurora Beta' });
    await page.getByLabel('Project parameter').fill('project');
  });
  expect(commentUrl).toContain('/api/v1/userCommentListeners/');

  const call = (url: string, data: unknown) =>
    request.post(`${new URL(url).pathname}?${new URLSearchParams({ find: tester, apiKey: key })}`, { data });
  let res = await call(dataUrl, { openBugs: 'several' });
  expect(res.status()).toBe(400);
  expect((await res.json()).error.code).toBe('invalid_field');
  res = await call(dataUrl, { issueKey: 'BETA-42', openBugs: '3', ignored: true });
  expect(res.status(), await res.text()).toBe(200);
  expect(await res.json()).toEqual({ status: 'completed', stored: ['issueKey', 'openBugs'] });
  res = await call(commentUrl, { author_name: 'nobody@example.com', comment: 'Hi' });
  expect((await res.json()).error.code).toBe('invalid_author');
  res = await call(commentUrl, { author_name: 'admin@example.com', comment: 'BETA-42 fixed in build 413' });
  expect(res.status(), await res.text()).toBe(200);
  expect((await res.json()).project_id).toMatch(/^\d+$/);
  // A project the body names that does not exist: 400 naming the key, nothing written.
  res = await call(commentUrl, { author_name: 'admin@example.com', comment: 'Lost note', project: 'no-such-project' });
  expect(res.status()).toBe(400);
  const refused = await res.json();
  expect(refused.error.code).toBe('invalid_field');
  expect(refused.error.message).toContain('"project"');

  await open(page, userUrl);
  const data = page.getByRole('region', { name: 'External data' });
  // Seed 003: the favourite is the summary; the rest is one click away (without JavaScript too).
  await expect(data.getByText(`Jira ${tag} · Issue key`).first()).toBeVisible();
  await expect(data.getByText('BETA-42').first()).toBeVisible();
  const openBugs = data.getByText(`Jira ${tag} · Open bugs`);
  await expect(openBugs).toBeHidden();
  await data.getByText('All external data (2)').click();
  await expect(openBugs).toBeVisible();
  await expect(data).toContainText('3');
  await expect(page.getByText('BETA-42 fixed in build 413')).toBeVisible();
  await expect(page.getByText(/· project Aurora Beta$/)).toBeVisible();
  await expect(page.getByText('Lost note')).toHaveCount(0);
  await page.screenshot({ path: testInfo.outputPath('user-external-data.png'), fullPage: true });
});

// Seed 001: the type first, then only that type's fields; the URL to copy before saving; an
// External Data listener whose group is created in the same form.
test('the listener editor asks the type first, shows the URL to copy and creates a data group in place', async ({ page, context, request }, testInfo) => {
  test.setTimeout(90_000);
  const js = testInfo.project.use.javaScriptEnabled !== false;
  if (js) await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  const clipboard = () => page.evaluate(() => navigator.clipboard.readText());
  await signIn(page);
  await expect(page).toHaveURL(/\/$/);
  const tag = unique(testInfo, 'ed');
  const group = `Jira ${tag}`;
  const apiKey = await newApiKey(page, `Editor ${tag}`, 'ed');

  await test.step('the new key: a Copy button, or (no JavaScript) select and copy', async () => {
    if (js) {
      await page.getByRole('button', { name: 'Copy New API key' }).click();
      await expect(page.getByText('Copied', { exact: true })).toBeVisible();
      await expect.poll(clipboard).toBe(apiKey);
    } else {
      await expect(page.getByRole('button', { name: /^Copy/ })).toHaveCount(0);
      await expect(page.getByText('Select the text and copy it (Ctrl+C, or ⌘C on a Mac).')).toBeVisible();
    }
  });

  await test.step('the type step, then only that type\'s fields', async () => {
    await open(page, '/listeners/new');
    await expectHeading(page, 'New user listener');
    await expect(page.getByRole('link', { name: /^(Macro Execution|Add Comment|External Data) / })).toHaveCount(3);
    await expect(page.getByRole('button', { name: 'Save listener' })).toHaveCount(0);
    await shoot(page, 'type-step');
    await page.getByRole('link', { name: /^External Data/ }).click();
    await expect(page).toHaveURL(/\/listeners\/new\?scope=user&kind=data$/);
    await ready(page);
    await expect(page.getByLabel('Data group', { exact: true })).toBeVisible();
    await expect(page.getByLabel('Macro to run')).toBeHidden();
    await expect(page.getByLabel('Author field')).toBeHidden();
    await expect(page.getByLabel('Listener type')).toHaveValue('data');
    if (js) {
      await expect(page.getByLabel('Listener type')).toBeEnabled();
    } else {
      // Without JavaScript the select cannot swap the fields: links change the type.
      await expect(page.getByLabel('Listener type')).toBeDisabled();
      await expect(page.getByRole('link', { name: 'Add Comment', exact: true })).toHaveAttribute('href', '/listeners/new?scope=user&kind=comment');
    }
  });

  const endpoint = page.getByLabel('Endpoint URL');
  await test.step('the URL as the key is typed (hydrated), or once saved (no JavaScript)', async () => {
    await page.getByLabel('Name', { exact: true }).fill(`Sync ${tag}`);
    if (js) {
      await expect(page.getByText('The URL shows here as you type the key.')).toBeVisible();
      await page.getByLabel('Key', { exact: true }).fill(`Sync-${tag}`);
      await expect(endpoint).toHaveValue(new RegExp(`^http://[^/]+/api/v1/userDataListeners/sync-${tag}$`));
      await expect(page.getByText('Copy the URL into the other system, then save the listener')).toBeVisible();
      await page.getByRole('button', { name: 'Copy Endpoint URL' }).click();
      await expect(page.getByText('Copied', { exact: true })).toBeVisible();
      await expect.poll(clipboard).toBe(await endpoint.inputValue());
      // A key the URL cannot have.
      await page.getByLabel('Key', { exact: true }).fill('two words');
      await expect(endpoint).toHaveCount(0);
      await expect(page.getByText('No URL yet: the key must be 1 to 60 letters, digits, - or _.')).toBeVisible();
      // Another type swaps the fields and the URL in place; what was typed stays.
      await page.getByLabel('Key', { exact: true }).fill(`Sync-${tag}`);
      await page.getByLabel('Listener type').selectOption({ label: 'Add Comment' });
      await expect(page.getByLabel('Author field')).toBeVisible();
      await expect(page.getByLabel('Data group', { exact: true })).toBeHidden();
      await expect(endpoint).toHaveValue(new RegExp(`/api/v1/userCommentListeners/sync-${tag}$`));
      await page.getByLabel('Listener type').selectOption({ label: 'External Data' });
      await expect(page.getByLabel('Author field')).toBeHidden();
      await expect(endpoint).toHaveValue(new RegExp(`/api/v1/userDataListeners/sync-${tag}$`));
      await expect(page.getByLabel('Name', { exact: true })).toHaveValue(`Sync ${tag}`);
    } else {
      await page.getByLabel('Key', { exact: true }).fill(`Sync-${tag}`);
      await expect(endpoint).toHaveCount(0);
      await expect(page.getByText('Without JavaScript, the URL shows once you save: the listener\'s page has it, ready to copy.')).toBeVisible();
    }
  });

  const fillGroup = async (parameter: string) => {
    await page.getByLabel('Name', { exact: true }).fill(`Sync ${tag}`);
    await page.getByLabel('Key', { exact: true }).fill(`Sync-${tag}`);
    await page.getByLabel('API key', { exact: true }).selectOption({ label: `Editor ${tag}` });
    await page.getByLabel('Data group', { exact: true }).selectOption({ label: 'Create a new group' });
    await page.getByLabel('New group').fill(group);
    await page.getByLabel('Label of data field 1').fill('Issue key');
    await page.getByLabel('Parameter of data field 1').fill(parameter);
    await page.getByLabel('Data field 1 is a favourite').check();
    await page.getByLabel('Label of data field 2').fill('Open bugs');
    await page.getByLabel('Parameter of data field 2').fill('openBugs');
    await page.getByLabel('Type of data field 2').selectOption('integer');
  };

  await test.step('a bad field: the error names it, and nothing is created', async () => {
    if (js) {
      // Hidden until asked for.
      await page.getByLabel('Data group', { exact: true }).selectOption({ label: '— choose —' });
      await expect(page.getByLabel('New group')).toBeHidden();
    }
    await fillGroup('issue key');
    await expect(page.getByLabel('New group')).toBeVisible();
    await shoot(page, 'editor-new-group');
    await page.getByRole('button', { name: 'Save listener' }).click();
    await ready(page);
    await expect(page.getByText('The parameter must be a key or a path into the body such as issue.fields.labels[0]: up to 100 characters without spaces.')).toBeVisible();
    await expect(page).toHaveURL(/\/listeners\/new\?scope=user&kind=data/);
    await open(page, '/external-data');
    await expect(page.getByRole('link', { name: group, exact: true })).toHaveCount(0);
    await open(page, '/listeners');
    await expect(page.getByRole('link', { name: `Sync ${tag}`, exact: true })).toHaveCount(0);
  });

  let listenerUrl = '';
  await test.step('saved: the group and the listener, which stores into it', async () => {
    await open(page, '/listeners/new?scope=user&kind=data');
    await fillGroup('issueKey');
    await page.getByRole('button', { name: 'Save listener' }).click();
    await expect(page.getByRole('status')).toHaveText('The listener was saved.');
    await ready(page);
    await expectHeading(page, `Sync ${tag}`);
    const url = page.getByLabel(/URL for a webhook/);
    listenerUrl = (await url.inputValue()).split('?')[0];
    expect(listenerUrl).toMatch(new RegExp(`/api/v1/userDataListeners/sync-${tag}$`));
    await expect(endpoint).toHaveValue(listenerUrl);
    // Its own type's fields, with the new group chosen.
    await expect(page.getByLabel('Data group', { exact: true }).locator('option:checked')).toHaveText(group);
    await expect(page.getByLabel('Macro to run')).toBeHidden();
    await expect(page.getByLabel('Author field')).toBeHidden();
    if (js) {
      await expect(page.getByLabel('New group')).toBeHidden();
      await page.getByRole('button', { name: /^Copy URL for a webhook/ }).click();
      await expect(page.getByText('Copied', { exact: true })).toBeVisible();
      await expect.poll(clipboard).toBe(await url.inputValue());
      await page.getByRole('button', { name: 'Copy Example request' }).click();
      await expect.poll(clipboard).toContain(`curl -X POST '${listenerUrl}?find=`);
    } else {
      await expect(page.getByRole('button', { name: /^Copy/ })).toHaveCount(0);
      await expect(page.getByText('Select the text and copy it (Ctrl+C, or ⌘C on a Mac).').first()).toBeVisible();
      await expect(page.getByText('Without JavaScript, a new key or type shows in this URL once you save.')).toBeVisible();
    }
    await shoot(page, 'listener-page');

    const res = await request.post(`${new URL(listenerUrl).pathname}?${new URLSearchParams({ find: admin.email, apiKey })}`, {
      data: { issueKey: 'BETA-9', openBugs: 2 },
    });
    expect(res.status(), await res.text()).toBe(200);
    expect(await res.json()).toEqual({ status: 'completed', stored: ['issueKey', 'openBugs'] });
    await open(page, '/external-data');
    await expect(page.getByRole('row', { name: new RegExp(group) })).toContainText('Issue key (String), Open bugs (Integer)');
  });
});

// Issue 20: Jira Cloud cannot add an API key to its webhook, but signs it (X-Hub-Signature) and
// sends the issue as it is: the listener finds the tester at a path in the body, stores fields
// read through paths, and takes the signed call without a key.
test('a Jira-style listener takes signed calls without an API key and reads paths in the body', async ({ page, request }, testInfo) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/$/);
  const tag = unique(testInfo, 'sig');
  const tester = `${tag}-reporter@example.com`;
  await newUser(page, tester, 'Testers');
  const userUrl = new URL(page.url()).pathname;
  await newApiKey(page, `Jira signed ${tag}`, 'js');

  await open(page, '/external-data');
  await page.getByLabel('Name', { exact: true }).fill(`Jira issue ${tag}`);
  await page.getByRole('button', { name: 'Create group' }).click();
  await expect(page.getByRole('status')).toHaveText('The data group was created: add its fields.');
  await ready(page);
  await page.getByLabel('Label of data field 1').fill('Issue key');
  await page.getByLabel('Parameter of data field 1').fill('issue.key');
  await page.getByLabel('Data field 1 is a favourite').check();
  await page.getByLabel('Label of data field 2').fill('First label');
  await page.getByLabel('Parameter of data field 2').fill('issue.fields.labels[0]');
  await page.getByRole('button', { name: 'Save group' }).click();
  await expect(page.getByRole('status')).toHaveText('The data group was saved.');

  await startListener(page, 'External Data');
  await page.getByLabel('Name', { exact: true }).fill(`Jira signed ${tag}`);
  await page.getByLabel('Key', { exact: true }).fill(`jira-signed-${tag}`);
  await page.getByLabel('API key', { exact: true }).selectOption({ label: `Jira signed ${tag}` });
  await page.getByLabel('Target in the body').fill('issue.fields.reporter.emailAddress');
  await page.getByLabel('Data group').selectOption({ label: `Jira issue ${tag}` });
  await page.getByRole('button', { name: 'Save listener' }).click();
  await expect(page.getByRole('status')).toHaveText('The listener was saved.');
  await ready(page);
  const url = new URL((await page.getByLabel(/URL for a webhook/).inputValue()).split('?')[0]).pathname;

  const signed = page.getByRole('region', { name: 'Signed calls' });
  await expect(signed.getByTestId('signing-status')).toHaveText('Off: every call needs the API key.');
  await signed.getByLabel('Signature').selectOption({ label: 'Atlassian / Jira Cloud (X-Hub-Signature)' });
  const secret = `jira e2e secret ${tag}`;
  await signed.getByLabel('Shared secret').fill(secret);
  await signed.getByRole('button', { name: 'Save signing' }).click();
  await expect(page.getByRole('status')).toHaveText('How the listener\'s calls are signed was saved.');
  await ready(page);
  await expect(page.getByTestId('signing-status')).toContainText('On: Atlassian / Jira Cloud (X-Hub-Signature).');
  // The secret is never shown again.
  await expect(page.getByLabel('Shared secret')).toHaveValue('');
  expect(await page.content()).not.toContain(secret);
  await shoot(page, 'signed-calls');

  const body = JSON.stringify({
    webhookEvent: 'jira:issue_updated',
    issue: { key: 'BETA-7', fields: { labels: ['gdpr'], reporter: { emailAddress: tester } } },
  });
  const signature = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
  const post = (headers: Record<string, string>, data: string) =>
    request.post(url, { headers: { 'Content-Type': 'application/json', ...headers }, data });
  let res = await post({}, body);
  expect(res.status()).toBe(401);
  expect((await res.json()).error.code).toBe('invalid_signature');
  res = await post({ 'X-Hub-Signature': signature }, body.replace('BETA-7', 'BETA-8'));
  expect(res.status()).toBe(401);
  res = await post({ 'X-Hub-Signature': signature }, body);
  expect(res.status(), await res.text()).toBe(200);
  expect(await res.json()).toEqual({ status: 'completed', stored: ['issue.key', 'issue.fields.labels[0]'] });

  await open(page, userUrl);
  const data = page.getByRole('region', { name: 'External data' });
  await expect(data.getByText('BETA-7').first()).toBeVisible();
  await expect(data.getByText('BETA-8')).toHaveCount(0);
});

// Issue 20: wiring Jira without reading its docs. The listener listens for a test call, Jira's
// webhook (no API key: it cannot add one) is kept and runs nothing, and clicking its values
// fills the listener's settings with their paths; the next real call then works.
test('listen for a test call, then click its values to wire the listener', async ({ page, request }, testInfo) => {
  const js = testInfo.project.use.javaScriptEnabled !== false;
  await signIn(page);
  await expect(page).toHaveURL(/\/$/);
  const tag = unique(testInfo, 'tc');
  const tester = `${tag}-reporter@example.com`;
  await newUser(page, tester, 'Testers');
  const userUrl = new URL(page.url()).pathname;
  const key = await newApiKey(page, `Jira wire ${tag}`, 'jw');

  await startListener(page, 'Add Comment');
  await page.getByLabel('Name', { exact: true }).fill(`Jira wire ${tag}`);
  await page.getByLabel('Key', { exact: true }).fill(`jira-wire-${tag}`);
  await page.getByLabel('API key', { exact: true }).selectOption({ label: `Jira wire ${tag}` });
  await page.getByLabel('Author field').fill('author');
  await page.getByLabel('Comment field').fill('comment');
  await page.getByRole('button', { name: 'Save listener' }).click();
  await expect(page.getByRole('status')).toHaveText('The listener was saved.');
  await ready(page);
  const url = new URL((await page.getByLabel(/URL for a webhook/).inputValue()).split('?')[0]).pathname;

  const panel = page.getByRole('region', { name: 'Listen for a test call' });
  await expect(panel.getByText('No test call yet.')).toBeVisible();
  await panel.getByRole('button', { name: 'Listen for a test call' }).click();
  await expect(panel.getByRole('status')).toContainText('Listening until');
  await ready(page);

  const comment = `Fixed in build 2.1 <b>${tag}</b>`;
  const jira = {
    webhookEvent: 'jira:issue_updated',
    user: { emailAddress: admin.email },
    issue: { key: 'BETA-9', fields: { summary: 'Crash on save', labels: ['beta'], reporter: { emailAddress: tester } } },
    comment: { body: comment, author: { emailAddress: admin.email } },
  };
  let res = await request.post(url, { headers: { 'X-Webhook-Token': 'jira-token-e2e' }, data: jira });
  expect(res.status(), await res.text()).toBe(200);
  expect((await res.json()).status).toBe('test_call');

  // Hydrated, the panel shows the call by itself; without JavaScript, Check again reloads.
  if (!js) {
    await panel.getByRole('link', { name: 'Check again' }).click();
  }
  await expect(panel.getByRole('heading', { name: /^Test call received/ })).toBeVisible({ timeout: 15_000 });
  await ready(page);
  await panel.getByText(/^Headers \(/).click();
  await expect(panel.getByRole('cell', { name: 'x-webhook-token' })).toBeVisible();
  await expect(panel).not.toContainText('jira-token-e2e');
  // The body's text is shown as text, never as markup.
  await expect(panel.getByRole('button', { name: /^Use comment\.body / })).toHaveText(JSON.stringify(comment));
  await shoot(page, 'test-call');

  const map = async (setting: string, path: string) => {
    await panel.getByLabel('Fill this setting').selectOption(setting);
    await panel.getByRole('button', { name: new RegExp(`^Use ${path.replace(/[.[\]]/g, '\\$&')} `) }).click();
    await expect(page.getByRole('status').first()).toHaveText("The setting was filled with the value's path and saved.");
    await ready(page);
  };
  await map('find_path', 'issue.fields.reporter.emailAddress');
  await map('author_field', 'comment.author.emailAddress');
  await map('comment_field', 'comment.body');
  await expect(page.getByLabel('Target in the body')).toHaveValue('issue.fields.reporter.emailAddress');
  await expect(page.getByLabel('Author field')).toHaveValue('comment.author.emailAddress');
  await expect(page.getByLabel('Comment field')).toHaveValue('comment.body');
  await expect(panel.getByLabel('Fill this setting')).toContainText('now comment.body');

  // Wired: the same webhook with the key comments on the reporter (nothing ran before).
  res = await request.post(`${url}?apiKey=${key}`, { data: jira });
  expect(res.status(), await res.text()).toBe(200);
  await open(page, userUrl);
  await expect(page.getByText(comment)).toHaveCount(1);

  // The listener log keeps what the call brought, the key masked.
  await open(page, '/listeners/log');
  await page.getByRole('row').filter({ hasText: `Jira wire ${tag}` }).filter({ hasText: 'completed' }).getByRole('link').first().click();
  await expect(page.getByRole('heading', { name: new RegExp(`^Call to Jira wire ${tag}`) })).toBeVisible();
  await expect(page.getByRole('list', { name: 'Body' })).toContainText('issue.fields.reporter.emailAddress'.split('.').pop()!);
  await expect(page.locator('main')).not.toContainText(key);
  await shoot(page, 'listener-call');
});
