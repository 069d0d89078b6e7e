import { test, expect } from './fixtures';
import { type Page } from '@playwright/test';
import { expectHeading, open, ready, signIn, unique } from './helpers';

/** Adds a feedback type on the project page; comes back to the project page. */
async function addType(page: Page, project: string, name: string) {
  await page.getByLabel('Type name').fill(name);
  await page.getByRole('button', { name: 'Add feedback type' }).click();
  await expectHeading(page, `Feedback type ${name}`);
  await ready(page);
  await page.getByRole('navigation', { name: 'Breadcrumb' }).getByRole('link', { name: project }).click();
  await expectHeading(page, project);
  await ready(page);
}

// Seeds 001 and 003: feedback automation lives on the project and on each feedback type. From
// the project page, a macro is created for one feedback type; it shows there, on the project,
// and in the community-wide list with its place, and not on the other type. User automation
// is one click from the users list.
test('a macro created from a project page is placed on a feedback type and listed where it runs', async ({ page }, testInfo) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/$/);
  const tag = unique(testInfo, 'pl');
  const project = `Lumen ${tag}`;

  await open(page, '/projects');
  await page.getByLabel('Name', { exact: true }).fill(project);
  await page.getByLabel('Key').fill(`l-${tag}`);
  await page.getByRole('button', { name: 'Create project' }).click();
  await expect(page.getByRole('status')).toHaveText('The project was saved.');
  await ready(page);
  await addType(page, project, 'Bug Report');
  await addType(page, project, 'Idea');

  // The project's feedback automation: empty yet, with its three create buttons.
  const automation = page.getByRole('region', { name: 'Feedback automation' });
  await expect(automation).toContainText('No macro is placed here yet');
  await expect(automation.getByRole('link', { name: 'Create an external listener' })).toBeVisible();
  await expect(automation.getByRole('link', { name: 'Create an external source' })).toBeVisible();
  await automation.getByRole('link', { name: 'Create a macro' }).click();
  await expectHeading(page, 'New feedback macro');
  await ready(page);
  const where = page.getByLabel('Where', { exact: true });
  await expect(where.locator('option:checked')).toHaveText(project);
  await where.selectOption({ label: `${project} › Bug Report` });
  await page.getByLabel('Name', { exact: true }).fill(`Thank reporters ${tag}`);
  await page.getByLabel('Key', { exact: true }).fill(`thank-${tag}`);
  await page.getByLabel('Action 1', { exact: true }).selectOption({ label: 'Add comment' });
  await page.getByLabel('Action 1 value').fill('Thanks for the report.');
  await page.getByLabel('Run when a ticket is submitted').check();
  await page.getByRole('button', { name: 'Save macro' }).click();
  await expect(page.getByRole('status')).toHaveText('The macro was saved.');

  // The community-wide list says where it runs.
  const row = page.getByRole('table', { name: 'Feedback macros' }).getByRole('row', { name: new RegExp(`Thank reporters ${tag}`) });
  await expect(row).toContainText(`${project} › Bug Report`);
  await expect(row).toContainText('On submitted tickets');

  // The project lists it; the Bug Report type's page too, the Idea's not.
  await open(page, '/projects');
  await page.getByRole('link', { name: project }).click();
  await ready(page);
  await expect(automation.getByRole('row', { name: new RegExp(`Thank reporters ${tag}`) })).toContainText('Bug Report');
  await page.getByRole('link', { name: 'Automation of Bug Report' }).click();
  await expectHeading(page, 'Feedback type Bug Report');
  await ready(page);
  const macroRow = automation.getByRole('row', { name: new RegExp(`Thank reporters ${tag}`) });
  await expect(macroRow).toContainText('On submitted tickets');
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.screenshot({ path: testInfo.outputPath('type-automation-1280.png'), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: testInfo.outputPath('type-automation-390.png'), fullPage: true });
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  await page.setViewportSize({ width: 1280, height: 900 });

  // A listener created from the type's page starts placed on the type.
  await automation.getByRole('link', { name: 'Create an external listener' }).click();
  await page.getByRole('link', { name: /^Add Comment/ }).click();
  await expect(page).toHaveURL(/[?&]kind=comment/);
  await ready(page);
  await expect(page.getByLabel('Where', { exact: true }).locator('option:checked')).toHaveText(`${project} › Bug Report`);

  await open(page, '/projects');
  await page.getByRole('link', { name: project }).click();
  await ready(page);
  await page.getByRole('link', { name: 'Automation of Idea' }).click();
  await expectHeading(page, 'Feedback type Idea');
  await ready(page);
  await expect(automation).toContainText('No macro is placed here yet');
  await expect(automation.getByRole('row', { name: new RegExp(`Thank reporters ${tag}`) })).toHaveCount(0);

  // User automation, from the users list.
  await open(page, '/users');
  await page.getByRole('link', { name: 'User automation' }).first().click();
  await expectHeading(page, 'User automation');
  await expect(page.getByRole('link', { name: 'Create an external listener' })).toHaveAttribute('href', '/listeners/new?scope=user');
  await page.screenshot({ path: testInfo.outputPath('user-automation-1280.png'), fullPage: true });
});
