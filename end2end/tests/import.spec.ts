import { test, expect } from './fixtures';
import { expectHeading, open, signIn, unique } from './helpers';

test('a CSV import with one bad row reports that row and imports the rest', async ({ page }, testInfo) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/$/);
  const good1 = `${unique(testInfo, 'import-grace')}@example.com`;
  const good2 = `${unique(testInfo, 'import-linus')}@example.com`;
  const csv = [
    'email,first_name,last_name,teams',
    `${good1},Grace,Hopper,Customers`,
    'not-an-email,Bad,Row,',
    `${good2},Linus,Torvalds,Testers`,
  ].join('\n');
  await open(page, '/users');
  await page.getByRole('link', { name: 'Import CSV' }).click();
  await expectHeading(page, 'Import users from CSV');
  await page.getByLabel('CSV file').setInputFiles({ name: 'people.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
  await page.getByRole('button', { name: 'Import' }).click();

  await expectHeading(page, 'Import report');
  await expect(page.getByRole('status')).toContainText('2 of 3 rows imported, 1 rejected');
  const rejected = page.getByRole('table', { name: 'Rejected rows' });
  await expect(rejected.getByRole('row')).toHaveCount(2);
  await expect(rejected).toContainText('3');
  await expect(rejected).toContainText('not-an-email');
  await expect(rejected).toContainText('email: must look like name@example.com');

  // Only this test's two people (other specs add users too).
  await open(page, `/users?q=${encodeURIComponent(unique(testInfo, 'import-'))}`);
  await expect(page.getByRole('link', { name: 'Grace Hopper' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Linus Torvalds' })).toBeVisible();
  await expect(page.getByText('2 in all')).toBeVisible();
});
