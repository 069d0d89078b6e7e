import { test, expect } from './fixtures';
import { type Page } from '@playwright/test';
import { admin, expectHeading, open, ready, shoot, signIn, unique, type ListenerType } from './helpers';

// Seed 001, step for step in its own order: external listeners are made from user automation or
// feedback automation — 1. Create an external listener, 2. a name and description, 3. a key that
// shows in the URL, 4-5. an optional filter the target must match; then 1. the listener type,
// 2. that type's fields, 3. the API key, 4-5. the endpoint URL copied, 6. Submit. Each of the
// three types then acts when the URL is called: Macro Execution runs a macro, Add Comment writes
// a comment by the author the body names (on a user: community-level or about a project; on a
// ticket), External Data stores typed values the body carries (on users, tickets, projects).

type Made = { url: string };

/** Steps 1-6 of the seed for one listener; `where` is the automation page it starts from. */
async function createListener(
  page: Page,
  where: () => Promise<void>,
  type: ListenerType,
  name: string,
  apiKey: string,
  fields: () => Promise<void>,
  filter?: string,
): Promise<Made> {
  await where();
  // 1. Create an external listener (the type comes first: plain links).
  await page.getByRole('link', { name: 'Create an external listener' }).click();
  await ready(page);
  await page.getByRole('link', { name: new RegExp(`^${type}`) }).click();
  await ready(page);
  // 2. Name and description; 3. the key.
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Description').fill(`Made by following seed 001 (${type}).`);
  await page.getByLabel('Key', { exact: true }).fill(name.toLowerCase().replace(/[^a-z0-9-]+/g, '-'));
  // 4-5. The filter the target must match.
  if (filter) await page.getByLabel('Filter').selectOption({ label: filter });
  // 2. The type's fields; 3. the API key.
  await fields();
  await page.getByLabel('API key', { exact: true }).selectOption({ label: apiKey });
  // 6. Submit; 4-5. the URL is on the listener's page, ready to copy.
  await page.getByRole('button', { name: 'Save listener' }).click();
  await expect(page.getByRole('status')).toHaveText('The listener was saved.');
  await ready(page);
  return { url: (await page.getByLabel(/URL for a webhook/).inputValue()).split('?')[0] };
}

