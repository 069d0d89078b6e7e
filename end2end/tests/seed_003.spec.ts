import { test, expect } from './fixtures';
import { type Page } from '@playwright/test';
import { expectHeading, open, ready, receiver, shoot, signIn, unique } from './helpers';

// Seed 003, step for step in its own order: a user macro's webhook asks another system (an
// address checker) about a user and stores what it answers as external data. From users: user
// resources → Create a macro → name, description, key → Trigger webhooks → the method, the URL,
// headers, JSON or Form, the body with dynamic tags → Capture return values, into a group created
// in place with its fields (label, parameter, type, favourite) → Submit. Then the stored values:
// the favourite on the user's summary, the rest one click away.

async function newUser(page: Page, first: string, email: string) {
  await open(page, '/users/new');
  await page.getByLabel('First name').fill(first);
  await page.getByLabel('Last name').fill('Three');
  await page.getByLabel('Email').fill(email);
  await page.getByRole('button', { name: 'Save user' }).click();
  await expect(page.getByRole('status')).toHaveText('The user was created.');
  await ready(page);
  return page.url();
}

test('seed 003: a webhook whose answer is captured as external data, favourite first', async ({ page }, testInfo) => {
  test.setTimeout(180_000);
  const tag = unique(testInfo, 's3');
  const group = `Address check ${tag}`;
  const checker = await receiver((r) => ({
    status: 200,
    type: 'application/json',
    body: JSON.stringify({ result: { deliverable: !r.body.includes('undeliverable'), zip: '94107', checkedBy: 'local stand-in' } }),
  }));
  try {
    await signIn(page);
    await expect(page).toHaveURL(/\/$/);
    const email = `${tag}@example.com`;
    const userPage = await newUser(page, 'Ada', email);

    await test.step('1-3. Users → user resources → Create a macro', async () => {
      await open(page, '/users');
      await page.getByRole('link', { name: 'User automation' }).click();
      await ready(page);
      await page.getByRole('link', { name: 'Create a macro' }).click();
      await ready(page);
      await expectHeading(page, 'New user macro');
    });

    await test.step('4-5. Name, description, key; Trigger webhooks', async () => {
      await page.getByLabel('Name', { exact: true }).fill(`Check address ${tag}`);
      await page.getByLabel('Description').fill('Asks the address checker and keeps its answer.');
      await page.getByLabel('Key', { exact: true }).fill(`check-address-${tag}`);
      await page.getByLabel('Action 1', { exact: true }).selectOption({ label: 'Add user comment' });
      await page.getByLabel('Action 1 value').fill('Address sent to the checker.');
      await expect(page.getByLabel('Webhook name')).toBeHidden();
      await page.getByLabel('Trigger webhooks').check();
      await expect(page.getByLabel('Webhook name')).toBeVisible();
    });

    await test.step('the web request: method, URL, headers, content type, body with dynamic tags', async () => {
      await page.getByLabel('Webhook name').fill(`Address checker ${tag}`);
      await page.getByLabel('Web request').selectOption('POST');
      await page.getByLabel('URL').fill(`${checker.url}/v1/verify`);
      await page.getByLabel('Headers').fill('Accept: application/json');
      await page.getByLabel('Content type').selectOption({ label: 'JSON' });
      await page.getByLabel('Body').fill('{"email": "((user.email))", "name": "((user.first_name))"}');
      if (testInfo.project.use.javaScriptEnabled !== false) {
        // Hydrated, the tag picker adds a tag where the cursor is.
        await page.getByLabel('Dynamic tag').selectOption('user.last_name');
        await page.getByRole('button', { name: 'Insert tag' }).click();
        await expect(page.getByLabel('Body')).toHaveValue(/\(\(user\.last_name\)\)/);
        await page.getByLabel('Body').fill('{"email": "((user.email))", "name": "((user.first_name))"}');
      }
    });

    await test.step('Capture return values, into a new group with its fields', async () => {
      await page.getByRole('checkbox', { name: /^Capture return values/ }).check();
      await page.getByLabel('Capture return values into', { exact: true }).selectOption({ label: 'Create a new group' });
      await page.getByLabel('New group').fill(group);
      await page.getByLabel('Label of data field 1').fill('Deliverable');
      await page.getByLabel('Parameter of data field 1').fill('result.deliverable');
      await page.getByLabel('Type of data field 1').selectOption('boolean');
      await page.getByLabel('Data field 1 is a favourite').check();
      await page.getByLabel('Label of data field 2').fill('ZIP code');
      await page.getByLabel('Parameter of data field 2').fill('result.zip');
      await shoot(page, 'seed003-macro');
      await page.getByRole('button', { name: 'Save macro' }).click();
      await expect(page.getByRole('status')).toHaveText('The macro was saved.');
      await ready(page);
    });

    await test.step('the macro runs on a user: the answer lands on the user, the favourite first', async () => {
      await page.goto(userPage);
      await ready(page);
      await page.getByLabel('Macro', { exact: true }).selectOption({ label: `Check address ${tag}` });
      const confirm = page.getByLabel('Yes, run it on this user');
      if (await confirm.count()) await confirm.check();
      await page.getByRole('button', { name: 'Run macro' }).click();
      await expect.poll(() => checker.seen.length, { timeout: 20_000 }).toBe(1);
      expect(JSON.parse(checker.seen[0].body)).toEqual({ email, name: 'Ada' });
      await expect(async () => {
        await page.goto(userPage);
        await ready(page);
        await expect(page.getByRole('region', { name: 'External data' })).toContainText(`${group} · Deliverable`, { timeout: 1_000 });
      }).toPass({ timeout: 20_000 });
      // The favourite (starred) field is in the card itself.
      const data = page.getByRole('region', { name: 'External data' });
      await expect(data.locator('dl').first()).toContainText('True');
      await expect(data.locator('dl').first()).not.toContainText('ZIP code');
      // The other field is one click away.
      await expect(page.getByText('94107')).toBeHidden();
      await page.getByText(/^All external data/).click();
      await expect(page.getByText('94107')).toBeVisible();
      await shoot(page, 'seed003-user');
    });
  } finally {
    checker.close();
  }
});
