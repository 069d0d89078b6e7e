import { expect, test, type Page, type TestInfo } from '@playwright/test';
import { admin } from '../playwright.config';

export { admin };

/** Opens a page; with JavaScript on, waits until it is hydrated. */
export async function open(page: Page, url: string) {
  await page.goto(url);
  await ready(page);
}

/** After a navigation: with JavaScript on, waits for hydration. */
export async function ready(page: Page) {
  if (test.info().project.use.javaScriptEnabled !== false) {
    await page.locator('body[data-hydrated="true"]').waitFor();
  }
}

export async function signIn(page: Page, email = admin.email, password = admin.password) {
  await open(page, '/login');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** A value unique to this test in this project, so hydrated and no-JS runs never collide. */
export function unique(testInfo: TestInfo, name: string) {
  return `${testInfo.project.name}-${name}`;
}

export async function expectHeading(page: Page, name: string | RegExp) {
  await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
}

/** Follows a link of the main menu: opens its group (a drop-down, or "Menu" on a phone). */
export async function menuLink(page: Page, group: string, link: string) {
  const phoneMenu = page.locator('summary', { hasText: /^Menu$/ });
  if (await phoneMenu.isVisible()) {
    await phoneMenu.click();
  } else {
    await page.getByRole('navigation', { name: 'Main' }).locator('summary', { hasText: group }).click();
  }
  return page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: link, exact: true });
}

/** The listener types, as the type step and the editor name them. */
export type ListenerType = 'Macro Execution' | 'Add Comment' | 'External Data';

/**
 * Opens the editor of a new listener: the type step first (plain links, with or without
 * JavaScript), then the editor of that type.
 */
export async function startListener(page: Page, type: ListenerType, scope: 'user' | 'feedback' = 'user') {
  await open(page, scope === 'feedback' ? '/listeners/new?scope=feedback' : '/listeners/new');
  await page.getByRole('link', { name: new RegExp(`^${type}`) }).click();
  await expect(page).toHaveURL(/[?&]kind=/);
  await ready(page);
  await expect(page.getByRole('button', { name: 'Save listener' })).toBeVisible();
}