test('seed 001: the three listener types, from user and feedback automation', async ({ page, request }, testInfo) => {
  test.setTimeout(240_000);
  const tag = unique(testInfo, 's1');
  const tester = `${tag}@example.com`;
  await signIn(page);
  await expect(page).toHaveURL(/\/$/);

  // A tester, a ticket about Aurora Beta, an API key and a macro that awards points.
  await open(page, '/users/new');
  await page.getByLabel('First name').fill('Una');
  await page.getByLabel('Last name').fill('Listener');
  await page.getByLabel('Email').fill(tester);
  await page.getByLabel('Testers').check();
  await page.getByRole('button', { name: 'Save user' }).click();
  await expect(page.getByRole('status')).toHaveText('The user was created.');
  await ready(page);
  const userPage = new URL(page.url()).pathname;
  await open(page, '/api-keys/new');
  await page.getByLabel('Name', { exact: true }).fill(`App ${tag}`);
  await page.getByLabel('Prefix').fill('app');
  await page.getByRole('button', { name: 'Create API key' }).click();
  const key = await page.getByLabel('New API key').inputValue();
  await open(page, '/macros/new');
  await page.getByLabel('Name', { exact: true }).fill(`Award points ${tag}`);
  await page.getByLabel('Key', { exact: true }).fill(`award-${tag}`);
  await page.getByLabel('Action 1', { exact: true }).selectOption('adjust_score');
  await page.getByLabel('Action 1 value').fill('5');
  await page.getByRole('button', { name: 'Save macro' }).click();
  await expect(page.getByRole('status')).toHaveText('The macro was saved.');
  await open(page, '/projects');
  await page.getByRole('link', { name: 'Aurora Beta' }).click();
  await ready(page);
  const projectPage = new URL(page.url()).pathname;
  await page.getByRole('link', { name: 'New Bug Report' }).click();
  await ready(page);
  await page.getByLabel('Title').fill(`Sync fails ${tag}`);
  await page.getByLabel('Submitted by (email)').fill(tester);
  await page.getByLabel('Severity (required)').selectOption('High');
  await page.getByRole('button', { name: 'Submit ticket' }).click();
  await expect(page.getByRole('status')).toHaveText('The ticket was submitted.');
  const ticketId = new URL(page.url()).pathname.split('/').pop()!;

  const userAutomation = async () => {
    await open(page, '/users');
    await page.getByRole('link', { name: 'User automation' }).click();
    await ready(page);
    await expectHeading(page, 'User automation');
  };
  const feedbackAutomation = async () => {
    await open(page, projectPage);
  };
  const call = (url: string, find: string, data: unknown) =>
    request.post(`${new URL(url).pathname}?${new URLSearchParams({ find, apiKey: key })}`, { data });

  await test.step('Macro Execution: the app awards points for a feature used', async () => {
    const l = await createListener(page, userAutomation, 'Macro Execution', `Feature used ${tag}`, `App ${tag}`, async () => {
      await page.getByLabel('Macro to run').selectOption({ label: `Award points ${tag}` });
    });
    await shoot(page, 'seed001-macro-listener');
    expect(l.url).toContain('/api/v1/userMacroListeners/');
    const res = await call(l.url, tester, {});
    expect([200, 202], await res.text()).toContain(res.status());
    await expect(async () => {
      await open(page, userPage);
      await expect(page.getByRole('region', { name: 'Summary' })).toContainText(/Score\s*5(?!\d)/, { timeout: 1_000 });
    }).toPass({ timeout: 20_000 });
  });

  await test.step('Add Comment on users: a milestone, about the project', async () => {
    const l = await createListener(page, userAutomation, 'Add Comment', `Milestones ${tag}`, `App ${tag}`, async () => {
      await page.getByLabel('Author field').fill('author_name');
      await page.getByLabel('Comment field').fill('comment');
      await page.getByLabel('Project', { exact: true }).selectOption({ label: 'Aurora Beta' });
    });
    // The author must be a manager's email, matched exactly by the key the body uses.
    let res = await call(l.url, tester, { author: admin.email, comment: 'wrong key' });
    expect(res.status()).toBe(400);
    res = await call(l.url, tester, { author_name: admin.email, comment: `Reached level 3 ${tag}` });
    expect(res.status(), await res.text()).toBe(200);
    await open(page, userPage);
    const comment = page.getByRole('listitem').filter({ hasText: `Reached level 3 ${tag}` });
    await expect(comment).toContainText('project Aurora Beta');
  });

  await test.step('External Data on users: a new group of typed fields, by label and parameter', async () => {
    const group = `App usage ${tag}`;
    const l = await createListener(page, userAutomation, 'External Data', `Usage ${tag}`, `App ${tag}`, async () => {
      await page.getByLabel('Data group', { exact: true }).selectOption({ label: 'Create a new group' });
      await page.getByLabel('New group').fill(group);
      const rows: [string, string, string][] = [
        ['Beta opted in', 'optedIn', 'boolean'],
        ['Last seen', 'lastSeen', 'datetime'],
        ['Sessions', 'sessions', 'integer'],
      ];
      for (const [i, [label, parameter, type]] of rows.entries()) {
        await page.getByLabel(`Label of data field ${i + 1}`).fill(label);
        await page.getByLabel(`Parameter of data field ${i + 1}`).fill(parameter);
        await page.getByLabel(`Type of data field ${i + 1}`).selectOption(type);
      }
      await page.getByLabel('Data field 3 is a favourite').check();
    });
    const res = await call(l.url, tester, { optedIn: true, lastSeen: '2026-12-01T09:30:00Z', sessions: 12 });
    expect(res.status(), await res.text()).toBe(200);
    await open(page, userPage);
    // The favourite (Sessions) in the card, every value one click away.
    const data = page.getByRole('region', { name: 'External data' });
    await expect(data.locator('dl').first()).toContainText(`${group} · Sessions`);
    await expect(data.locator('dl').first()).toContainText('12');
    await data.getByText(/^All external data/).click();
    await expect(data).toContainText(`${group} · Last seen`);
    await expect(data).toContainText('True');
    await shoot(page, 'seed001-user');
  });

  await test.step('from feedback automation: Add Comment and External Data on tickets and the project', async () => {
    const comments = await createListener(page, feedbackAutomation, 'Add Comment', `Tracker notes ${tag}`, `App ${tag}`, async () => {
      await page.getByLabel('Author field').fill('author_name');
      await page.getByLabel('Comment field').fill('comment');
    });
    expect(comments.url).toContain('/api/v1/feedbackCommentListeners/');
    let res = await call(comments.url, ticketId, { author_name: admin.email, comment: `Fixed in build 7 ${tag}` });
    expect(res.status(), await res.text()).toBe(200);
    // A group stored against projects (made on the External data page), picked by the listener.
    const group = `Release ${tag}`;
    await open(page, '/external-data');
    await page.getByLabel('Name', { exact: true }).fill(group);
    await page.getByLabel('Stored against').selectOption({ label: 'Projects' });
    await page.getByRole('button', { name: 'Create group' }).click();
    await expect(page.getByRole('status')).toHaveText('The data group was created: add its fields.');
    await ready(page);
    await page.getByLabel('Label of data field 1').fill('Current build');
    await page.getByLabel('Parameter of data field 1').fill('build');
    await page.getByLabel('Data field 1 is a favourite').check();
    await page.getByRole('button', { name: 'Save group' }).click();
    await expect(page.getByRole('status')).toHaveText('The data group was saved.');
    const data = await createListener(page, feedbackAutomation, 'External Data', `Release data ${tag}`, `App ${tag}`, async () => {
      await page.getByLabel('Data group', { exact: true }).selectOption({ label: `${group} (on a project)` });
    });
    res = await call(data.url, ticketId, { build: '7.0.1' });
    expect(res.status(), await res.text()).toBe(200);
    await open(page, `/feedback/${ticketId}`);
    await expect(page.getByText(`Fixed in build 7 ${tag}`)).toBeVisible();
    await open(page, projectPage);
    await expect(page.getByRole('region', { name: 'External data' })).toContainText(`${group} · Current build`);
    await expect(page.getByRole('region', { name: 'External data' })).toContainText('7.0.1');
    await shoot(page, 'seed001-project');
  });
});
