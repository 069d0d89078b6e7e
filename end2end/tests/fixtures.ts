import { test as base, expect } from '@playwright/test';

export { expect };

/**
 * Every spec's `test`: besides what the spec checks, a page that logs an error in the
 * console, throws, or trips the Content-Security-Policy fails the test. The app runs with its
 * CSP on (a nonce per response for the hydration script, no inline script), so a violation
 * means something the policy blocks was about to run or load.
 *
 * Not counted: the browser's own line for an answer with a 4xx status (a form whose server
 * function refused the input answers 400 and shows the error on the page; a spec that opens
 * a missing page expects the 404).
 */
export const test = base.extend<{ pageProblems: string[] }>({
  pageProblems: [
    async ({ page }, use) => {
      const problems: string[] = [];
      page.on('console', (msg) => {
        if (msg.type() !== 'error') return;
        const text = msg.text();
        if (/^Failed to load resource: the server responded with a status of 4\d\d/.test(text)) {
          return;
        }
        problems.push(`console error on ${page.url()}: ${text}`);
      });
      page.on('pageerror', (e) => problems.push(`page error on ${page.url()}: ${e.message}`));
      await page.addInitScript(() => {
        document.addEventListener('securitypolicyviolation', (e) => {
          console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`);
        });
      });
      await use(problems);
      expect(problems, 'no console errors, page errors or CSP violations').toEqual([]);
    },
    { auto: true },
  ],
});
