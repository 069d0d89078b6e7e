import { test, expect } from './fixtures';
import { type Page } from '@playwright/test';
import { admin, expectHeading, open, ready, signIn, startListener, unique, type ListenerType } from './helpers';

async function newApiKey(page: Page, name: string) {
  await open(page, '/api-keys/new');
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByRole('button', { name: 'Create API key' }).click();
  const shown = page.getByLabel('New API key');
  await expect(shown).toHaveValue(/.{20,}/);
  return shown.inputValue();
}

/** A feedback macro from the macro editor; `more` fills automation or schedule fields. */
async function newFeedbackMacro(page: Page, name: string, actions: [string, string][], more: () => Promise<void> = async () => {}) {
  await open(page, '/macros/new?scope=feedback');
  await expectHeading(page, 'New feedback macro');
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Key', { exact: true }).fill(name.toLowerCase().replace(/[^a-z0-9-]+/g, '-'));
  for (const [i, [kind, value]] of actions.entries()) {
    await page.getByLabel(`Action ${i + 1}`, { exact: true }).selectOption({ label: kind });
    await page.getByLabel(`Action ${i + 1} value`).fill(value);
  }
  await more();
  await page.getByRole('button', { name: 'Save macro' }).click();
  await expect(page.getByRole('status')).toHaveText('The macro was saved.');
}

/** A feedback listener; returns its URL without the query. */
async function newFeedbackListener(page: Page, name: string, kind: ListenerType, apiKey: string, fill: () => Promise<void>) {
  await startListener(page, kind, 'feedback');
  await expectHeading(page, 'New feedback listener');
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Key', { exact: true }).fill(name.toLowerCase().replace(/[^a-z0-9-]+/g, '-'));
  await page.getByLabel('API key', { exact: true }).selectOption({ label: apiKey });
  await fill();
  await page.getByRole('button', { name: 'Save listener' }).click();
  await expect(page.getByRole('status')).toHaveText('The listener was saved.');
  await ready(page);
  return (await page.getByLabel(/URL for a webhook/).inputValue()).split('?')[0];
}

