import { defineConfig } from '@playwright/test';
import * as path from 'path';

// Each run starts the built server on its own port with a fresh SQLite database, so the
// suite never depends on what an earlier run left behind.
const root = path.resolve(__dirname, '..');
const port = Number(process.env.E2E_PORT ?? 3100);
const bin = process.env.SWITCHYARD_BIN ?? path.join(root, 'target', 'debug', 'switchyard');
const dataDir = path.join(__dirname, '.data');
const dbFile = path.join(dataDir, `e2e-${process.pid}.db`);

export const admin = { email: 'admin@example.com', password: 'e2e admin password' };

const chromium = {
  browserName: 'chromium' as const,
  launchOptions: {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  },
};

export default defineConfig({
  testDir: './tests',
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
  // Every spec runs twice: hydrated, and with JavaScript disabled (plain HTML forms). The
  // first-run spec runs before all others, hydrated first: it needs the fresh database, where no
  // API key, macro, filter or listener exists yet. The XSS spec runs after every other spec of
  // both projects: it fills the shared database with payloads (a team named
  // `((user.email)) …` would also answer to a label "Email"). The route sweep runs last, over
  // everything the others made, payloads included.
  projects: [
    { name: 'first-run-hydrated', testMatch: /first_run\.spec\.ts/, use: { ...chromium, javaScriptEnabled: true } },
    {
      name: 'first-run-no-js',
      testMatch: /first_run\.spec\.ts/,
      dependencies: ['first-run-hydrated'],
      use: { ...chromium, javaScriptEnabled: false },
    },
    {
      name: 'hydrated',
      testIgnore: /(first_run|xss|routes)\.spec\.ts/,
      dependencies: ['first-run-no-js'],
      use: { ...chromium, javaScriptEnabled: true },
    },
    {
      name: 'no-js',
      testIgnore: /(first_run|xss|routes)\.spec\.ts/,
      dependencies: ['first-run-no-js'],
      use: { ...chromium, javaScriptEnabled: false },
    },
    {
      name: 'xss-hydrated',
      testMatch: /xss\.spec\.ts/,
      dependencies: ['hydrated', 'no-js'],
      use: { ...chromium, javaScriptEnabled: true },
    },
    {
      name: 'xss-no-js',
      testMatch: /xss\.spec\.ts/,
      dependencies: ['hydrated', 'no-js'],
      use: { ...chromium, javaScriptEnabled: false },
    },
    {
      name: 'routes-hydrated',
      testMatch: /routes\.spec\.ts/,
      dependencies: ['xss-hydrated', 'xss-no-js'],
      use: { ...chromium, javaScriptEnabled: true },
    },
    {
      name: 'routes-no-js',
      testMatch: /routes\.spec\.ts/,
      dependencies: ['xss-hydrated', 'xss-no-js'],
      use: { ...chromium, javaScriptEnabled: false },
    },
  ],
  webServer: {
    command: `mkdir -p '${dataDir}' && rm -f '${dataDir}'/e2e-* && '${bin}' demo-data && exec '${bin}' serve`,
    cwd: root,
    url: `http://127.0.0.1:${port}/healthz`,
    reuseExistingServer: false,
    timeout: 120_000,
    stdout: 'pipe',
    stderr: 'pipe',
    env: {
      LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
      LEPTOS_SITE_ROOT: path.join(root, 'target', 'site'),
      SWITCHYARD_DATABASE_URL: `sqlite://${dbFile}?mode=rwc`,
      SWITCHYARD_PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
      SWITCHYARD_ADMIN_EMAIL: admin.email,
      SWITCHYARD_ADMIN_PASSWORD: admin.password,
      // The suite signs in many times from one address.
      SWITCHYARD_LOGIN_MAX_FAILURES: '50',
      // The webhook spec's receiver (a stand-in for Slack) listens on 127.0.0.1.
      SWITCHYARD_OUTGOING_ALLOW_HOSTS: '127.0.0.1',
      // Two failed attempts in a row flag a webhook, so the suite sees the dashboard's alerts.
      SWITCHYARD_OUTGOING_WARN_AFTER_FAILURES: '2',
      SWITCHYARD_SECRETS_KEY_FILE: path.join(dataDir, 'secret.key'),
      RUST_LOG: 'warn',
    },
  },
});
