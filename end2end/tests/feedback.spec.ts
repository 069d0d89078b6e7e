import { createHmac } from 'crypto';
import { test, expect } from './fixtures';
import { admin, expectHeading, open, ready, shoot, signIn, unique } from './helpers';

test('a project with a Bug Report type, a ticket, its workflow and comments', async ({ page }, testInfo) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/$/);
  const tag = unique(testInfo, 'fb');

  // A project and its feedback type: workflow, team and a form with two custom fields.
  await open(page, '/projects');
  await page.getByLabel('Name', { exact: true }).fill(`Project ${tag}`);
  await page.getByLabel('Key').fill(`p-${tag}`);
  await page.getByRole('button', { name: 'Create project' }).click();
  await expect(page.getByRole('status')).toHaveText('The project was saved.');
  await expectHeading(page, `Project ${tag}`);
  await ready(page);
  await page.getByLabel('Type name').fill('Bug Report');
  await page.getByRole('button', { name: 'Add feedback type' }).click();
  await expect(page.getByRole('status')).toContainText('The feedback type was created');
  await expectHeading(page, 'Feedback type Bug Report');
  await ready(page);
  await expect(page.getByLabel('Workflow')).toHaveValue('New\nOpen\nIn Progress\nClosed');
  await page.getByLabel('Workflow').fill('New\nTriaged\nClosed');
  await page.getByLabel('Testers').check();
  await page.getByLabel('Label of field 1').fill('Severity');
  await page.getByLabel('Kind of field 1').selectOption('choice');
  await page.getByLabel('Field 1 is required').check();
  await page.getByLabel('Choices of field 1').fill('Low\nHigh');
  await page.getByLabel('Label of field 2').fill('Build');
  await page.getByLabel('Kind of field 2').selectOption('number');
  await page.getByRole('button', { name: 'Save feedback type' }).click();
  await expect(page.getByRole('status')).toHaveText('The feedback type was saved.');
  await expect(page.getByLabel('Key of field 1')).toHaveValue('severity');
  await page.screenshot({ path: testInfo.outputPath('feedback-type.png'), fullPage: true });
  await page.getByRole('link', { name: `Project ${tag}` }).click();
  await expect(page.getByRole('row', { name: /^Bug Report / })).toContainText('New → Triaged → Closed');

  // A ticket: a bad number is refused with the field named, then it goes in.
  await ready(page);
  await page.getByRole('link', { name: 'New Bug Report' }).click();
  await expectHeading(page, 'New Bug Report');
  const fill = async (build: string) => {
    await ready(page);
    await page.getByLabel('Title').fill(`Crash on save ${tag}`);
    await page.getByLabel('Description').fill('Tap Save twice.');
    await page.getByLabel('Submitted by (email)').fill(admin.email);
    await page.getByLabel('Team').selectOption({ label: 'Testers' });
    await page.getByLabel('Severity (required)').selectOption('High');
    await page.getByLabel('Build').fill(build);
    await page.getByRole('button', { name: 'Submit ticket' }).click();
  };
  await fill('four hundred');
  await expect(page.getByText('Build must be a number, not “four hundred”.')).toBeVisible();
  await fill('412');
  await expect(page.getByRole('status')).toHaveText('The ticket was submitted.');
  await expectHeading(page, new RegExp(`^#\\d+ Crash on save ${tag}$`));
  const details = page.getByRole('region', { name: 'Details' });
  await expect(details).toContainText('High');
  await expect(details).toContainText('412');
  await expect(details).toContainText('Testers');

  // The workflow and a comment, each in the history.
  await ready(page);
  await page.getByLabel('Status', { exact: true }).selectOption({ label: 'Triaged' });
  await page.getByRole('button', { name: 'Set status' }).click();
  await expect(page.getByRole('status')).toHaveText('The ticket was changed.');
  await expect(page.getByText('Status: New → Triaged')).toBeVisible();
  await ready(page);
  await page.getByLabel('Add a comment').fill('Reproduced on 412.');
  await page.getByRole('button', { name: 'Add comment' }).click();
  await expect(page.getByRole('status')).toHaveText('The comment was added; followers are notified.');
  await expect(page.getByRole('heading', { name: 'Comments (1)' })).toBeVisible();
  await expect(page.getByText('Reproduced on 412.')).toBeVisible();
  await expect(page.getByLabel('Add a comment')).toHaveValue('');
  await expect(page.getByRole('button', { name: 'Stop following' })).toBeVisible();
  await page.screenshot({ path: testInfo.outputPath('ticket.png'), fullPage: true });

  // The project's list finds it by words of the title and by status.
  await page.getByRole('link', { name: `Project ${tag}` }).click();
  await expectHeading(page, `Project ${tag} feedback`);
  await ready(page);
  await page.getByLabel('Title contains').fill('crash on SAVE');
  await page.getByLabel('Status').selectOption({ label: 'Bug Report: Triaged' });
  await page.getByRole('button', { name: 'Show' }).click();
  await expect(page.getByRole('row', { name: new RegExp(`Crash on save ${tag}`) })).toContainText('Triaged');
  await ready(page);
  await page.getByLabel('Status').selectOption({ label: 'Bug Report: Closed' });
  await page.getByRole('button', { name: 'Show' }).click();
  await expect(page.getByText('No tickets match.')).toBeVisible();
  await page.screenshot({ path: testInfo.outputPath('feedback-list.png'), fullPage: true });
});

