import * as fs from 'fs';
import * as path from 'path';
import { test, expect } from './fixtures';
import { type Browser, type Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { signIn } from './helpers';

/**
 * Every route of the router, opened with real ids five times each (hydrated; once without
 * JavaScript), on the database every other spec has filled (this project runs after them, and
 * after the XSS spec's payloads). A page fails on a status other than 200, on a hydration that
 * does not finish, and (through the fixture) on any console error or page error; then each is
 * opened once 390 px wide, where it must not scroll sideways. axe-core checks each page (and
 * the sign-in page) against WCAG 2.1 A and AA: no serious or critical violation.
 *
 * The routes are read from `src/app.rs`, so a new route is swept without touching this file;
 * a route with a parameter needs a page that links to a real one (or a record with id 1).
 */
const LOADS_HYDRATED = 5;

function routes(): string[] {
  const source = fs.readFileSync(path.join(__dirname, '..', '..', 'src', 'app.rs'), 'utf8');
  const found = [...source.matchAll(/<(?:Parent)?Route path=path!\("([^"]*)"\)/g)].map((m) => m[1]);
  return [...new Set(found.map((p) => (p === '' ? '/' : p)))].filter((p) => p !== '/login');
}

function patternOf(route: string): RegExp {
  const body = route.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:id/g, '(\\d+)');
  return new RegExp(`^${body}$`);
}

/** The same-origin links of a page (query included: a new ticket's link names its type). */
async function linksOn(page: Page, url: string): Promise<string[]> {
  const res = await page.goto(url);
  if (!res || res.status() !== 200) return [];
  const hrefs = await page.locator('a[href^="/"]').evaluateAll((els) =>
    els.map((e) => (e as HTMLAnchorElement).getAttribute('href') ?? ''),
  );
  return hrefs.map((h) => h.split('#')[0]);
}

const pathOf = (href: string) => href.split('?')[0];

/** One concrete path per route: static routes as they are, parameters from real links. */
async function concrete(page: Page, all: string[]): Promise<Map<string, string>> {
  const chosen = new Map<string, string>();
  for (const r of all) if (!r.includes(':')) chosen.set(r, r);
  const seen = new Set<string>();
  let frontier = [...chosen.values()];
  while (frontier.length > 0 && all.some((r) => !chosen.has(r))) {
    const next: string[] = [];
    for (const url of frontier) {
      if (seen.has(url)) continue;
      seen.add(url);
      for (const link of await linksOn(page, url)) {
        for (const r of all) {
          if (!chosen.has(r) && patternOf(r).test(pathOf(link))) {
            chosen.set(r, link);
            next.push(link);
          }
        }
      }
    }
    frontier = next;
  }
  // Records no page links to (a bulk run, an import report): the first one made.
  for (const r of all) {
    if (!chosen.has(r)) chosen.set(r, r.replace(/:id/g, '1'));
  }
  // Routes under one parameter share its id (a user's edit page with the user's page).
  for (const r of all) {
    const parent = all.find((p) => p !== r && p.includes(':') && r.startsWith(`${p}/`));
    if (parent && chosen.get(r) === r.replace(/:id/g, '1')) {
      const id = pathOf(chosen.get(parent)!).match(patternOf(parent))![1];
      chosen.set(r, r.replace(':id', id));
    }
  }
  return chosen;
}

/**
 * Where axe-core looks at a page. axe is a script, and a page without JavaScript runs none (not
 * even injected ones), so without JavaScript it checks the same page in a second context, with
 * the manager's session, where the app's own scripts are blocked: the page stays exactly as the
 * server rendered it, as a browser without JavaScript shows it.
 */
async function axeViewer(page: Page, browser: Browser, hydrated: boolean) {
  if (hydrated) return { check: (_url: string) => accessibilityProblems(page), close: async () => {} };
  const context = await browser.newContext({ javaScriptEnabled: true });
  await context.route(/\/pkg\/.*\.(js|wasm)(\?.*)?$/, (route) => route.abort());
  const viewer = await context.newPage();
  const origin = new URL(page.url()).origin;
  return {
    check: async (url: string) => {
      await context.addCookies(await page.context().cookies());
      await viewer.goto(new URL(url, origin).toString());
      return accessibilityProblems(viewer);
    },
    close: () => context.close(),
  };
}

/** The serious and critical WCAG 2.1 A/AA violations axe-core finds on the page, in words. */
async function accessibilityProblems(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'])
    .analyze();
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join('; ')})`);
}

test('every route opens, hydrates and logs no error, five times each', async ({ page, browser }, testInfo) => {
  test.setTimeout(600_000);
  const hydrated = testInfo.project.use.javaScriptEnabled !== false;
  await page.goto('/login');
  const axe = await axeViewer(page, browser, hydrated);
  expect.soft(await axe.check('/login'), '/login has no serious accessibility problem').toEqual([]);
  await signIn(page);
  await expect(page).toHaveURL(/\/$/);
  const all = routes();
  expect(all.length, 'the router has its routes').toBeGreaterThan(30);
  const urls = await concrete(page, all);
  for (const route of all) {
    const url = urls.get(route)!;
    for (let n = 0; n < (hydrated ? LOADS_HYDRATED : 1); n++) {
      const res = await page.goto(url);
      expect(res?.status(), `${route} as ${url}`).toBe(200);
      if (hydrated) {
        await expect(page.locator('body[data-hydrated="true"]'), `${url} hydrates (load ${n + 1})`).toHaveCount(1);
      }
      await expect(page.getByRole('heading', { level: 1 }).first(), `${url} shows its page`).toBeVisible();
    }
    expect.soft(await axe.check(url), `${url} has no serious accessibility problem`).toEqual([]);
  }
  await axe.close();
  // On a phone (390 px wide) no page scrolls sideways: wide tables scroll inside their box.
  await page.setViewportSize({ width: 390, height: 844 });
  for (const route of all) {
    const url = urls.get(route)!;
    await page.goto(url);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect.soft(overflow, `${url} is no wider than the phone`).toBeLessThanOrEqual(0);
  }
});
