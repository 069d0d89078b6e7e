import { test, expect } from './fixtures';
import { type Page } from '@playwright/test';
import { admin, expectHeading, menuLink, open, ready, receiver, shoot, signIn, unique } from './helpers';

// Seed 002, step for step in its own order: vetted feedback is escalated to a chat workspace
// (Slack) by a feedback macro that triggers a webhook. 1. the chat side gives an incoming-webhook
// URL (here a local stand-in); 2. an API key exists; 3. from the project's home, the feedback
// type, a new macro with Trigger webhooks: POST, the URL, an authorization header, JSON, a body
// with dynamic tags; 4. the macro used in bulk: the type's tickets, narrowed, Action → the
// macro → perform; then the troubleshooting: the macro's webhook log.

async function submitBug(page: Page, title: string) {
  await open(page, '/projects');
  await page.getByRole('link', { name: 'Aurora Beta' }).click();
  await ready(page);
  await page.getByRole('link', { name: 'New Bug Report' }).click();
  await ready(page);
  await page.getByLabel('Title').fill(title);
  await page.getByLabel('Submitted by (email)').fill(admin.email);
  await page.getByLabel('Severity (required)').selectOption('High');
  await page.getByRole('button', { name: 'Submit ticket' }).click();
  await expect(page.getByRole('status')).toHaveText('The ticket was submitted.');
}

test('seed 002: bug reports escalated to a chat workspace by a webhook macro, run in bulk', async ({ page }, testInfo) => {
  test.setTimeout(180_000);
  const tag = unique(testInfo, 's2');
  const slack = await receiver();
  try {
    await signIn(page);
    await expect(page).toHaveURL(/\/$/);
    const hookUrl = `${slack.url}/services/T0/B0/${tag}`;
    await submitBug(page, `Crash on launch ${tag}`);
    await submitBug(page, `Typo in settings ${tag}`);

    await test.step('1. The chat workspace accepts incoming webhooks (its URL, copied)', async () => {
      // The local stand-in is the workspace: its URL is what the manager pastes below.
      expect(hookUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
    });

    await test.step('2. An API key exists', async () => {
      await open(page, '/api-keys/new');
      await page.getByLabel('Name', { exact: true }).fill(`Chat ${tag}`);
      await page.getByLabel('Prefix').fill('chat');
      await page.getByRole('button', { name: 'Create API key' }).click();
      await expect(page.getByLabel('New API key')).toHaveValue(/^chat_/);
    });

    await test.step('3. From the project home, the feedback type, a macro that triggers a webhook', async () => {
      await open(page, '/');
      await (await menuLink(page, 'Feedback', 'Projects')).click();
      await ready(page);
      await page.getByRole('link', { name: 'Aurora Beta' }).click();
      await ready(page);
      // The feedback type's automation, then "Create a macro".
      await page.getByRole('link', { name: 'Automation of Bug Report' }).click();
      await ready(page);
      await page.getByRole('link', { name: 'Create a macro' }).click();
      await ready(page);
      await expectHeading(page, 'New feedback macro');
      await page.getByLabel('Name', { exact: true }).fill(`Escalate ${tag}`);
      await page.getByLabel('Key', { exact: true }).fill(`escalate-${tag}`);
      await page.getByLabel('Action 1', { exact: true }).selectOption({ label: 'Add comment' });
      await page.getByLabel('Action 1 value').fill('Escalated to the chat workspace.');
      await page.getByLabel('Suppress confirmation').check();
      // 4. Trigger webhooks, then the web request.
      await page.getByLabel('Trigger webhooks').check();
      await page.getByLabel('Webhook name').fill(`Chat ${tag}`);
      await page.getByLabel('Web request').selectOption('POST');
      await page.getByLabel('URL').fill(hookUrl);
      await page.getByLabel('Headers').fill('Authorization: 2nt6cs2EyDmZ5fhNNV6cvAIP');
      await page.getByLabel('Content type').selectOption({ label: 'JSON' });
      await page.getByLabel('Body').fill('{"text": "Escalated: ((feedback.title)) [((feedback.status))]"}');
      await shoot(page, 'seed002-3-macro');
      await page.getByRole('button', { name: 'Save macro' }).click();
      await expect(page.getByRole('status')).toHaveText('The macro was saved.');
      await ready(page);
      await expect(page.getByRole('row', { name: new RegExp(`Escalate ${tag}`) })).toContainText(`Chat ${tag}`);
    });

    await test.step('4. Bulk manual trigger: the type\'s tickets, narrowed, Action → Perform', async () => {
      await open(page, '/projects');
      await page.getByRole('link', { name: 'Aurora Beta' }).click();
      await ready(page);
      // The feedback type's tickets (its count on the project's page).
      await page.getByRole('row', { name: /Bug Report/ }).getByRole('link').first().click();
      await ready(page);
      await page.getByLabel('Title contains').fill(`Crash on launch ${tag}`);
      await page.getByRole('button', { name: 'Show' }).click();
      await ready(page);
      await page.getByLabel('Run the macro').selectOption({ label: `Escalate ${tag}` });
      await page.getByLabel(/^on every matching ticket/).check();
      await page.getByLabel('Yes, run it').check();
      await shoot(page, 'seed002-4-actions');
      await page.getByRole('button', { name: 'Run', exact: true }).click();
      await expect(page).toHaveURL(/\/bulk-runs\/\d+$/);
      await expect(page.getByRole('status')).toHaveText('Finished: 1 of 1 tickets done.', { timeout: 20_000 });
      await expect.poll(() => slack.seen.length, { timeout: 20_000 }).toBe(1);
      const sent = slack.seen[0];
      expect(sent.method).toBe('POST');
      expect(sent.headers['authorization']).toBe('2nt6cs2EyDmZ5fhNNV6cvAIP');
      expect(sent.headers['content-type']).toContain('application/json');
      expect(JSON.parse(sent.body).text).toBe(`Escalated: Crash on launch ${tag} [New]`);
    });

    await test.step('troubleshooting: the macro\'s webhook log', async () => {
      await open(page, '/');
      await (await menuLink(page, 'Logs', 'Webhook log')).click();
      await ready(page);
      await page.getByLabel('Macro', { exact: true }).selectOption({ label: `Escalate ${tag}` });
      await page.getByRole('button', { name: 'Apply filters' }).click();
      await ready(page);
      const row = page.getByRole('row', { name: new RegExp(`Chat ${tag}`) });
      await expect(row).toHaveCount(1);
      await expect(row).toContainText('200');
      await shoot(page, 'seed002-5-webhook-log');
    });
  } finally {
    slack.close();
  }
});