// Seeds 001, 003 and 004 on one ticket: Salesforce creates it through an external source, a
// submit-triggered macro triages it, Jira stores its issue key, comments (finding the ticket by
// that key) and closes it through feedback listeners, and a scheduled macro runs once.
test('a ticket from an external source goes through automation, every feedback listener and a schedule', async ({ page, request }, testInfo) => {
  test.setTimeout(120_000);
  await signIn(page);
  await expect(page).toHaveURL(/\/$/);
  const tag = unique(testInfo, 'fa');

  // A project with a Bug Report type: workflow New → Triaged → Closed, team Testers.
  await open(page, '/projects');
  await page.getByLabel('Name', { exact: true }).fill(`Orbit ${tag}`);
  await page.getByLabel('Key').fill(`o-${tag}`);
  await page.getByRole('button', { name: 'Create project' }).click();
  await expect(page.getByRole('status')).toHaveText('The project was saved.');
  await ready(page);
  await page.getByLabel('Type name').fill('Bug Report');
  await page.getByRole('button', { name: 'Add feedback type' }).click();
  await expectHeading(page, 'Feedback type Bug Report');
  await ready(page);
  await page.getByLabel('Workflow').fill('New\nTriaged\nClosed');
  await page.getByLabel('Testers').check();
  await page.getByLabel('Label of field 1').fill('Severity');
  await page.getByLabel('Kind of field 1').selectOption('choice');
  await page.getByLabel('Choices of field 1').fill('Low\nHigh');
  await page.getByRole('button', { name: 'Save feedback type' }).click();
  await expect(page.getByRole('status')).toHaveText('The feedback type was saved.');

  const apiKey = `Orbit ${tag}`;
  const key = await newApiKey(page, apiKey);

  // Jira's issue key, stored on tickets.
  await open(page, '/external-data');
  await page.getByLabel('Name', { exact: true }).fill(`Jira ${tag}`);
  await page.getByLabel('Stored against').selectOption({ label: 'Feedback tickets' });
  await page.getByRole('button', { name: 'Create group' }).click();
  await expect(page.getByRole('status')).toHaveText('The data group was created: add its fields.');
  await ready(page);
  await page.getByLabel('Label of data field 1').fill('Issue key');
  await page.getByLabel('Parameter of data field 1').fill('issueKey');
  await page.getByLabel('Data field 1 is a favourite').check();
  await page.getByRole('button', { name: 'Save group' }).click();
  await expect(page.getByRole('status')).toHaveText('The data group was saved.');

  // A feedback filter: this project's tickets.
  await open(page, '/filters/new?scope=feedback');
  await expectHeading(page, 'New feedback filter');
  await page.getByLabel('Name', { exact: true }).fill(`Orbit bugs ${tag}`);
  await page.getByLabel('Group 1, condition 1 field').selectOption({ label: 'Project' });
  await page.getByLabel('Group 1, condition 1 operator').selectOption('is');
  await page.getByLabel('Group 1, condition 1 value').fill(`Orbit ${tag}`);
  await page.getByRole('button', { name: 'Save filter' }).click();
  await expect(page.getByText('The filter was created.')).toBeVisible();
  await expect(page.getByText(`project is Orbit ${tag}`)).toBeVisible();

  // Automation: triage every ticket submitted to the project.
  await newFeedbackMacro(page, `Triage ${tag}`, [['Set status to', 'Triaged']], async () => {
    await page.getByLabel('Run when a ticket is submitted').check();
    await page.getByLabel('Only on tickets passing').selectOption({ label: `Orbit bugs ${tag}` });
  });
  await newFeedbackMacro(page, `Close ${tag}`, [['Set status to', 'Closed'], ['Adjust submitter score by', '5']]);

  // The external source Salesforce posts to.
  await open(page, '/projects');
  await page.getByRole('link', { name: `Orbit ${tag}` }).click();
  await ready(page);
  await page.getByRole('link', { name: 'New external source' }).click();
  await expectHeading(page, 'New external source');
  await ready(page);
  await page.getByLabel('Name', { exact: true }).fill(`Salesforce ${tag}`);
  await page.getByLabel('Key', { exact: true }).fill(`sf-${tag}`);
  await page.getByLabel('API key').selectOption({ label: apiKey });
  await page.getByLabel('Default submitter (email)').fill(admin.email);
  await page.getByLabel('Mapping').fill('Subject = title\nPriority__c = severity');
  await page.getByRole('button', { name: 'Save external source' }).click();
  await expect(page.getByRole('status')).toHaveText('The external source was saved.');
  const source = await page.getByLabel('URL', { exact: true }).inputValue();

  // A feedback listener of each type.
  const dataUrl = await newFeedbackListener(page, `Jira data ${tag}`, 'External Data', apiKey, async () => {
    await page.getByLabel('Data group').selectOption({ label: `Jira ${tag}` });
  });
  expect(dataUrl).toContain('/api/v1/feedbackDataListeners/');
  const commentUrl = await newFeedbackListener(page, `Jira comments ${tag}`, 'Add Comment', apiKey, async () => {
    await page.getByLabel('Find the ticket by').selectOption({ label: `Jira ${tag} · Issue key` });
    await page.getByLabel('Author field').fill('author');
    await page.getByLabel('Comment field').fill('body');
  });
  expect(commentUrl).toContain('/api/v1/feedbackCommentListeners/');
  const macroUrl = await newFeedbackListener(page, `Jira done ${tag}`, 'Macro Execution', apiKey, async () => {
    await page.getByLabel('Macro to run').selectOption({ label: `Close ${tag}` });
    await page.getByLabel('Filter').selectOption({ label: `Orbit bugs ${tag}` });
  });
  expect(macroUrl).toContain('/api/v1/feedbackMacroListeners/');

  // Salesforce creates the ticket; the submit automation triages it.
  let res = await request.post(new URL(source).pathname, {
    headers: { 'X-Api-Key': key },
    data: { Subject: `Thermostat reboots ${tag}`, Priority__c: 'High' },
  });
  expect(res.status(), await res.text()).toBe(201);
  const { ticket_id } = await res.json();
  const ticketUrl = `/feedback/${ticket_id}`;
  await expect(async () => {
    await open(page, ticketUrl);
    await expect(page.getByText('Status: New → Triaged')).toBeVisible({ timeout: 500 });
  }).toPass({ timeout: 20_000 });

  // Jira stores its issue key, comments by that key, and closes the ticket by its id.
  const call = (url: string, find: string, data?: unknown) =>
    request.post(`${new URL(url).pathname}?${new URLSearchParams({ find, apiKey: key })}`, data === undefined ? {} : { data });
  res = await call(dataUrl, String(ticket_id), { issueKey: `BETA-${tag}` });
  expect(res.status(), await res.text()).toBe(200);
  res = await call(commentUrl, `BETA-${tag}`, { author: 'nobody@example.com', body: 'Hi' });
  expect((await res.json()).error.code).toBe('invalid_author');
  res = await call(commentUrl, `BETA-${tag}`, { author: admin.email, body: `Fixed in 2.1 (${tag})` });
  expect(res.status(), await res.text()).toBe(200);
  res = await call(commentUrl, 'BETA-404', { author: admin.email, body: 'x' });
  expect((await res.json()).error.code).toBe('target_not_found');
  res = await call(macroUrl, String(ticket_id));
  expect([200, 202]).toContain(res.status());

  // A scheduled macro, once, from now: it runs on the filter's tickets within a few seconds.
  const now = new Date().toISOString().slice(0, 16);
  await newFeedbackMacro(page, `Nightly ${tag}`, [['Add comment', `Nightly check ${tag}`]], async () => {
    await page.getByLabel('Runs', { exact: true }).selectOption({ label: 'Once' });
    await page.getByLabel('On the tickets of').selectOption({ label: `Orbit bugs ${tag}` });
    await page.getByLabel('Starts (UTC)').fill(now);
  });
  await expect(async () => {
    await open(page, '/macros');
    await expect(page.getByRole('row', { name: new RegExp(`Nightly ${tag}`) })).toContainText(/Last run: \d{4}-/, { timeout: 500 });
  }).toPass({ timeout: 20_000 });
  await expect(page.getByRole('row', { name: new RegExp(`Nightly ${tag}`) })).toContainText('Next run: — (finished)');
  await expect(page.getByRole('row', { name: new RegExp(`Triage ${tag}`) })).toContainText(`On submitted tickets passing Orbit bugs ${tag}`);
  await page.screenshot({ path: testInfo.outputPath('macros.png'), fullPage: true });

  // The ticket page shows all of it.
  await expect(async () => {
    await open(page, ticketUrl);
    await expect(page.getByText(`Nightly check ${tag}`, { exact: true })).toBeVisible({ timeout: 500 });
  }).toPass({ timeout: 20_000 });
  await expectHeading(page, `#${ticket_id} Thermostat reboots ${tag}`);
  const details = page.getByRole('region', { name: 'Details' });
  await expect(details).toContainText('High');
  await expect(details).toContainText('Closed');
  const data = page.getByRole('region', { name: 'External data' });
  await expect(data).toContainText(`Jira ${tag} · Issue key`);
  await expect(data).toContainText(`BETA-${tag}`);
  await expect(page.getByText(`Fixed in 2.1 (${tag})`, { exact: true })).toBeVisible();
  await expect(page.getByText('Status: Triaged → Closed')).toBeVisible();
  const runs = page.getByRole('table', { name: 'Macro runs' });
  await expect(runs.getByRole('row', { name: new RegExp(`Triage ${tag}`) })).toHaveCount(1);
  await expect(runs.getByRole('row', { name: new RegExp(`Triage ${tag}`) })).toContainText('automation');
  await expect(runs.getByRole('row', { name: new RegExp(`Nightly ${tag}`) })).toHaveCount(1);
  await expect(runs.getByRole('row', { name: new RegExp(`Nightly ${tag}`) })).toContainText('schedule');
  await expect(runs.getByRole('row', { name: new RegExp(`Close ${tag}`) })).toContainText('listener');
  await page.screenshot({ path: testInfo.outputPath('ticket-automation.png'), fullPage: true });
});