// Seed 004: Salesforce creates feedback through an external source.
test('an external source turns a Salesforce POST into a ticket', async ({ page, request }, testInfo) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/$/);
  const tag = unique(testInfo, 'src');

  await open(page, '/api-keys/new');
  await page.getByLabel('Name', { exact: true }).fill(`Salesforce ${tag}`);
  await page.getByLabel('Prefix').fill('sf');
  await page.getByRole('button', { name: 'Create API key' }).click();
  const key = await page.getByLabel('New API key').inputValue();

  await open(page, '/projects');
  await page.getByRole('link', { name: 'Aurora Beta' }).click();
  await ready(page);
  await page.getByRole('link', { name: 'New external source' }).click();
  await expectHeading(page, 'New external source');
  const fill = async (mapping: string) => {
    await ready(page);
    await page.getByLabel('Name', { exact: true }).fill(`Salesforce ${tag}`);
    await page.getByLabel('Key', { exact: true }).fill(`sf-${tag}`);
    await page.getByLabel('Feedback type').selectOption({ label: 'Bug Report' });
    await page.getByLabel('API key').selectOption({ label: `Salesforce ${tag}` });
    await page.getByLabel('Team').selectOption({ label: 'Bug Report: Testers' });
    await page.getByLabel('Default submitter (email)').fill(admin.email);
    await page.getByLabel('Submitter from the body (parameter)').fill('ContactEmail');
    await page.getByLabel('Mapping').fill(mapping);
    await page.getByRole('button', { name: 'Save external source' }).click();
  };
  await fill('Priority__c = severity');
  await expect(page.getByText('Map a parameter to title')).toBeVisible();
  await fill('Subject = title\nDetails = description\nPriority__c = severity');
  await expect(page.getByRole('status')).toHaveText('The external source was saved.');
  const endpoint = await page.getByLabel('URL', { exact: true }).inputValue();
  expect(endpoint).toContain(`/api/v1/externalSources/sf-${tag}`);

  const post = (data: unknown) => request.post(new URL(endpoint).pathname, { headers: { 'X-Api-Key': key }, data });
  let res = await post({ Subject: 'Thermostat reboots', Priority__c: 'Blocker' });
  expect(res.status()).toBe(400);
  expect((await res.json()).error.message).toContain('Priority__c');
  res = await post({ Subject: 'Thermostat reboots at night', Details: 'Every night at 3 am.', Priority__c: 'Critical' });
  expect(res.status(), await res.text()).toBe(201);
  const { ticket_id } = await res.json();

  await open(page, `/feedback/${ticket_id}`);
  await expectHeading(page, `#${ticket_id} Thermostat reboots at night`);
  const details = page.getByRole('region', { name: 'Details' });
  await expect(details).toContainText('Critical');
  await expect(details).toContainText('Testers');
  await expect(details).toContainText('Every night at 3 am.');
  await expect(page.getByText(`Submitted as Bug Report in status New`)).toBeVisible();
  await open(page, '/listeners/log');
  await expect(page.getByRole('row', { name: new RegExp(`source Salesforce ${tag}`) }).first()).toContainText('201');
});

