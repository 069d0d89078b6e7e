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

/**
 * Screenshots the page at a desktop width (1280 px) and a phone width (390 px), full page, into
 * the test's output folder (`<name>-1280.png`, `<name>-390.png`), and checks that at the phone
 * width nothing makes the page scroll sideways. The viewport is put back afterwards.
 */
export async function shoot(page: Page, name: string) {
  const before = page.viewportSize();
  for (const width of [1280, 390]) {
    await page.setViewportSize({ width, height: width === 1280 ? 800 : 844 });
    await page.screenshot({ path: test.info().outputPath(`${name}-${width}.png`), fullPage: true });
    if (width === 390) {
      const sideways = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(sideways, `${page.url()} scrolls sideways at 390 px`).toBeLessThanOrEqual(0);
    }
  }
  if (before) await page.setViewportSize(before);
}

/** A recorded request to a `receiver`. */
export type Received = { method: string; url: string; body: string; headers: Record<string, string | string[] | undefined> };

/**
 * A stand-in for a third-party endpoint (Slack, an address checker …) on 127.0.0.1, port chosen
 * by the system: it records every request and answers what `answer` returns for it (200 "ok" by
 * default). Close it when the test ends.
 */
export async function receiver(answer: (r: Received) => { status: number; type: string; body: string } = () => ({ status: 200, type: 'text/plain', body: 'ok' })) {
  const http = await import('http');
  const seen: Received[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const r: Received = { method: req.method ?? '', url: req.url ?? '', body, headers: req.headers };
      seen.push(r);
      const a = answer(r);
      res.writeHead(a.status, { 'content-type': a.type });
      res.end(a.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { seen, url: `http://127.0.0.1:${port}`, close: () => server.close() };
}
