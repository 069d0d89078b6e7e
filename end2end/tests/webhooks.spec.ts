import { test, expect } from './fixtures';
import { type Page } from '@playwright/test';
import * as http from 'http';
import type { AddressInfo } from 'net';
import { admin, expectHeading, open, ready, receiver, shoot, signIn, unique } from './helpers';

/** A local stand-in for Slack's incoming webhook on 127.0.0.1: it records every request and
 *  answers 400 to tickets whose title says "Broken" until `fixed` is set, 200 "ok" otherwise. */
async function slackStandIn() {
  const seen: { method: string; url: string; body: string; headers: http.IncomingHttpHeaders }[] = [];
  const state = { fixed: false };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', body, headers: req.headers });
      if (body.includes('Broken') && !state.fixed) {
        res.writeHead(400, { 'content-type': 'text/plain' });
        res.end('invalid_payload');
      } else {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('ok');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { seen, state, url: `http://127.0.0.1:${port}/services/T0/B0/escalation`, close: () => server.close() };
}

async function newTicket(page: Page, title: string) {
  await open(page, '/projects');
  await page.getByRole('link', { name: 'Aurora Beta' }).click();
  await ready(page);
  await page.getByRole('link', { name: 'New Bug Report' }).click();
  await expectHeading(page, 'New Bug Report');
  await ready(page);
  await page.getByLabel('Title').fill(title);
  await page.getByLabel('Submitted by (email)').fill(admin.email);
  await page.getByLabel('Severity (required)').selectOption('High');
  await page.getByRole('button', { name: 'Submit ticket' }).click();
  await expect(page.getByRole('status')).toHaveText('The ticket was submitted.');
  return Number(new URL(page.url()).pathname.split('/').pop());
}

// Seed 002: a feedback macro escalating Bug Reports to Slack, built in the browser, run in
// bulk on a filter; the webhook log shows each attempt, a failure, and a resend that works.
test('a Slack escalation webhook runs in bulk, and the log shows attempts, a failure and a resend', async ({ page }, testInfo) => {
  test.setTimeout(120_000);
  const slack = await slackStandIn();
  try {
    await signIn(page);
    await expect(page).toHaveURL(/\/$/);
    const tag = unique(testInfo, 'wh');
    const fine = await newTicket(page, `Crash on save ${tag}`);
    await newTicket(page, `Broken login ${tag}`);

    // The macro, then its webhook from the Slack preset.
    await open(page, '/macros/new?scope=feedback');
    await page.getByLabel('Name', { exact: true }).fill(`Escalate ${tag}`);
    await page.getByLabel('Key', { exact: true }).fill(`escalate-${tag}`);
    await page.getByLabel('Action 1', { exact: true }).selectOption({ label: 'Add comment' });
    await page.getByLabel('Action 1 value').fill('Escalated to Slack.');
    await page.getByRole('button', { name: 'Save macro' }).click();
    await expect(page.getByRole('status')).toHaveText('The macro was saved.');
    await page.getByRole('link', { name: `Escalate ${tag}` }).click();
    await ready(page);
    await page.getByRole('link', { name: 'Start from: Slack incoming webhook' }).click();
    await expectHeading(page, `New webhook of Escalate ${tag}`);
    await ready(page);
    await expect(page.getByLabel('Body')).toHaveValue(/\(\(feedback\.title\)\)/);
    await page.getByLabel('Name', { exact: true }).fill(`Slack ${tag}`);
    await page.getByLabel('URL').fill(slack.url);
    await page.getByLabel('Headers', { exact: true }).fill('Authorization: Bearer xoxb-very-secret');
    if (testInfo.project.use.javaScriptEnabled !== false) {
      // The tag picker inserts at the cursor of the body.
      const body = page.getByLabel('Body');
      await body.fill('{"text": "Escalated: "}');
      await body.press('End');
      for (let i = 0; i < 2; i++) await body.press('ArrowLeft');
      await page.getByLabel('Dynamic tag').selectOption('feedback.title');
      await page.getByRole('button', { name: 'Insert tag' }).click();
      await expect(body).toHaveValue('{"text": "Escalated: ((feedback.title))"}');
    }
    // A body that is not JSON once filled in is refused, naming the field.
    const good = await page.getByLabel('Body').inputValue();
    await page.getByLabel('Body').fill('{"text": ((feedback.title))}');
    await page.getByRole('button', { name: 'Save webhook' }).click();
    await expect(page.getByText(/Body is not valid JSON once its tags are filled in/)).toBeVisible();
    await ready(page);
    await page.getByLabel('Name', { exact: true }).fill(`Slack ${tag}`);
    await page.getByLabel('URL').fill(slack.url);
    await page.getByLabel('Headers', { exact: true }).fill('Authorization: Bearer xoxb-very-secret');
    await page.getByLabel('Body').fill(good);
    await page.getByRole('button', { name: 'Save webhook' }).click();
    await expect(page.getByRole('status')).toHaveText('The webhook was saved.');
    await ready(page);
    // Secrets never come back to the page.
    await expect(page.getByLabel('Headers', { exact: true })).toHaveValue('Authorization: Bearer ••••••');
    await page.screenshot({ path: testInfo.outputPath('webhook-editor.png'), fullPage: true });

    // Preview against one ticket: nothing is sent.
    await page.getByLabel('Ticket number', { exact: true }).fill(String(fine));
    await page.getByRole('button', { name: 'Preview' }).click();
    await ready(page);
    const preview = page.getByRole('figure', { name: 'Preview' });
    await expect(preview).toContainText(`POST ${slack.url}`);
    await expect(preview).toContainText(`Crash on save ${tag}`);
    await expect(preview).toContainText('Authorization: Bearer ••••••');
    expect(slack.seen.length).toBe(0);

    // A feedback filter of the two tickets, and the macro in bulk on it.
    await open(page, '/filters/new?scope=feedback');
    await ready(page);
    await page.getByLabel('Name', { exact: true }).fill(`Escalation ${tag}`);
    await page.getByLabel('Group 1, condition 1 field').selectOption({ label: 'Title' });
    await page.getByLabel('Group 1, condition 1 operator').selectOption('contains');
    await page.getByLabel('Group 1, condition 1 value').fill(tag);
    await page.getByRole('button', { name: 'Save filter' }).click();
    await expect(page.getByText('The filter was created.')).toBeVisible();
    await open(page, '/filters');
    await page.getByRole('link', { name: `Escalation ${tag}` }).click();
    await ready(page);
    await expect(page.getByText('2 matching tickets', { exact: true })).toBeVisible();
    await page.getByLabel('Macro', { exact: true }).selectOption({ label: `Escalate ${tag}` });
    await page.getByLabel('Yes, run it on all 2 tickets').check();
    await page.getByRole('button', { name: 'Perform action' }).click();
    await expect(page).toHaveURL(/\/bulk-runs\/\d+$/);
    await expect(page.getByRole('status')).toHaveText('Finished: 2 of 2 tickets done.', { timeout: 20_000 });

    // Both requests reached the stand-in, carrying the tickets' titles as JSON.
    await expect.poll(() => slack.seen.length, { timeout: 15_000 }).toBe(2);
    for (const s of slack.seen) {
      expect(s.method).toBe('POST');
      expect(s.headers['content-type']).toBe('application/json');
      expect(s.headers['authorization']).toBe('Bearer xoxb-very-secret');
      const payload = JSON.parse(s.body);
      expect(payload.text).toMatch(new RegExp(`(Crash on save|Broken login) ${tag}`));
    }

    await open(page, '/macros');
    await page.getByRole('link', { name: `Escalate ${tag}` }).click();
    await ready(page);
    await expect(page.getByRole('region', { name: 'Trigger webhooks' }).getByRole('row', { name: new RegExp(`Slack ${tag}`) })).toContainText('50% succeeded');
    await page.screenshot({ path: testInfo.outputPath('macro-webhooks.png'), fullPage: true });

    // The log of this macro: one succeeded, one failed with Slack's 400.
    await open(page, '/webhooks/log');
    await page.getByLabel('Macro').selectOption({ label: `Escalate ${tag}` });
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await ready(page);
    const rows = page.getByRole('table', { name: 'Webhook deliveries' }).getByRole('row');
    await expect(rows).toHaveCount(3);
    await expect(page.getByRole('row', { name: /Succeeded/ })).toHaveCount(1);
    const failed = page.getByRole('row', { name: /Failed/ });
    await expect(failed).toContainText('400');
    await expect(page.getByTestId('webhook-rate')).toContainText(`Slack ${tag}: 1 succeeded, 1 failed, 0 waiting (50% success)`);
    await page.screenshot({ path: testInfo.outputPath('webhook-log.png'), fullPage: true });

    // The failed delivery, its attempt, and a resend once Slack accepts it.
    await failed.getByRole('link', { name: /^#\d+$/ }).click();
    await ready(page);
    await expectHeading(page, /Delivery #\d+/);
    const attempt = page.getByTestId('attempt');
    await expect(attempt).toHaveCount(1);
    await expect(attempt).toContainText('answered 400');
    await expect(page.getByTestId('response-body')).toHaveText('invalid_payload');
    await expect(page.getByRole('figure', { name: 'Request' })).toContainText('Authorization: Bearer ••••••');
    slack.state.fixed = true;
    await page.getByRole('button', { name: 'Resend' }).click();
    await expect(page.getByRole('status')).toHaveText('The request was queued again and is being sent.');
    await expect(page.getByText(/A resend of/)).toBeVisible();
    await expect.poll(() => slack.seen.length, { timeout: 15_000 }).toBe(3);
    await expect(async () => {
      await page.reload();
      await expect(page.getByText('Succeeded', { exact: true })).toBeVisible({ timeout: 1_000 });
    }).toPass({ timeout: 15_000 });
    await expect(page.getByTestId('attempt')).toContainText('answered 200');
    await page.screenshot({ path: testInfo.outputPath('webhook-resend.png'), fullPage: true });

    await open(page, '/webhooks/log?status=failed');
    await expect(page.getByRole('row', { name: new RegExp(`Slack ${tag}`) })).toHaveCount(1);
  } finally {
    slack.close();
  }
});

// Seed 000 with GDPR Art. 19: the removal macro tells the CRM to erase the same person. The
// request names them, so the log keeps it sealed and erases it once sent; the opt-out
// dashboard's receipt shows it went out.
test('a removal tells the CRM whom to erase; the log keeps the request sealed, then erased', async ({ page }, testInfo) => {
  test.setTimeout(120_000);
  const crm = await slackStandIn();
  try {
    await signIn(page);
    await expect(page).toHaveURL(/\/$/);
    const tag = unique(testInfo, 'gd');
    const email = `${tag}-leaving@example.com`;

    await open(page, '/macros/new');
    await page.getByLabel('Name', { exact: true }).fill(`Forget ${tag}`);
    await page.getByLabel('Key', { exact: true }).fill(`forget-${tag}`);
    await page.getByLabel('Remove user completely').check();
    for (const option of ['Show in user-management actions', 'Suppress confirmation']) await page.getByLabel(option).check();
    await page.getByRole('button', { name: 'Save macro' }).click();
    await expect(page.getByRole('status')).toHaveText('The macro was saved.');
    await page.getByRole('link', { name: `Forget ${tag}` }).click();
    await ready(page);
    await page.getByRole('link', { name: 'Start from: Generic JSON POST' }).click();
    await ready(page);
    await page.getByLabel('Name', { exact: true }).fill(`Erase in CRM ${tag}`);
    await page.getByLabel('URL').fill(`${crm.url}?email=((user.email))`);
    await page.getByLabel('Headers', { exact: true }).fill('X-Api-Key: crm-key-123456');
    await page.getByLabel('Body').fill('{"erase": "((user.email))", "name": "((user.first_name)) ((user.last_name))"}');
    await page.getByRole('button', { name: 'Save webhook' }).click();
    await expect(page.getByRole('status')).toHaveText('The webhook was saved.');
    await ready(page);
    await expect(page.getByLabel('Headers', { exact: true })).toHaveValue('X-Api-Key: ••••••');

    await open(page, '/users/new');
    await page.getByLabel('First name').fill('Leaving');
    await page.getByLabel('Last name').fill(`Person${tag}`);
    await page.getByLabel('Email').fill(email);
    await page.getByRole('button', { name: 'Save user' }).click();
    await expect(page.getByRole('status')).toHaveText('The user was created.');
    await ready(page);
    await page.getByLabel('Macro', { exact: true }).selectOption({ label: `Forget ${tag}` });
    await page.getByRole('button', { name: 'Run macro' }).click();
    await expect(page.getByRole('status')).toHaveText('The user was removed completely.');

    // The CRM is told, with the person as they were.
    await expect.poll(() => crm.seen.length, { timeout: 15_000 }).toBe(1);
    expect(crm.seen[0].url).toContain(`email=${encodeURIComponent(email)}`);
    expect(JSON.parse(crm.seen[0].body).erase).toBe(email);
    expect(crm.seen[0].headers['x-api-key']).toBe('crm-key-123456');

    // The log: the request was sealed, and erased once sent.
    await open(page, '/webhooks/log');
    await page.getByLabel('Macro').selectOption({ label: `Forget ${tag}` });
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await ready(page);
    const row = page.getByRole('table', { name: 'Webhook deliveries' }).getByRole('row', { name: new RegExp(`Erase in CRM ${tag}`) });
    await expect(async () => {
      await page.reload();
      await expect(row).toContainText('identifier erased', { timeout: 1_000 });
    }).toPass({ timeout: 15_000 });
    await expect(row).toContainText('[sealed]');
    await row.getByRole('link', { name: /^#\d+$/ }).click();
    await ready(page);
    await expect(page.getByTestId('sealed')).toContainText(/^Erased at .*: this request named a removed person/);
    await expect(page.getByRole('button', { name: 'Resend' })).toHaveCount(0);
    await expect(page.locator('body')).not.toContainText(email);
    await expect(page.locator('body')).not.toContainText(`Person${tag}`);
    await page.screenshot({ path: testInfo.outputPath('sealed-delivery.png'), fullPage: true });

    // The receipt names the notification and how it went, not the person.
    await open(page, '/opt-out');
    const receipt = page.getByRole('region', { name: 'Erasure receipts' }).getByRole('listitem').filter({ hasText: `Forget ${tag} run by hand` });
    await expect(receipt).toContainText(`Erase in CRM ${tag}: succeeded, identifier erased`);
    await expect(page.locator('body')).not.toContainText(email);
    await page.screenshot({ path: testInfo.outputPath('erasure-receipts.png'), fullPage: true });
  } finally {
    crm.close();
  }
});

// Seeds 002/003: Trigger webhooks is a box in the macro editor; the webhook is saved with the
// macro. Then the users list's Actions run it on a ticked user, and the feedback list's
// Actions run a feedback macro on a ticked ticket.
test('Trigger webhooks saves a webhook with its macro, and the lists’ Actions run macros on ticked rows', async ({ page }, testInfo) => {
  test.setTimeout(120_000);
  const slack = await slackStandIn();
  try {
    await signIn(page);
    await expect(page).toHaveURL(/\/$/);
    const tag = unique(testInfo, 'trig');
    await open(page, '/users/new');
    await page.getByLabel('First name').fill(`Trig${tag.replace(/[^a-z0-9]/gi, '')}`);
    await page.getByLabel('Last name').fill('Tester');
    await page.getByLabel('Email').fill(`${tag}@example.com`);
    await page.getByRole('button', { name: 'Save user' }).click();
    await expect(page.getByRole('status')).toHaveText('The user was created.');

    await open(page, '/macros/new');
    await expect(page.getByLabel('Webhook name')).toBeHidden();
    await expect(page.getByLabel('Trigger webhooks')).not.toBeChecked();
    // Ticking the box opens the webhook's fields in the same form (CSS: with or without
    // JavaScript).
    await page.getByLabel('Trigger webhooks').check();
    await expect(page.getByLabel('Webhook name')).toBeVisible();
    await expect(page.getByLabel('URL')).toBeVisible();
    // Starting from a preset fills the fields and ticks the box.
    await page.getByRole('link', { name: 'Slack incoming webhook' }).click();
    await ready(page);
    await expect(page.getByLabel('Trigger webhooks')).toBeChecked();
    await expect(page.getByLabel('Webhook name')).toHaveValue('Slack escalation');
    await expect(page.getByLabel('Body')).toHaveValue(/\(\(user\.first_name\)\)/);
    await page.getByLabel('Name', { exact: true }).fill(`Tell Slack ${tag}`);
    await page.getByLabel('Key').fill(`tell-${tag}`);
    await page.getByLabel('Action 1', { exact: true }).selectOption('adjust_score');
    await page.getByLabel('Action 1 value').fill('2');
    // A bad address is refused, naming the webhook's field; nothing is saved.
    await page.getByLabel('URL').fill('ftp://example.com/hook');
    await page.getByRole('button', { name: 'Save macro' }).click();
    await expect(page.getByText(/^URL must start with https:\/\/ or http:\/\//)).toBeVisible();
    await ready(page);
    await page.getByLabel('Name', { exact: true }).fill(`Tell Slack ${tag}`);
    await page.getByLabel('Key').fill(`tell-${tag}`);
    await page.getByLabel('Action 1', { exact: true }).selectOption('adjust_score');
    await page.getByLabel('Action 1 value').fill('2');
    await page.getByLabel('Trigger webhooks').check();
    await page.getByLabel('Webhook name').fill(`Slack ${tag}`);
    await page.getByLabel('URL').fill(slack.url);
    await page.getByRole('button', { name: 'Save macro' }).click();
    await expect(page.getByRole('status')).toHaveText('The macro was saved.');
    await ready(page);
    await expect(page.getByRole('row', { name: new RegExp(`Tell Slack ${tag}`) })).toContainText(`Send webhook Slack ${tag}`);
    await page.screenshot({ path: testInfo.outputPath('macro-list.png'), fullPage: true });

    // The users list: tick the user, run the macro (with the confirmation), watch it finish.
    await open(page, `/users?q=${encodeURIComponent(`${tag}@example.com`)}`);
    await page.getByLabel(/^Select Trig/).check();
    await page.getByLabel('Run the macro').selectOption({ label: `Tell Slack ${tag}` });
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    await expect(page.getByText('Tick the box to confirm the run on these users.')).toBeVisible();
    await ready(page);
    await page.getByLabel(/^Select Trig/).check();
    await page.getByLabel('Run the macro').selectOption({ label: `Tell Slack ${tag}` });
    await page.getByLabel('Yes, run it').check();
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.screenshot({ path: testInfo.outputPath('users-actions-1280.png'), fullPage: true });
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    await expect(page).toHaveURL(/\/bulk-runs\/\d+$/);
    await expect(page.getByText(/^On 1 ticked user, started/)).toBeVisible();
    await expect(page.getByRole('status')).toHaveText('Finished: 1 of 1 users done.', { timeout: 20_000 });
    await expect.poll(() => slack.seen.length, { timeout: 20_000 }).toBe(1);
    expect(slack.seen[0].body).toContain('Trig');

    // The feedback list: a feedback macro that needs no confirmation, on a ticked ticket.
    await newTicket(page, `Ticked ${tag}`);
    await open(page, '/macros/new?scope=feedback');
    await page.getByLabel('Name', { exact: true }).fill(`Note ${tag}`);
    await page.getByLabel('Key', { exact: true }).fill(`note-${tag}`);
    await page.getByLabel('Action 1', { exact: true }).selectOption({ label: 'Add comment' });
    await page.getByLabel('Action 1 value').fill(`Seen in triage ${tag}.`);
    await page.getByLabel('Suppress confirmation').check();
    await page.getByRole('button', { name: 'Save macro' }).click();
    await expect(page.getByRole('status')).toHaveText('The macro was saved.');
    await open(page, '/projects');
    await page.getByRole('link', { name: 'Aurora Beta' }).click();
    await ready(page);
    await page.getByRole('main').getByRole('link', { name: 'Feedback', exact: true }).click();
    await ready(page);
    await page.getByLabel('Title contains').fill(`Ticked ${tag}`);
    await page.getByRole('button', { name: 'Show' }).click();
    await ready(page);
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByLabel(`Select Ticked ${tag}`).check();
    await page.getByLabel('Run the macro').selectOption({ label: `Note ${tag}` });
    await page.screenshot({ path: testInfo.outputPath('feedback-actions-390.png'), fullPage: true });
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    await expect(page).toHaveURL(/\/bulk-runs\/\d+$/);
    await expect(page.getByRole('status')).toHaveText('Finished: 1 of 1 tickets done.', { timeout: 20_000 });
  } finally {
    slack.close();
  }
});

// Seeds 001/003: a user macro's webhook can capture its answer onto a project: a group stored
// against projects needs the project chosen on the webhook, else the save names the field.
test('a user macro captures into a project group on the project chosen', async ({ page }, testInfo) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/$/);
  const tag = unique(testInfo, 'capproj');
  await open(page, '/external-data');
  await page.getByLabel('Name', { exact: true }).fill(`Build ${tag}`);
  await page.getByLabel('Stored against').selectOption({ label: 'Projects' });
  await page.getByRole('button', { name: 'Create group' }).click();
  await expect(page.getByRole('status')).toHaveText('The data group was created: add its fields.');
  await ready(page);
  await page.getByLabel('Label of data field 1').fill('Latest build');
  await page.getByLabel('Parameter of data field 1').fill('build.number');
  await page.getByRole('button', { name: 'Save group' }).click();
  await expect(page.getByRole('status')).toHaveText('The data group was saved.');

  const fill = async () => {
    await page.getByLabel('Name', { exact: true }).fill(`Build check ${tag}`);
    await page.getByLabel('Key').fill(`build-${tag}`);
    await page.getByLabel('Action 1', { exact: true }).selectOption('adjust_score');
    await page.getByLabel('Action 1 value').fill('1');
    await page.getByLabel('Trigger webhooks').check();
    await page.getByLabel('Webhook name').fill(`Build ${tag}`);
    await page.getByLabel('URL').fill('https://example.com/build');
    await page.getByRole('checkbox', { name: /^Capture return values/ }).check();
    await page.getByLabel('Capture return values into').selectOption({ label: `Build ${tag} (on a project)` });
  };
  await open(page, '/macros/new');
  await fill();
  await page.getByRole('button', { name: 'Save macro' }).click();
  await expect(page.getByText(/^Choose the project the answer's values are stored on/)).toBeVisible();
  await ready(page);
  await fill();
  await page.getByLabel('Capture project').selectOption({ label: 'Aurora Beta' });
  await page.getByRole('button', { name: 'Save macro' }).click();
  await expect(page.getByRole('status')).toHaveText('The macro was saved.');
  await ready(page);
  await page.getByRole('row', { name: new RegExp(`Build check ${tag}`) }).getByRole('link').first().click();
  await ready(page);
  for (const width of [1280, 390]) {
    await page.setViewportSize({ width, height: 900 });
    await page.screenshot({ path: testInfo.outputPath(`capture-project-${width}.png`), fullPage: true });
  }
});

// Issue 20: a paused webhook holds what its macro sends until it is resumed.
test('a paused webhook holds a run’s request until it is resumed', async ({ page }, testInfo) => {
  const receiver = await slackStandIn();
  try {
    await signIn(page);
    await expect(page).toHaveURL(/\/$/);
    const tag = unique(testInfo, 'pause');

    await open(page, '/users/new');
    await page.getByLabel('First name').fill('Paula');
    await page.getByLabel('Last name').fill(`Paused ${tag}`);
    await page.getByLabel('Email').fill(`${tag}-paula@example.com`);
    await page.getByRole('button', { name: 'Save user' }).click();
    await expect(page.getByRole('status')).toHaveText('The user was created.');
    const userUrl = new URL(page.url()).pathname;

    await open(page, '/macros/new');
    await page.getByLabel('Name', { exact: true }).fill(`Ping ${tag}`);
    await page.getByLabel('Key', { exact: true }).fill(`ping-${tag}`);
    await page.getByLabel('Action 1', { exact: true }).selectOption('adjust_score');
    await page.getByLabel('Action 1 value').fill('1');
    await page.getByRole('button', { name: 'Save macro' }).click();
    await expect(page.getByRole('status')).toHaveText('The macro was saved.');
    await ready(page);
    await page.getByRole('link', { name: `Ping ${tag}` }).click();
    await ready(page);
    await page.getByRole('link', { name: 'Add a webhook' }).click();
    await ready(page);
    await page.getByLabel('Name', { exact: true }).fill(`Ping hook ${tag}`);
    await page.getByLabel('URL').fill(receiver.url);
    await page.getByRole('button', { name: 'Save webhook' }).click();
    await expect(page.getByRole('status')).toHaveText('The webhook was saved.');
    await ready(page);
    const hookUrl = new URL(page.url()).pathname;

    await expect(page.getByTestId('pause-state')).toHaveText('Sending: deliveries go out as they are made.');
    await page.getByRole('button', { name: 'Pause' }).click();
    await expect(page.getByRole('status')).toHaveText('The webhook is paused: its deliveries wait until you resume it.');
    await ready(page);
    await expect(page.getByTestId('pause-state')).toHaveText('Paused: 0 waiting, none sent until you resume it.');

    await open(page, userUrl);
    await page.getByLabel('Macro', { exact: true }).selectOption({ label: `Ping ${tag}` });
    await page.getByLabel('Yes, run it on this user').check();
    await page.getByRole('button', { name: 'Run macro' }).click();
    await expect(page.getByRole('status')).toHaveText('The macro ran.');

    await open(page, hookUrl);
    await expect(page.getByTestId('pause-state')).toHaveText('Paused: 1 waiting, none sent until you resume it.');
    await page.waitForTimeout(1500);
    expect(receiver.seen).toHaveLength(0);
    await page.screenshot({ path: testInfo.outputPath('webhook-paused.png'), fullPage: true });
    await page.getByRole('button', { name: 'Resume' }).click();
    await expect(page.getByRole('status')).toHaveText('The webhook is resumed: what waited goes out now, oldest first.');
    await expect.poll(() => receiver.seen.length, { timeout: 20_000 }).toBe(1);
    expect(receiver.seen[0].method).toBe('POST');
  } finally {
    receiver.close();
  }
});

// Issue 20: Resend all from the webhook log's filters, with the count first and a progress page.
test('resend all sends the failed deliveries of a webhook again and shows their progress', async ({ page }, testInfo) => {
  const js = testInfo.project.use.javaScriptEnabled !== false;
  const state = { fixed: false };
  const endpoint = await receiver(() => (state.fixed ? { status: 200, type: 'text/plain', body: 'ok' } : { status: 400, type: 'text/plain', body: 'bad request' }));
  try {
    await signIn(page);
    await expect(page).toHaveURL(/\/$/);
    const tag = unique(testInfo, 'replay');
    await open(page, '/users/new');
    await page.getByLabel('First name').fill('Rita');
    await page.getByLabel('Last name').fill(`Replay ${tag}`);
    await page.getByLabel('Email').fill(`${tag}-rita@example.com`);
    await page.getByRole('button', { name: 'Save user' }).click();
    await expect(page.getByRole('status')).toHaveText('The user was created.');
    const userUrl = new URL(page.url()).pathname;

    await open(page, '/macros/new');
    await page.getByLabel('Name', { exact: true }).fill(`Notify ${tag}`);
    await page.getByLabel('Key', { exact: true }).fill(`notify-${tag}`);
    await page.getByLabel('Action 1', { exact: true }).selectOption('adjust_score');
    await page.getByLabel('Action 1 value').fill('1');
    await page.getByRole('button', { name: 'Save macro' }).click();
    await expect(page.getByRole('status')).toHaveText('The macro was saved.');
    await ready(page);
    await page.getByRole('link', { name: `Notify ${tag}` }).click();
    await ready(page);
    await page.getByRole('link', { name: 'Add a webhook' }).click();
    await ready(page);
    await page.getByLabel('Name', { exact: true }).fill(`Notify hook ${tag}`);
    await page.getByLabel('URL').fill(endpoint.url);
    await page.getByRole('button', { name: 'Save webhook' }).click();
    await expect(page.getByRole('status')).toHaveText('The webhook was saved.');
    const hookId = new URL(page.url()).pathname.split('/').pop();

    for (let i = 0; i < 2; i++) {
      await open(page, userUrl);
      await page.getByLabel('Macro', { exact: true }).selectOption({ label: `Notify ${tag}` });
      await page.getByLabel('Yes, run it on this user').check();
      await page.getByRole('button', { name: 'Run macro' }).click();
      await expect(page.getByRole('status')).toHaveText('The macro ran.');
    }
    await expect.poll(() => endpoint.seen.length, { timeout: 20_000 }).toBe(2);

    // Two failures in a row: the dashboard says so (the suite's setting), with a link.
    await open(page, '/');
    const attention = page.getByRole('region', { name: 'Needs attention' });
    const warning = attention.getByRole('listitem').filter({ hasText: `The webhook "Notify hook ${tag}" has failed 2 times in a row` });
    await expect(warning).toHaveCount(1);
    await expect(warning.getByRole('link', { name: 'Open' })).toHaveAttribute('href', `/webhooks/${hookId}`);
    await shoot(page, 'dashboard-alert');

    // The endpoint answered 400 (not retried); it is fixed now. The log's filters count first.
    state.fixed = true;
    const logUrl = `/webhooks/log?webhook=${hookId}&status=failed`;
    await expect.poll(async () => {
      await open(page, logUrl);
      return page.getByTestId('replay-count').count();
    }, { timeout: 20_000 }).toBe(1);
    const panel = page.getByRole('region', { name: 'Resend all' });
    await expect(panel.getByTestId('replay-count')).toContainText('2 deliveries matching these filters can be sent again');
    await panel.getByRole('button', { name: 'Resend 2 deliveries' }).click();
    await expect(panel.getByRole('alert')).toBeVisible();
    await expect(panel).toContainText('Tick the box to send them again.');
    await ready(page);
    await page.getByRole('region', { name: 'Resend all' }).getByLabel('Yes, send these 2 deliveries again').check();
    await page.getByRole('region', { name: 'Resend all' }).getByRole('button', { name: 'Resend 2 deliveries' }).click();
    await expect(page).toHaveURL(/\/webhooks\/replays\/\d+$/);
    await expectHeading(page, /^Resend all #\d+$/);
    // Hydrated, the page follows the sending by itself; without JavaScript, Refresh does.
    await expect.poll(async () => {
      if (!js) {
        await page.reload();
      }
      return page.getByTestId('replay-state').textContent();
    }, { timeout: 30_000 }).toBe('Done: 2 succeeded, 0 failed.');
    await expect(page.getByRole('progressbar', { name: 'Deliveries finished' })).toHaveAttribute('aria-valuenow', '100');
    expect(endpoint.seen).toHaveLength(4);
    await shoot(page, 'resend-all');
    // Its deliveries go through again: the warning is resolved.
    await open(page, '/');
    await expect(page.getByText(`The webhook "Notify hook ${tag}" has failed`)).toHaveCount(0);
  } finally {
    endpoint.close();
  }
});
