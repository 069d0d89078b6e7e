import { test, expect } from './fixtures';
import { type Locator, type Page } from '@playwright/test';
import { expectHeading, open, ready, signIn, unique } from './helpers';

// Seed 000 on the dashboard: a new community manager is walked through the set-up of a removal
// that another system asks for, each step ticking once it is done. This spec runs before every
// other one (its own projects in playwright.config.ts), first hydrated on the fresh database,
// where all five steps are to do; then without JavaScript, where it first undoes the API key and
// the listener steps (a disabled key and a deleted listener no longer count) and walks them again.

const STEPS = [
  { title: 'Create an API key', button: 'New API key', lands: /\/api-keys\/new$/, heading: 'New API key' },
  { title: 'Make a macro that removes users', button: 'New user macro', lands: /\/macros\/new$/, heading: 'New user macro' },
  { title: 'Make a user filter', button: 'New user filter', lands: /\/filters\/new$/, heading: 'New user filter' },
  { title: 'Add a listener', button: 'New user listener', lands: /\/listeners\/new\?kind=macro$/, heading: 'New user listener' },
  { title: 'Try the listener', button: 'Open the test panel', lands: /\/listeners\/\d+#test-request$/, heading: null },
] as const;
const [KEY, MACRO, FILTER, LISTENER, TRY] = STEPS;
type Step = (typeof STEPS)[number];

/** Where a done step's link goes. */
const MADE = new Map<Step, RegExp>([
  [KEY, /^\/api-keys\/\d+$/],
  [MACRO, /^\/macros\/\d+$/],
  [FILTER, /^\/filters\/\d+$/],
  [LISTENER, /^\/listeners\/\d+$/],
  [TRY, /^\/listeners\/log\?listener=\d+$/],
]);

const checklist = (page: Page) => page.getByRole('region', { name: 'Get started' });
const stepItem = (page: Page, step: Step) =>
  checklist(page).getByRole('listitem').filter({ has: page.getByRole('heading', { name: step.title, exact: true }) });
const doneLine = (page: Page) => checklist(page).getByText('All set: every step of Get started is done.');

async function isDone(item: Locator) {
  return (await item.getByText('Done', { exact: true }).count()) > 0;
}

/** The name of what a done step made (its link). */
async function madeName(page: Page, step: Step) {
  return (await stepItem(page, step).getByRole('link').textContent())!.trim();
}

/** Follows a to-do step's button and checks where it lands. */
async function follow(page: Page, step: Step) {
  const item = stepItem(page, step);
  await expect(item.getByText('To do', { exact: true })).toBeVisible();
  await item.getByRole('link', { name: step.button }).click();
  await expect(page).toHaveURL(step.lands);
  await ready(page);
  if (step.heading) await expectHeading(page, step.heading);
}

/** Back on the dashboard, the step is ticked and links to what was made. */
async function expectTicked(page: Page, step: Step, name?: string) {
  await open(page, '/');
  const item = stepItem(page, step);
  await expect(item.getByText('Done', { exact: true })).toBeVisible();
  const link = item.getByRole('link');
  if (name) await expect(link).toHaveText(name);
  expect(await link.getAttribute('href')).toMatch(MADE.get(step)!);
}

test('the dashboard walks the set-up of a removal, ticking each step', async ({ page, request }, testInfo) => {
  test.setTimeout(120_000);
  const tag = unique(testInfo, 'first-run');
  await signIn(page);
  await expect(page).toHaveURL(/\/$/);
  await ready(page);

  // Once every step is done the checklist is one line. Undo two steps to walk them again: a
  // disabled key no longer counts, nor does a deleted listener (nor, then, its calls).
  if (await doneLine(page).isVisible()) {
    const listeners = page.getByRole('table', { name: 'Listeners' }).getByRole('link');
    await open(page, '/listeners');
    while ((await listeners.count()) > 0) {
      await listeners.first().click();
      await ready(page);
      await page.getByLabel('Yes, delete this listener').check();
      await page.getByRole('button', { name: 'Delete listener' }).click();
      await expect(page.getByRole('status')).toHaveText('The listener was deleted.');
      await open(page, '/listeners');
    }
    await open(page, '/');
    while (await isDone(stepItem(page, KEY))) {
      await stepItem(page, KEY).getByRole('link').click();
      await ready(page);
      await page.getByRole('button', { name: 'Disable key' }).click();
      await expect(page.getByRole('status')).toHaveText('The API key is disabled.');
      await open(page, '/');
    }
  }

  // Five steps in order, each done (with a link to what it made) or to do (with its button).
  await expect(checklist(page).getByRole('heading', { level: 2 })).toHaveText('Get started');
  await expect(checklist(page).getByRole('heading', { level: 3 })).toHaveText(STEPS.map((s) => s.title));
  for (const step of STEPS) {
    const item = stepItem(page, step);
    if (await isDone(item)) {
      expect(await item.getByRole('link').getAttribute('href')).toMatch(MADE.get(step)!);
    } else if (step !== TRY) {
      await expect(item.getByRole('link', { name: step.button })).toBeVisible();
    }
  }
  // Nothing to try before a listener exists.
  await expect(stepItem(page, TRY).getByText('Once a listener exists')).toBeVisible();
  await expect(stepItem(page, TRY).getByRole('link')).toHaveCount(0);

  // 1. The API key (always walked: its value is shown only to whoever makes it).
  await follow(page, KEY);
  await page.getByLabel('Name', { exact: true }).fill(`Jira ${tag}`);
  await page.getByLabel('Prefix').fill('jira');
  await page.getByRole('button', { name: 'Create API key' }).click();
  const shown = page.getByLabel('New API key');
  await expect(shown).toHaveValue(/^jira_/);
  const apiKey = await shown.inputValue();
  await expectTicked(page, KEY, `Jira ${tag}`);

  // 2. The macro that removes users.
  if (!(await isDone(stepItem(page, MACRO)))) {
    await follow(page, MACRO);
    await page.getByLabel('Name', { exact: true }).fill(`Forget ${tag}`);
    await page.getByLabel('Key').fill(`forget-${tag}`);
    await page.getByLabel('Remove user completely').check();
    await page.getByRole('button', { name: 'Save macro' }).click();
    await expect(page.getByRole('status')).toHaveText('The macro was saved.');
    await expectTicked(page, MACRO, `Forget ${tag}`);
  }

  // 3. The filter that keeps the listener to customers.
  if (!(await isDone(stepItem(page, FILTER)))) {
    await follow(page, FILTER);
    await page.getByLabel('Name', { exact: true }).fill(`Customers ${tag}`);
    await page.getByLabel('Group 1, condition 1 field').selectOption('team');
    await page.getByLabel('Group 1, condition 1 operator').selectOption({ value: 'is' });
    await page.getByLabel('Group 1, condition 1 value').fill('Customers');
    await page.getByRole('button', { name: 'Save filter' }).click();
    await expect(page.getByRole('status').first()).toHaveText('The filter was created.');
    await expectTicked(page, FILTER, `Customers ${tag}`);
  }

  // 4. The listener, tying together what the steps above made.
  const [keyName, macroName, filterName] = [
    await madeName(page, KEY),
    await madeName(page, MACRO),
    await madeName(page, FILTER),
  ];
  await follow(page, LISTENER);
  await page.getByLabel('Name', { exact: true }).fill(`GDPR ${tag}`);
  await page.getByLabel('Key', { exact: true }).fill(`gdpr-${tag}`);
  await page.getByLabel('Filter').selectOption({ label: filterName });
  await page.getByLabel('Macro to run').selectOption({ label: macroName });
  await page.getByLabel('API key', { exact: true }).selectOption({ label: keyName });
  await page.getByRole('button', { name: 'Save listener' }).click();
  await expect(page.getByRole('status')).toHaveText('The listener was saved.');
  await expectTicked(page, LISTENER, `GDPR ${tag}`);

  // 5. Try it: the button opens the listener's test panel; a first real call ticks the step.
  await expect(stepItem(page, TRY).getByText('To do', { exact: true })).toBeVisible();
  await follow(page, TRY);
  await expectHeading(page, `GDPR ${tag}`);
  await expect(page.getByRole('heading', { name: 'Test request' })).toBeVisible();
  await page.getByLabel('Email to find').fill(`nobody-${tag}@example.com`);
  await page.getByRole('button', { name: 'Test', exact: true }).click();
  await expect(page.getByRole('region', { name: 'Test result' })).toContainText('A call would answer 404');
  const call = await request.post(
    `/api/v1/userMacroListeners/gdpr-${tag}?${new URLSearchParams({ find: `nobody-${tag}@example.com`, apiKey })}`,
  );
  expect(call.status(), await call.text()).toBe(404);

  // Every step done: the checklist is one line, which a manager can hide, and show again.
  await open(page, '/');
  await expect(doneLine(page)).toBeVisible();
  await expect(checklist(page).getByRole('listitem')).toHaveCount(0);
  await page.getByRole('button', { name: 'Hide this line' }).click();
  await expect(checklist(page)).toHaveCount(0);
  await ready(page);
  await page.getByRole('button', { name: 'Show the Get started checklist' }).click();
  await expect(doneLine(page)).toBeVisible();
});
