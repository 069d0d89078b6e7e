import { test, expect } from './fixtures';
import { type Page } from '@playwright/test';
import { expectHeading, open, ready, signIn, unique } from './helpers';

/** A user filter "email contains `text`", so the macros below only ever act on this test's users. */
async function emailFilter(page: Page, name: string, text: string) {
  await open(page, '/filters/new');
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Group 1, condition 1 field').selectOption('email');
  await page.getByLabel('Group 1, condition 1 operator').selectOption({ value: 'contains' });
  await page.getByLabel('Group 1, condition 1 value').fill(text);
  await page.getByRole('button', { name: 'Save filter' }).click();
  await expect(page.getByRole('status').first()).toHaveText('The filter was created.');
  await ready(page);
}

/** A user macro that adds `comment`, automated by `automate` (ticks and selects in the editor). */
async function automatedMacro(page: Page, name: string, comment: string, automate: () => Promise<void>) {
  await open(page, '/macros/new');
  await expectHeading(page, 'New user macro');
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Key', { exact: true }).fill(name.toLowerCase().replace(/[^a-z0-9-]+/g, '-'));
  await page.getByLabel('Action 1', { exact: true }).selectOption('add_comment');
  await page.getByLabel('Action 1 value').fill(comment);
  await automate();
  await page.getByRole('button', { name: 'Save macro' }).click();
  await expect(page.getByRole('status')).toHaveText('The macro was saved.');
  await ready(page);
}

/** Reloads the user's page until `text` shows (automated runs finish in the background). */
async function eventually(page: Page, text: string) {
  await expect(async () => {
    await page.reload();
    await expect(page.getByText(text, { exact: true })).toBeVisible({ timeout: 1_000 });
  }).toPass({ timeout: 20_000 });
  await ready(page);
}

// Seed 003's "message on new user registration": a user macro runs by itself when a user is
// created, and when a user joins a chosen team, guarded by a user filter.
test('user macros run when a user is created and when they join a team', async ({ page }, testInfo) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/$/);
  const tag = unique(testInfo, 'ua');
  const filter = `Emails with ${tag}`;
  await emailFilter(page, filter, tag);

  await automatedMacro(page, `Welcome ${tag}`, 'Welcome, ((user.first_name))!', async () => {
    await page.getByLabel('When a user is created').check();
    await page.getByLabel('Only on users passing').selectOption({ label: filter });
  });
  await automatedMacro(page, `Tester ${tag}`, 'Now testing.', async () => {
    await page.getByLabel('When a user joins a team').check();
    await page.getByLabel('Joining or leaving').selectOption({ label: 'Testers' });
    await page.getByLabel('Only on users passing').selectOption({ label: filter });
  });
  // The list says when each runs.
  await expect(page.getByRole('row', { name: new RegExp(`Welcome ${tag}`) }))
    .toContainText(`When a user is created, if they pass ${filter}`);
  await expect(page.getByRole('row', { name: new RegExp(`Tester ${tag}`) }))
    .toContainText(`When a user joins Testers, if they pass ${filter}`);
  await page.screenshot({ path: testInfo.outputPath('macros-list.png'), fullPage: true });

  // The macro's page says it too, and the editor shows what was ticked.
  await page.getByRole('link', { name: `Tester ${tag}` }).click();
  await ready(page);
  await expect(page.getByTestId('user-automation')).toHaveText(`Runs by itself: When a user joins Testers, if they pass ${filter}.`);
  await expect(page.getByLabel('When a user joins a team')).toBeChecked();
  await expect(page.getByLabel('When a user is created')).not.toBeChecked();
  await expect(page.getByLabel('Joining or leaving')).toHaveValue(/\d+/);
  await page.screenshot({ path: testInfo.outputPath('macro-editor-1280.png'), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.getByRole('group', { name: 'Automation' }).screenshot({ path: testInfo.outputPath('macro-automation-390.png') });
  await page.setViewportSize({ width: 1280, height: 800 });

  // A new user in Customers: the welcome comment appears on their page, run by automation.
  await open(page, '/users/new');
  await page.getByLabel('First name').fill('Grace');
  await page.getByLabel('Last name').fill('Hopper');
  await page.getByLabel('Email').fill(`${tag}@example.com`);
  await page.getByLabel('Customers').check();
  await page.getByRole('button', { name: 'Save user' }).click();
  await expect(page.getByRole('status')).toHaveText('The user was created.');
  await expectHeading(page, 'Grace Hopper');
  await eventually(page, 'Welcome, Grace!');
  const runs = page.getByRole('table', { name: 'Macro runs' });
  await expect(runs.getByRole('row', { name: new RegExp(`Welcome ${tag}`) })).toContainText('automation');
  await expect(page.getByText('Now testing.', { exact: true })).toBeHidden();
  await page.screenshot({ path: testInfo.outputPath('user-welcomed.png'), fullPage: true });

  // She joins Testers in the user editor: the team's macro runs.
  await page.getByRole('link', { name: 'Edit user' }).click();
  await ready(page);
  await page.getByLabel('Testers').check();
  await page.getByRole('button', { name: 'Save user' }).click();
  await expect(page.getByRole('status')).toHaveText('The user was saved.');
  await eventually(page, 'Now testing.');
  await expect(runs.getByRole('row', { name: new RegExp(`Tester ${tag}`) })).toContainText('automation');
});