// Seeds 001/003: feedback management shows external data fields as columns of the feedback
// list and exports the list with them as CSV.
test('the feedback list shows external data fields as columns and exports them', async ({ page }, testInfo) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/$/);
  const tag = unique(testInfo, 'fcols');
  await open(page, '/external-data');
  await page.getByLabel('Name', { exact: true }).fill(`Tracker ${tag}`);
  await page.getByLabel('Stored against').selectOption({ label: 'Feedback tickets' });
  await page.getByRole('button', { name: 'Create group' }).click();
  await expect(page.getByRole('status')).toHaveText('The data group was created: add its fields.');
  await ready(page);
  await page.getByLabel('Label of data field 1').fill('Issue');
  await page.getByLabel('Parameter of data field 1').fill('issue');
  await page.getByRole('button', { name: 'Save group' }).click();
  await expect(page.getByRole('status')).toHaveText('The data group was saved.');

  await open(page, '/projects');
  await page.getByRole('link', { name: 'Aurora Beta' }).click();
  await ready(page);
  await page.getByRole('link', { name: 'Feedback', exact: true }).click();
  await ready(page);
  const issue = page.getByRole('table', { name: 'Tickets' }).getByRole('columnheader', { name: `Tracker ${tag} · Issue` });
  await expect(issue).toHaveCount(0);
  await page.getByText(/^Columns: external data/).click();
  await page.getByLabel(`Tracker ${tag} · Issue`).check();
  await page.getByRole('button', { name: 'Show columns' }).click();
  await expect(page).toHaveURL(/columns=chosen&col=\d+/);
  await ready(page);
  await expect(issue).toBeVisible();
  const href = await page.getByRole('link', { name: 'Export CSV' }).getAttribute('href');
  expect(href).toMatch(/^\/feedback\.csv\?project_id=\d+.*&col=\d+/);
  const res = await page.request.get(href!);
  expect(res.status()).toBe(200);
  const header = (await res.text()).split('\n')[0];
  // The list's columns, then the chosen fields (favourites of other groups stay ticked).
  expect(header).toMatch(/^id,title,type,status,team,submitter,popularity,updated,/);
  expect(header.split(',')).toContain(`Tracker ${tag} · Issue`);
});