test('a feedback macro runs on one ticket and in bulk on a feedback filter', async ({ page }, testInfo) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/$/);
  const tag = unique(testInfo, 'fm');
  await newFeedbackMacro(page, `Acknowledge ${tag}`, [['Add comment', `Thanks ${tag}`], ['Set visibility to', 'private']]);

  // Two Bug Reports in the demo project.
  for (const title of [`Blank screen ${tag}`, `Lost settings ${tag}`]) {
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
  }

  // A feedback filter selecting them: a bad project is named first.
  await open(page, '/filters/new?scope=feedback');
  await expectHeading(page, 'New feedback filter');
  const fill = async (project: string) => {
    await ready(page);
    await page.getByLabel('Name', { exact: true }).fill(`Demo bugs ${tag}`);
    await page.getByLabel('Group 1, condition 1 field').selectOption({ label: 'Project' });
    await page.getByLabel('Group 1, condition 1 operator').selectOption('is');
    await page.getByLabel('Group 1, condition 1 value').fill(project);
    await page.getByLabel('Group 1, condition 2 field').selectOption({ label: 'Feedback type' });
    await page.getByLabel('Group 1, condition 2 operator').selectOption('is');
    await page.getByLabel('Group 1, condition 2 value').fill('bug report');
    await page.getByLabel('Group 1, condition 3 field').selectOption({ label: 'Title' });
    await page.getByLabel('Group 1, condition 3 operator').selectOption('contains');
    await page.getByLabel('Group 1, condition 3 value').fill(tag);
    await page.getByRole('button', { name: 'Save filter' }).click();
  };
  await fill('Nowhere');
  await expect(page.getByText('There is no project "Nowhere".').first()).toBeVisible();
  await fill('Aurora Beta');
  await expect(page.getByText('The filter was created.')).toBeVisible();
  await expect(page.getByText(`project is Aurora Beta and feedback type is Bug Report and title contains "${tag}"`)).toBeVisible();
  await expect(page.getByText('2 matching tickets', { exact: true })).toBeVisible();
  await page.screenshot({ path: testInfo.outputPath('feedback-filter.png'), fullPage: true });

  // One ticket from its page.
  await page.getByRole('link', { name: new RegExp(`Blank screen ${tag}`) }).click();
  await ready(page);
  await page.getByLabel('Macro', { exact: true }).selectOption({ label: `Acknowledge ${tag}` });
  await page.getByRole('button', { name: 'Run macro' }).click();
  await expect(page.getByText('Tick the box to confirm the run.')).toBeVisible();
  await ready(page);
  await page.getByLabel('Macro', { exact: true }).selectOption({ label: `Acknowledge ${tag}` });
  await page.getByLabel('Yes, run it on this ticket').check();
  await page.getByRole('button', { name: 'Run macro' }).click();
  await expect(page.getByRole('status')).toHaveText('The macro ran.');
  await expect(page.getByText(`Thanks ${tag}`, { exact: true })).toBeVisible();
  await expect(page.getByText('Visibility: private')).toBeVisible();

  // Both in bulk, with a progress bar.
  await open(page, '/filters');
  await page.getByRole('link', { name: `Demo bugs ${tag}` }).click();
  await ready(page);
  await page.getByLabel('Macro', { exact: true }).selectOption({ label: `Acknowledge ${tag}` });
  await page.getByLabel('Yes, run it on all 2 tickets').check();
  await page.getByRole('button', { name: 'Perform action' }).click();
  await expect(page.getByRole('progressbar', { name: 'Bulk run progress' })).toBeVisible();
  await expect(page.getByRole('status')).toHaveText('Finished: 2 of 2 tickets done.', { timeout: 20_000 });
  await page.screenshot({ path: testInfo.outputPath('feedback-bulk.png'), fullPage: true });
});