// Issue 20: an external source wired by listening for a test call, then signed like Stripe
// signs its events (no API key in the URL).
test('a source listens for a test call, maps its values and takes Stripe-signed calls', async ({ page, request }, testInfo) => {
  const js = testInfo.project.use.javaScriptEnabled !== false;
  await signIn(page);
  await expect(page).toHaveURL(/\/$/);
  const tag = unique(testInfo, 'stripe');
  await open(page, '/api-keys/new');
  await page.getByLabel('Name', { exact: true }).fill(`Stripe ${tag}`);
  await page.getByLabel('Prefix').fill('st');
  await page.getByRole('button', { name: 'Create API key' }).click();
  await expect(page.getByLabel('New API key')).not.toHaveValue('');

  await open(page, '/projects');
  await page.getByRole('link', { name: 'Aurora Beta' }).click();
  await ready(page);
  await page.getByRole('link', { name: 'New external source' }).click();
  await expectHeading(page, 'New external source');
  await ready(page);
  await page.getByLabel('Name', { exact: true }).fill(`Stripe ${tag}`);
  await page.getByLabel('Key', { exact: true }).fill(`stripe-${tag}`);
  await page.getByLabel('Feedback type').selectOption({ label: 'Bug Report' });
  await page.getByLabel('API key').selectOption({ label: `Stripe ${tag}` });
  await page.getByLabel('Default submitter (email)').fill(admin.email);
  await page.getByLabel('Mapping').fill('subject = title');
  await page.getByRole('button', { name: 'Save external source' }).click();
  await expect(page.getByRole('status')).toHaveText('The external source was saved.');
  await ready(page);
  const endpoint = new URL(await page.getByLabel('URL', { exact: true }).inputValue()).pathname;

  const panel = page.getByRole('region', { name: 'Listen for a test call' });
  await panel.getByRole('button', { name: 'Listen for a test call' }).click();
  await expect(panel.getByRole('status')).toContainText('Listening until');
  await ready(page);
  const event = (id: string) => JSON.stringify({
    id: `evt_${id}`,
    type: 'checkout.session.completed',
    data: { object: { id: `cs_${id}_${tag}`, customer_email: admin.email, metadata: { severity: 'Critical' } } },
  });
  let res = await request.post(endpoint, { headers: { 'Content-Type': 'application/json' }, data: event('test') });
  expect(res.status(), await res.text()).toBe(200);
  expect((await res.json()).status).toBe('test_call');
  if (!js) {
    await panel.getByRole('link', { name: 'Check again' }).click();
  }
  await expect(panel.getByRole('heading', { name: /^Test call received/ })).toBeVisible({ timeout: 15_000 });
  await ready(page);
  const map = async (setting: string, path: string) => {
    await panel.getByLabel('Fill this setting').selectOption(setting);
    await panel.getByRole('button', { name: new RegExp(`^Use ${path.replace(/[.[\]]/g, '\\$&')} `) }).click();
    await expect(page.getByRole('status').first()).toHaveText("The setting was filled with the value's path and saved.");
    await ready(page);
  };
  await map('field:title', 'data.object.id');
  await map('field:severity', 'data.object.metadata.severity');
  await map('submitter_param', 'data.object.customer_email');
  await expect(page.getByLabel('Mapping')).toHaveValue(/data\.object\.id = title/);
  await expect(page.getByLabel('Mapping')).toHaveValue(/data\.object\.metadata\.severity = severity/);
  await expect(page.getByLabel('Submitter from the body (parameter)')).toHaveValue('data.object.customer_email');
  await shoot(page, 'source-test-call');

  const signed = page.getByRole('region', { name: 'Signed calls' });
  await signed.getByLabel('Signature').selectOption({ label: 'Stripe (Stripe-Signature)' });
  const secret = `whsec_e2e_${tag}`;
  await signed.getByLabel('Shared secret').fill(secret);
  await signed.getByRole('button', { name: 'Save signing' }).click();
  await expect(page.getByRole('status')).toHaveText("How the source's calls are signed was saved.");
  await ready(page);
  await expect(page.getByTestId('signing-status')).toContainText("On: Stripe (Stripe-Signature). Every call needs a valid signature, and counts as a call with the source's API key");
  expect(await page.content()).not.toContain(secret);

  const body = event('live');
  const t = Math.floor(Date.now() / 1000);
  const signature = `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
  res = await request.post(endpoint, { headers: { 'Content-Type': 'application/json' }, data: body });
  expect(res.status()).toBe(401);
  expect((await res.json()).error.code).toBe('invalid_signature');
  res = await request.post(endpoint, { headers: { 'Content-Type': 'application/json', 'Stripe-Signature': signature }, data: body });
  expect(res.status(), await res.text()).toBe(201);
  const { ticket_id } = await res.json();
  await open(page, `/feedback/${ticket_id}`);
  await expectHeading(page, `#${ticket_id} cs_live_${tag}`);
  await expect(page.getByRole('region', { name: 'Details' })).toContainText('Critical');
});
