import { test, expect, type APIResponse, type Page } from '@playwright/test';
import * as http from 'http';
import type { AddressInfo } from 'net';
import { admin, expectHeading, open, ready, signIn, startListener, type ListenerType } from './helpers';

// Stored script injection, everywhere a manager or a third party can put text.
//
// Every payload, if it ever ran, leaves a trace: it calls `window.__xss(N)` (recorded by an
// init script and reported to the test), opens a dialog (alert/confirm/prompt, N in the
// message), or sets `window.name` / `document.title`. The payloads are spread over the
// fields (least used first, so each is used at least once and each field gets several),
// entered through the admin forms, the listener API and external sources, a CSV import and
// the answers of a local webhook receiver; then every screen that shows them is opened and
// checked: no trace, no dialog, the document title as expected, the payloads shown as
// literal text (form fields holding them as typed), the page hydrating without error, and,
// in the HTML the server sent (which is all a browser without JavaScript gets), no payload
// unescaped: no `<script>…` of ours, no event-handler attribute, no `javascript:` address,
// no element a payload would bring in, and a `<title>` holding only escaped text.

// The app's Content-Security-Policy (scripts only from the site and the page's nonce) would
// stop most injected scripts from running, and hide an injection from the traces. This spec
// checks that nothing is injected in the first place: here the browser ignores the policy, so
// an injected payload runs and leaves its trace; that every page sends its policy is checked
// on the side.
test.use({ bypassCSP: true });

// ---------------------------------------------------------------------------------------
// Payloads

/** The payloads; the one at index i is number i + 1 (its trace carries that number). */
const PAYLOAD_TEXTS: string[] = [
  `<script>__xss(1)</script>`,
  `</title><script>__xss(2)</script>`,
  `</textarea><script>__xss(3)</script>`,
  `<img src=x onerror=__xss(4)>`,
  `<svg onload=__xss(5)>`,
  `<svg/onload=alert(6)>`,
  `"><script>__xss(7)</script>`,
  `'><script>__xss(8)</script>`,
  `'-__xss(9)-'`,
  `";__xss(10);//`,
  `{{constructor.constructor('__xss(11)')()}}`,
  '${__xss(12)}',
  `((user.email))`,
  `<math><mtext><table><mglyph><style><img src=x onerror=__xss(14)>`,
  `<math href="javascript:__xss(15)">m15</math>`,
  `<a href="javascript:__xss(16)">a16</a>`,
  `javascript:__xss(17)//`,
  `<iframe src="javascript:__xss(18)"></iframe>`,
  `<iframe srcdoc="<script>parent.__xss(19)</script>"></iframe>`,
  `<body onload=__xss(20)>`,
  `<details open ontoggle=__xss(21)>`,
  `<input autofocus onfocus=__xss(22)>`,
  `<video><source onerror=__xss(23)></video>`,
  `<audio src=x onerror=__xss(24)>`,
  `<object data="javascript:__xss(25)"></object>`,
  `<embed src="javascript:__xss(26)">`,
  `</style><script>__xss(27)</script>`,
  `<marquee onstart=__xss(28)>m28</marquee>`,
  `<select autofocus onfocus=__xss(29)>`,
  `<textarea autofocus onfocus=__xss(30)>`,
  `<keygen autofocus onfocus=__xss(31)>`,
  `<div style="background:url(javascript:__xss(32))">d32</div>`,
  `<scr<script>ipt>__xss(33)</scr</script>ipt>`,
  `<SCRIPT SRC=data:text/javascript,__xss(34)></SCRIPT>`,
  `<script>alert(35)</script>`,
  `<img src=x onerror=alert(36)>`,
  `<svg><script>__xss(37)</script></svg>`,
  `<svg><animate onbegin=__xss(38) attributeName=x dur=1s>`,
  `<svg><a xlink:href="javascript:__xss(39)"><text y=20>s39</text></a></svg>`,
  `</script><script>__xss(40)</script>`,
  `--><script>__xss(41)</script><!--`,
  `<![CDATA[<script>__xss(42)</script>]]>`,
  `<noscript><p title="</noscript><img src=x onerror=__xss(43)>">`,
  `<form><button formaction=javascript:__xss(44)>b44</button></form>`,
  `<base href="javascript:__xss(45)//">`,
  `<meta http-equiv="refresh" content="0;url=javascript:__xss(46)">`,
  `<link rel=stylesheet href="javascript:__xss(47)">`,
  `<img """><script>__xss(48)</script>">`,
  `\\u003cscript\\u003e__xss(49)\\u003c/script\\u003e`,
  `&lt;script&gt;__xss(50)&lt;/script&gt;`,
  `<img src=x onerror="window.name='xss51'">`,
  `<svg onload="document.title='xss52'">`,
  `"onmouseover="__xss(53)`,
  `' onfocus='__xss(54)' autofocus='`,
  `<a href=javascript&colon;__xss(55)>a55</a>`,
  `<img src=x onerror=eval(atob('X194c3MoNTYp'))>`,
  `<x contenteditable onfocus=__xss(57) autofocus>x57`,
  `<isindex action=javascript:__xss(58) type=submit>`,
  `<table background="javascript:__xss(59)">`,
  `<img src=x onerror=confirm(60)>`,
  `<img src=x onerror=prompt(61)>`,
  `</pre><script>__xss(62)</script>`,
  `</text><svg onload=__xss(63)>`,
  `</option><script>__xss(64)</script>`,
  `</dd><img src=x onerror=__xss(65)>`,
  `<!--><script>__xss(66)</script>-->`,
  `((feedback.title)) {{7*7}} #{7*7} <%= 7*7 %>`,
  `<a href="&#106;avascript:__xss(68)">a68</a>`,
  `<svg><style><img src=x onerror=__xss(69)></style></svg>`,
  `<iframe src="data:text/html,<script>parent.__xss(70)</script>"></iframe>`,
  `<svg/onload=__xss(71)>`,
  `"/><svg/onload=__xss(72)>`,
  `</textarea><img src=x onerror=__xss(73)>`,
  `</TEXTAREA ><img src=x onerror=__xss(74)>`,
  `</textarea><img/src/onerror=__xss(75)>`,
];

type Payload = { n: number; text: string };
const PAYLOADS: Payload[] = PAYLOAD_TEXTS.map((text, i) => ({ n: i + 1, text }));
// 56 carries its number base64-encoded; 13 and 67 are template syntax that must stay literal.
for (const p of PAYLOADS) {
  const numbers = [...p.text.matchAll(/(?:__xss|alert|confirm|prompt)\((\d+)\)|xss(\d+)'/g)].map((m) => Number(m[1] ?? m[2]));
  if (![13, 56, 67].includes(p.n) && !numbers.every((k) => k === p.n)) throw new Error(`payload ${p.n} carries another number: ${p.text}`);
}

const noSpace = (p: Payload) => !/\s/.test(p.text);
/** Dynamic-tag syntax: kept out of the texts where the product fills in ((tags)). */
const tagFree = (p: Payload) => !p.text.includes('((');
const withAngle = (p: Payload) => p.text.includes('<');
/** Ends a <textarea>: for the texts the app puts inside one (a text area holds raw text up
 *  to the first `</textarea>`, so that text must be escaped there as anywhere). */
const endsTextarea = (p: Payload) => /<\/textarea/i.test(p.text);

/** Hands out payloads, least used first, and remembers where each went. */
class PayloadPool {
  readonly uses = new Map<number, string[]>(PAYLOADS.map((p) => [p.n, []]));

  tryTake(field: string, ok: (p: Payload) => boolean = () => true): Payload | undefined {
    const candidates = PAYLOADS.filter(ok);
    candidates.sort((a, b) => this.uses.get(a.n)!.length - this.uses.get(b.n)!.length || a.n - b.n);
    const p = candidates[0];
    if (p) this.uses.get(p.n)!.push(field);
    return p;
  }

  /** One payload for `field`. */
  one(field: string, ok?: (p: Payload) => boolean) {
    const p = this.tryTake(field, ok);
    if (!p) throw new Error(`no payload fits ${field}`);
    return p.text;
  }

  /** Up to `count` payloads for `field`, joined by spaces, `max` characters at most. */
  several(field: string, count: number, max = Infinity, ok: (p: Payload) => boolean = () => true) {
    const parts: string[] = [];
    for (let i = 0; i < count; i++) {
      const room = max - (parts.length ? parts.join(' ').length + 1 : 0);
      const p = this.tryTake(field, (q) => ok(q) && q.text.length <= room);
      if (!p) break;
      parts.push(p.text);
    }
    if (parts.length === 0) throw new Error(`no payload fits ${field}`);
    return parts.join(' ');
  }

  unused() {
    return [...this.uses].filter(([, fields]) => fields.length === 0).map(([n]) => n);
  }

  /** How many payloads each field got. */
  perField() {
    const counts = new Map<string, number>();
    for (const fields of this.uses.values()) for (const f of fields) counts.set(f, (counts.get(f) ?? 0) + 1);
    return counts;
  }
}

// ---------------------------------------------------------------------------------------
// What a page must (not) contain

type Analysis = { problems: string[]; title: string };

/**
 * Runs in a browser. Parses `html` (the server's HTML, with DOMParser: nothing runs, nothing
 * loads) or, for null, looks at the live document, and lists what a payload would have
 * brought in: elements, event handlers, `javascript:` addresses, scripts of ours; and which
 * expected texts and form values are not there as literal text.
 */
function analyse({ html, texts, values }: { html: string | null; texts: string[]; values: [string, string][] }): Analysis {
  const doc = html === null ? document : new DOMParser().parseFromString(html, 'text/html');
  const problems: string[] = [];
  const show = (el: Element) => el.outerHTML.replace(/\s+/g, ' ').slice(0, 200);
  // Elements the app never renders and the payloads do.
  const foreign = new Set([
    'img', 'iframe', 'frame', 'frameset', 'object', 'embed', 'applet', 'video', 'audio', 'source',
    'math', 'mtext', 'mglyph', 'marquee', 'base', 'keygen', 'isindex', 'animate', 'set', 'style',
    'x', 'scr', 'image',
  ]);
  const urlAttributes = new Set([
    'href', 'src', 'action', 'formaction', 'data', 'xlink:href', 'background', 'poster', 'lowsrc',
    'dynsrc', 'code', 'codebase', 'srcset', 'ping',
  ]);
  for (const el of Array.from(doc.querySelectorAll('*'))) {
    const name = el.localName;
    if (foreign.has(name) || !/^[a-z][a-z0-9-]*$/.test(name)) problems.push(`a <${name}> element: ${show(el)}`);
    // The app's own: a bare refresh of a page that updates itself (bulk runs, without JavaScript).
    const ownRefresh = el.getAttribute('http-equiv')?.toLowerCase() === 'refresh' && /^\s*\d+\s*$/.test(el.getAttribute('content') ?? '');
    if (name === 'meta' && el.hasAttribute('http-equiv') && !ownRefresh) problems.push(`a <meta http-equiv>: ${show(el)}`);
    if (name === 'link' && !/^\/[^/]/.test(el.getAttribute('href') ?? '')) problems.push(`a foreign <link>: ${show(el)}`);
    for (const a of Array.from(el.attributes)) {
      const attr = a.name.toLowerCase();
      // The app writes no handler attribute (its CSP would block one): any is a payload's.
      if (attr.startsWith('on')) problems.push(`an event handler ${attr}: ${show(el)}`);
      if ((urlAttributes.has(attr) || attr.endsWith(':href')) && /^\s*(javascript|vbscript|data):/i.test(a.value)) {
        problems.push(`a script address in ${attr}: ${show(el)}`);
      }
      if (attr === 'srcdoc' || attr === 'formaction') problems.push(`an attribute ${attr}: ${show(el)}`);
      if (attr === 'style' && /javascript:|expression\(/i.test(a.value)) problems.push(`a script in style: ${show(el)}`);
      if (attr === 'autofocus' && name !== 'input') problems.push(`autofocus: ${show(el)}`);
    }
  }
  for (const s of Array.from(doc.querySelectorAll('script'))) {
    const src = s.getAttribute('src');
    if (src !== null && !/^\/[^/]/.test(src)) problems.push(`a script from ${src}: ${show(s)}`);
    // Text of ours may sit inside the app's scripts as JavaScript strings (the serialised
    // data); outside a string it would be code.
    const code = (s.textContent ?? '')
      .replace(/"(?:[^"\\\n]|\\.)*"/g, '""')
      .replace(/'(?:[^'\\\n]|\\.)*'/g, "''")
      .replace(/`(?:[^`\\]|\\.)*`/g, '``');
    if (/__xss|\b(alert|confirm|prompt)\s*\(|parent\.|window\.name|document\.title/.test(code)) {
      problems.push(`a script running our text: ${show(s)}`);
    }
  }
  // The visible text: what the page shows, scripts left out.
  const body = doc.body.cloneNode(true) as HTMLElement;
  for (const s of Array.from(body.querySelectorAll('script, template'))) s.remove();
  const text = body.textContent ?? '';
  for (const t of texts) if (!text.includes(t)) problems.push(`missing as literal text: ${t}`);
  for (const [selector, value] of values) {
    const el = doc.querySelector(selector) as HTMLInputElement | HTMLTextAreaElement | null;
    const got = el === null ? null : html === null ? el.value : el instanceof HTMLTextAreaElement ? el.defaultValue : el.getAttribute('value');
    if (got !== value) problems.push(`${selector} holds ${JSON.stringify(got)}, not ${JSON.stringify(value)}`);
  }
  return { problems, title: doc.title };
}

const fullTitle = (text: string) => `${text} · Switchyard`;

/** Quotes a CSV cell when it needs it. */
const csvCell = (s: string) => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

// ---------------------------------------------------------------------------------------
// A webhook receiver on 127.0.0.1 that answers with payloads in its body and headers.

async function payloadReceiver(answer: { body: string; headers: Record<string, string> }) {
  const seen: { url: string; body: string }[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ url: req.url ?? '', body });
      res.writeHead(200, { 'content-type': 'application/json', ...answer.headers });
      res.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { seen, base: `http://127.0.0.1:${port}`, close: () => server.close() };
}

// ---------------------------------------------------------------------------------------
// Creating things through the admin screens

const idFrom = (url: string, pattern: RegExp) => {
  const id = new URL(url).pathname.match(pattern)?.[1] ?? new URL(url).search.match(pattern)?.[1];
  if (!id) throw new Error(`no id in ${url} (${pattern})`);
  return Number(id);
};

async function hrefOf(page: Page, name: string) {
  const href = await page.getByRole('link', { name, exact: true }).first().getAttribute('href');
  if (!href) throw new Error(`no link named ${name}`);
  return href;
}

async function createTeam(page: Page, name: string, description: string) {
  await open(page, '/teams');
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Description', { exact: true }).fill(description);
  await page.getByRole('button', { name: 'Create team' }).click();
  await expect(page.getByRole('status')).toHaveText('The team was created.');
  await ready(page);
  return idFrom(new URL(await hrefOf(page, `Edit ${name}`), 'http://x').toString(), /edit=(\d+)/);
}

async function createApiKey(page: Page, name: string, description: string) {
  await open(page, '/api-keys/new');
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Description', { exact: true }).fill(description);
  await page.getByLabel('Prefix', { exact: true }).fill('xss');
  await page.getByRole('button', { name: 'Create API key' }).click();
  const shown = page.getByLabel('New API key', { exact: true });
  await expect(shown).toHaveValue(/^xss_/);
  return { id: idFrom(page.url(), /created=(\d+)/), key: await shown.inputValue() };
}

async function createDataGroup(page: Page, name: string, scope: string, fields: { label: string; parameter: string }[]) {
  await open(page, '/external-data');
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Stored against', { exact: true }).selectOption({ label: scope });
  await page.getByRole('button', { name: 'Create group' }).click();
  await expect(page.getByRole('status')).toHaveText('The data group was created: add its fields.');
  await ready(page);
  for (const [i, f] of fields.entries()) {
    await page.getByLabel(`Label of data field ${i + 1}`, { exact: true }).fill(f.label);
    await page.getByLabel(`Parameter of data field ${i + 1}`, { exact: true }).fill(f.parameter);
  }
  await page.getByLabel('Data field 1 is a favourite', { exact: true }).check();
  await page.getByRole('button', { name: 'Save group' }).click();
  await expect(page.getByRole('status')).toHaveText('The data group was saved.');
  await ready(page);
  return idFrom(page.url(), /^\/external-data\/(\d+)$/);
}

async function createUser(page: Page, first: string, last: string, email: string, teams: string[]) {
  await open(page, '/users/new');
  await page.getByLabel('First name', { exact: true }).fill(first);
  await page.getByLabel('Last name', { exact: true }).fill(last);
  await page.getByLabel('Email', { exact: true }).fill(email);
  for (const t of teams) await page.getByLabel(t, { exact: true }).check();
  await page.getByRole('button', { name: 'Save user' }).click();
  await expect(page.getByRole('status')).toHaveText('The user was created.');
  await ready(page);
  return idFrom(page.url(), /^\/users\/(\d+)$/);
}

async function userIdByEmail(page: Page, email: string, name: string) {
  await open(page, `/users?q=${encodeURIComponent(email)}`);
  return Number((await hrefOf(page, name)).match(/\/users\/(\d+)/)![1]);
}

async function createFilter(page: Page, scope: 'user' | 'feedback', name: string, description: string, field: string, op: string, value: string) {
  await open(page, scope === 'feedback' ? '/filters/new?scope=feedback' : '/filters/new');
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Description', { exact: true }).fill(description);
  await page.getByLabel('Group 1, condition 1 field', { exact: true }).selectOption(field);
  await page.getByLabel('Group 1, condition 1 operator', { exact: true }).selectOption({ value: op });
  await page.getByLabel('Group 1, condition 1 value', { exact: true }).fill(value);
  await page.getByRole('button', { name: 'Save filter' }).click();
  await expect(page.getByRole('status').first()).toHaveText('The filter was created.');
  await ready(page);
  return idFrom(page.url(), /^\/filters\/(\d+)$/);
}

async function createMacro(
  page: Page,
  m: { name: string; key: string; description: string; actions: [string, string][]; check?: string[]; uncheck?: string[] },
) {
  await open(page, '/macros/new');
  await page.getByLabel('Name', { exact: true }).fill(m.name);
  await page.getByLabel('Key', { exact: true }).fill(m.key);
  await page.getByLabel('Description', { exact: true }).fill(m.description);
  for (const [i, [kind, value]] of m.actions.entries()) {
    if (kind === 'remove_user') {
      await page.getByLabel('Remove user completely').check();
      continue;
    }
    await page.getByLabel(`Action ${i + 1}`, { exact: true }).selectOption(kind);
    if (value) await page.getByLabel(`Action ${i + 1} value`, { exact: true }).fill(value);
  }
  for (const o of m.check ?? []) await page.getByLabel(o).check();
  for (const o of m.uncheck ?? []) await page.getByLabel(o).uncheck();
  await page.getByRole('button', { name: 'Save macro' }).click();
  await expect(page.getByRole('status')).toHaveText('The macro was saved.');
  await ready(page);
  return Number((await hrefOf(page, m.name)).match(/\/macros\/(\d+)/)![1]);
}

async function createListener(
  page: Page,
  l: { scope: 'user' | 'feedback'; name: string; key: string; description: string; kind: ListenerType; apiKey: string; fill: () => Promise<void> },
) {
  await startListener(page, l.kind, l.scope);
  await page.getByLabel('Name', { exact: true }).fill(l.name);
  await page.getByLabel('Key', { exact: true }).fill(l.key);
  await page.getByLabel('Description', { exact: true }).fill(l.description);
  await page.getByLabel('API key', { exact: true }).selectOption({ label: l.apiKey });
  await l.fill();
  await page.getByRole('button', { name: 'Save listener' }).click();
  await expect(page.getByRole('status')).toHaveText('The listener was saved.');
  await ready(page);
  const id = idFrom(page.url(), /^\/listeners\/(\d+)$/);
  const path = new URL((await page.getByLabel(/URL for a webhook/).inputValue()).split('?')[0]).pathname;
  return { id, path };
}

async function expectOk(response: APIResponse, statuses = [200]) {
  expect(statuses, `${response.url()}: ${response.status()} ${await response.text()}`).toContain(response.status());
  return response;
}

// ---------------------------------------------------------------------------------------

test('no stored payload ever runs: every field, every screen, with and without JavaScript', async ({ page, browser, request }, testInfo) => {
  test.setTimeout(420_000);
  const js = testInfo.project.use.javaScriptEnabled !== false;
  const T = js ? 'h' : 'n';
  const pool = new PayloadPool();
  // One payload where the text must be exactly one thing (an email's local part, a status a
  // third party names, a body key); several (joined by spaces) in free text; names get two
  // and this run's suffix (names are unique), within the product's length limits.
  const p = (field: string, ok?: (p: Payload) => boolean) => pool.one(field, ok);
  const several = (field: string, count = 3, max = Infinity, ok?: (p: Payload) => boolean) => pool.several(field, count, max, ok);
  const named = (field: string, ok?: (p: Payload) => boolean, max = 100, count = 2) => `${several(field, count, max - 2, ok)} ${T}`;

  // Traces of payloads that ran: reported by the init script, dialogs, uncaught errors.
  const hits: { n: unknown; url: string }[] = [];
  const dialogs: { type: string; message: string; url: string }[] = [];
  const pageErrors: string[] = [];
  if (js) {
    await page.exposeFunction('__xssReport', (n: unknown) => hits.push({ n, url: page.url() }));
    await page.addInitScript(() => {
      const w = window as unknown as { __xss: (n: number) => void; __xssHits: number[]; __xssReport?: (n: number) => void };
      w.__xssHits = [];
      w.__xss = (n: number) => {
        w.__xssHits = w.__xssHits.concat(n);
        w.__xssReport?.(n);
      };
    });
  }
  page.on('dialog', async (d) => {
    dialogs.push({ type: d.type(), message: d.message(), url: page.url() });
    await d.dismiss().catch(() => {});
  });
  page.on('pageerror', (e) => pageErrors.push(`${page.url()}: ${e.message}`));

  // The server's HTML is parsed (never run) in a page of its own.
  const parserContext = await browser.newContext({ javaScriptEnabled: true });
  const parser = await parserContext.newPage();

  // The receiver's answer: payloads in the JSON body (the first two are captured into
  // external data) and in three headers.
  const answer = {
    note: several('webhook answer: captured note', 2),
    html: several('webhook answer: captured html', 2),
    raw: several('webhook answer: body', 2),
    headers: [several('webhook answer: header 1', 2), several('webhook answer: header 2', 2), several('webhook answer: header 3', 2)],
  };
  const receiver = await payloadReceiver({
    body: JSON.stringify({ note: answer.note, html: answer.html, raw: answer.raw }),
    headers: { 'x-payload-one': answer.headers[0], 'x-payload-two': answer.headers[1], 'x-payload-three': answer.headers[2] },
  });

  try {
    await signIn(page);
    await expect(page).toHaveURL(/\/$/);

    // ----- Managers' texts, through the admin screens -----------------------------------
    const teams = await test.step('teams', async () => {
      const list = [];
      for (let i = 1; i <= 3; i++) {
        // Team names are listed in the CSV's teams column, split at ";".
        const name = named(`team ${i} name`, (q) => !q.text.includes(';'));
        const description = several(`team ${i} description`);
        list.push({ name, description, id: await createTeam(page, name, description) });
      }
      return list;
    });

    const keys = await test.step('API keys', async () => {
      const list = [];
      for (let i = 1; i <= 2; i++) {
        const name = named(`API key ${i} name`);
        const description = several(`API key ${i} description`);
        list.push({ name, description, ...(await createApiKey(page, name, description)) });
      }
      return list;
    });
    const apiKey = keys[0];

    const userData = await test.step('external data group on users', async () => {
      const name = named('user data group name');
      const labels = [several('user data field 1 label', 2, 100), several('user data field 2 label', 2, 100)];
      const id = await createDataGroup(page, name, 'Users', [
        { label: labels[0], parameter: 'note' },
        { label: labels[1], parameter: 'html' },
      ]);
      return { id, name, labels };
    });
    const ticketData = await test.step('external data group on tickets', async () => {
      const name = named('ticket data group name');
      const labels = [several('ticket data field label', 2, 100)];
      const id = await createDataGroup(page, name, 'Feedback tickets', [{ label: labels[0], parameter: 'ref' }]);
      return { id, name, labels };
    });

    const users = await test.step('users through the form', async () => {
      const list = [];
      for (let i = 1; i <= 2; i++) {
        const first = several(`user ${i} first name`, 2, 100);
        const last = named(`user ${i} last name`);
        const email = `xss${T}-u${i}@example.com`;
        const memberOf = i === 1 ? [teams[0].name, teams[1].name] : [teams[2].name];
        list.push({ first, last, email, teams: memberOf, id: await createUser(page, first, last, email, memberOf) });
      }
      return list;
    });

    // ----- A CSV import: payloads in emails, names, team lists, scores and the file name --
    const imported = await test.step('CSV import', async () => {
      const good = [];
      for (let i = 1; i <= 4; i++) {
        // A local part: no white space, and room for the suffix (64 at most).
        const local = p(`CSV row ${i} email`, (q) => noSpace(q) && q.text.length <= 54 && !q.text.includes('@'));
        good.push({
          email: `${local}.xss${T}${i}@example.com`.toLowerCase(),
          first: several(`CSV row ${i} first name`, 2, 100),
          last: named(`CSV row ${i} last name`),
          teams: [teams[(i - 1) % 3].name, teams[i % 3].name],
        });
      }
      const badEmail = p('CSV rejected email', (q) => withAngle(q) && !q.text.includes('@'));
      const unknownTeam = several('CSV unknown team', 2, 100, (q) => !q.text.includes(';'));
      const badScore = several('CSV bad score', 2, 100, (q) => !/^\s*[-+]?\d/.test(q.text));
      const fileName = `${p('CSV file name', (q) => !/[/\\"]/.test(q.text))}.csv`;
      const rows = [
        'email,first_name,last_name,teams,score',
        ...good.map((g) => [g.email, g.first, g.last, g.teams.join(';'), '1'].map(csvCell).join(',')),
        [badEmail, 'Bad', 'Email', '', ''].map(csvCell).join(','),
        [`xss${T}-bad2@example.com`, 'Bad', 'Team', unknownTeam, ''].map(csvCell).join(','),
        [`xss${T}-bad3@example.com`, 'Bad', 'Score', '', badScore].map(csvCell).join(','),
      ];
      await open(page, '/users/import');
      await page.getByLabel('CSV file', { exact: true }).setInputFiles({ name: fileName, mimeType: 'text/csv', buffer: Buffer.from(rows.join('\n')) });
      await page.getByRole('button', { name: 'Import' }).click();
      await expectHeading(page, 'Import report');
      await expect(page.getByRole('status')).toContainText('4 of 7 rows imported, 3 rejected');
      const reportId = idFrom(page.url(), /^\/users\/import\/(\d+)$/);
      await ready(page);
      const people = [];
      for (const g of good) people.push({ ...g, id: await userIdByEmail(page, g.email, `${g.first} ${g.last}`) });
      return { people, reportId, fileName, badEmail, unknownTeam, badScore };
    });
    const [c1, c2, c3, c4] = imported.people;

    const filters = await test.step('user filters', async () => {
      const ours = { name: named('user filter 1 name'), description: several('user filter 1 description') };
      const f1 = { ...ours, id: await createFilter(page, 'user', ours.name, ours.description, 'email', 'contains', `xss${T}`) };
      const value = several('user filter 2 condition value', 2, 200);
      const other = { name: named('user filter 2 name'), description: several('user filter 2 description') };
      const f2 = { ...other, value, id: await createFilter(page, 'user', other.name, other.description, 'first_name', 'contains', value) };
      return { f1, f2 };
    });

    const config = await test.step('a configuration file: its names and a missing team in the preview', async () => {
      const fileName = `${p('configuration file name', (q) => !/[/\\"]/.test(q.text))}.json`;
      const filterName = named('imported filter name');
      const missingTeam = several('imported condition team', 2, 100);
      const doc = {
        format: 'switchyard.configuration', version: 1,
        filters: [{
          scope: 'user', name: filterName, description: several('imported filter description'), match: 'all',
          groups: [{ match: 'all', conditions: [{ field: 'team', op: 'is', value: missingTeam }] }],
        }],
      };
      await open(page, '/configuration');
      await page.getByLabel('Configuration file', { exact: true }).setInputFiles({ name: fileName, mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(doc)) });
      await page.getByRole('button', { name: 'Preview the import' }).click();
      await expectHeading(page, `Import ${fileName}`);
      const id = idFrom(page.url(), /^\/configuration\/imports\/(\d+)$/);
      await ready(page);
      return { id, fileName, filterName, missingTeam };
    });

    const macros = await test.step('user macros', async () => {
      const comment = `${several('macro comment text', 3, 4000, tagFree)} for ((user.first_name))`;
      const m1 = { name: named('macro 1 name'), description: several('macro 1 description'), comment };
      const m1Id = await createMacro(page, {
        ...m1,
        key: `xss-greet-${T}`,
        actions: [['add_comment', comment], ['adjust_score', '1']],
      });
      const m2 = { name: named('macro 2 name'), description: several('macro 2 description') };
      const m2Id = await createMacro(page, {
        ...m2,
        key: `xss-remove-${T}`,
        actions: [['remove_user', '']],
        check: ['Include removed users on the opt-out dashboard'],
        uncheck: ['Show in user-management actions'],
      });
      return { m1: { ...m1, id: m1Id }, m2: { ...m2, id: m2Id } };
    });

    const webhook = await test.step('a webhook of macro 1, to the local receiver', async () => {
      const name = named('webhook name');
      const query = several('webhook URL query', 2, 1000, tagFree);
      const url = `${receiver.base}/hook?note=${query}`;
      // Headers and body are edited in text areas.
      const header = `${p('webhook header value', (q) => tagFree(q) && endsTextarea(q))} ${several('webhook header value', 2, Infinity, tagFree)}`;
      const bodyText = several('webhook body text', 3, Infinity, tagFree);
      const bodyAlt = p('webhook body text (2)', (q) => tagFree(q) && endsTextarea(q));
      const body = `{"text": ${JSON.stringify(bodyText)}, "alt": ${JSON.stringify(bodyAlt)}, "first": "((user.first_name))", "last": "((user.last_name))"}`;
      await open(page, `/macros/${macros.m1.id}/webhooks/new`);
      await page.getByLabel('Name', { exact: true }).fill(name);
      await page.getByLabel('Web request', { exact: true }).selectOption('POST');
      await page.getByLabel('URL', { exact: true }).fill(url);
      await page.getByLabel('Headers', { exact: true }).fill(`X-Note: ${header}`);
      await page.getByLabel('Body', { exact: true }).fill(body);
      await page.getByRole('checkbox', { name: /^Capture return values/ }).check();
      await page.getByLabel('Capture return values into', { exact: true }).selectOption({ label: userData.name });
      await page.getByRole('button', { name: 'Save webhook' }).click();
      await expect(page.getByRole('status')).toHaveText('The webhook was saved.');
      await ready(page);
      const id = idFrom(page.url(), /^\/webhooks\/(\d+)$/);
      // A test delivery for a CSV user, from the page the save led to.
      await page.getByLabel('Email of a member to send for', { exact: true }).fill(c1.email);
      await page.getByRole('button', { name: 'Send test' }).click();
      await expect(page.getByRole('status')).toHaveText('The test request was queued and is being sent.');
      const testDelivery = idFrom(page.url(), /^\/webhooks\/deliveries\/(\d+)$/);
      return { name, url, header, bodyText, bodyAlt, id, testDelivery };
    });

    const listeners = await test.step('user listeners', async () => {
      const removal = { name: named('removal listener name'), description: several('removal listener description') };
      const lr = await createListener(page, {
        scope: 'user', ...removal, key: `xss-remove-${T}`, kind: 'Macro Execution', apiKey: apiKey.name,
        fill: async () => {
          await page.getByLabel('Filter', { exact: true }).selectOption({ label: filters.f1.name });
          await page.getByLabel('Macro to run', { exact: true }).selectOption({ label: macros.m2.name });
        },
      });
      // The body keys a comment listener reads: shown on the listeners page.
      const commentField = p('comment listener comment field', (q) => noSpace(q) && q.text.length <= 100);
      const commenting = { name: named('comment listener name'), description: several('comment listener description') };
      const lc = await createListener(page, {
        scope: 'user', ...commenting, key: `xss-comment-${T}`, kind: 'Add Comment', apiKey: apiKey.name,
        fill: async () => {
          await page.getByLabel('Author field', { exact: true }).fill('author');
          await page.getByLabel('Comment field', { exact: true }).fill(commentField);
        },
      });
      const storing = { name: named('data listener name'), description: several('data listener description') };
      const ld = await createListener(page, {
        scope: 'user', ...storing, key: `xss-data-${T}`, kind: 'External Data', apiKey: apiKey.name,
        fill: async () => {
          await page.getByLabel('Data group', { exact: true }).selectOption({ label: userData.name });
        },
      });
      return { lr: { ...removal, ...lr }, lc: { ...commenting, ...lc, commentField }, ld: { ...storing, ...ld } };
    });

    const userComment = await test.step('a comment on user 1 through the user page', async () => {
      const text = several('user comment (form)');
      await open(page, `/users/${users[0].id}`);
      await page.getByLabel('Add a comment', { exact: true }).fill(text);
      await page.getByRole('button', { name: 'Add comment' }).click();
      await expect(page.getByRole('status')).toHaveText('The comment was added.');
      await expect(page.getByText(text, { exact: true })).toBeVisible();
      return text;
    });

    const deliveries = await test.step('macro 1 runs on user 1: its webhook goes out', async () => {
      await open(page, `/users/${users[0].id}`);
      await page.getByLabel('Macro', { exact: true }).selectOption({ label: macros.m1.name });
      await page.getByLabel('Yes, run it on this user').check();
      await page.getByRole('button', { name: 'Run macro' }).click();
      await expect(page.getByRole('status')).toHaveText('The macro ran.');
      const test_ = webhook.testDelivery;
      await expect.poll(() => receiver.seen.length, { timeout: 20_000 }).toBeGreaterThanOrEqual(2);
      await open(page, `/webhooks/log?webhook=${webhook.id}`);
      const links = await page.getByRole('table', { name: 'Webhook deliveries' }).getByRole('link', { name: /^#\d+$/ }).allTextContents();
      const ids = links.map((l) => Number(l.slice(1)));
      const run = ids.find((id) => id !== test_);
      expect(run, `deliveries ${ids}`).toBeTruthy();
      for (const id of [test_, run!]) {
        await expect(async () => {
          await open(page, `/webhooks/deliveries/${id}`);
          await expect(page.getByTestId('attempt').first()).toContainText('answered 200', { timeout: 1_000 });
        }).toPass({ timeout: 20_000 });
      }
      return { test: test_, run: run! };
    });

    // ----- Third parties' texts, through the listener API ---------------------------------
    const thirdParty = await test.step('listener calls: comments, external data, a removal, and odd calls', async () => {
      const call = (path: string, find: string, data?: unknown) =>
        request.post(`${path}?${new URLSearchParams({ find })}`, { headers: { 'X-Api-Key': apiKey.key }, data });
      const comments = [several('listener comment on user 1'), several('listener comment on a CSV user')];
      await expectOk(await call(listeners.lc.path, users[0].email, { author: admin.email, [listeners.lc.commentField]: comments[0] }));
      await expectOk(await call(listeners.lc.path, c1.email, { author: admin.email, [listeners.lc.commentField]: comments[1] }));
      const data = { note: several('listener data: note'), html: several('listener data: html') };
      const stored = await expectOk(await call(listeners.ld.path, users[1].email, data));
      const answerBody = await stored.json();
      expect(answerBody.status).toBe('completed');
      expect([...answerBody.stored].sort()).toEqual(['html', 'note']);
      // A removal through the macro listener (the person is in two of our teams).
      await expectOk(await call(listeners.lr.path, c4.email), [200, 202]);
      await expect(async () => {
        await open(page, `/users?q=${encodeURIComponent(c4.email)}`);
        await expect(page.getByText('No users match.')).toBeVisible({ timeout: 1_000 });
      }).toPass({ timeout: 20_000 });
      // Odd calls the log keeps: a key that names no listener (the log now shows such calls
      // without the key, so only the HTML checks look at it) and a `find` that is no email
      // (kept masked; what follows its `@` is no host name, so none of it is kept).
      const unknownKey = p('listener log: unknown key', (q) => q.text.length <= 100);
      const res = await request.post(`/api/v1/userMacroListeners/${encodeURIComponent(unknownKey)}?find=someone%40example.com`, {
        headers: { 'X-Api-Key': apiKey.key },
      });
      expect(res.status()).toBe(404);
      const maskedDomain = several('listener log: find domain', 2, 190);
      const masked = await call(listeners.lc.path, `z@${maskedDomain}`, { author: admin.email, [listeners.lc.commentField]: 'x' });
      expect(masked.status()).toBeGreaterThanOrEqual(400);
      return { comments, data, unknownKey, maskedTarget: 'z…@…' };
    });

    // ----- Projects, feedback types, an external source, tickets --------------------------
    const project = await test.step('a project and its feedback type', async () => {
      const name = named('project name', undefined, 200, 3);
      const description = several('project description');
      await open(page, '/projects');
      await page.getByLabel('Name', { exact: true }).fill(name);
      await page.getByLabel('Key', { exact: true }).fill(`xss-${T}`);
      await page.getByLabel('Description', { exact: true }).fill(description);
      await page.getByRole('button', { name: 'Create project' }).click();
      await expect(page.getByRole('status')).toHaveText('The project was saved.');
      await ready(page);
      const id = idFrom(page.url(), /^\/projects\/(\d+)$/);
      const typeName = named('feedback type name');
      await page.getByLabel('Type name', { exact: true }).fill(typeName);
      await page.getByRole('button', { name: 'Add feedback type' }).click();
      await expect(page.getByRole('status')).toContainText('The feedback type was created');
      await ready(page);
      const typeId = idFrom(page.url(), /^\/feedback-types\/(\d+)$/);
      // Statuses and choices are edited in text areas (one per line).
      const statuses = [
        p('workflow status 1', (q) => endsTextarea(q) && q.text.length <= 58),
        p('workflow status 2', (q) => q.text.length <= 58),
      ];
      const labels = [1, 2, 3].map((i) => several(`custom field ${i} label`, 2, 100));
      const choices = [p('choice 1', endsTextarea), p('choice 2')];
      await page.getByLabel(teams[0].name, { exact: true }).check();
      // Two blank field rows at a time: a text and a long text first, then a choice and the
      // workflow (last: the page that comes back shows them in its text areas).
      const field = async (i: number, kind: string) => {
        await page.getByLabel(`Label of field ${i}`, { exact: true }).fill(labels[i - 1]);
        await page.getByLabel(`Key of field ${i}`, { exact: true }).fill(`f${i}`);
        await page.getByLabel(`Kind of field ${i}`, { exact: true }).selectOption(kind);
      };
      await field(1, 'text');
      await field(2, 'long_text');
      await page.getByRole('button', { name: 'Save feedback type' }).click();
      await expect(page.getByRole('status')).toHaveText('The feedback type was saved.');
      await ready(page);
      await expect(page.getByLabel('Key of field 2', { exact: true })).toHaveValue('f2');
      await field(3, 'choice');
      await page.getByLabel('Choices of field 3', { exact: true }).fill(choices.join('\n'));
      await page.getByLabel('Workflow', { exact: true }).fill(['New', ...statuses, 'Closed'].join('\n'));
      await page.getByRole('button', { name: 'Save feedback type' }).click();
      // Saved: three fields, and two blank rows after them.
      await expect(page.getByLabel('Label of field 5', { exact: true })).toBeAttached();
      await ready(page);
      return { id, name, description, type: { id: typeId, name: typeName, statuses, labels, choices } };
    });

    const source = await test.step('an external source', async () => {
      const name = named('external source name');
      // The mapping is edited in a text area; a body parameter is up to 100 visible characters
      // and ends at the line's first "=".
      const descriptionParam = p('external source mapping: parameter', (q) => endsTextarea(q) && noSpace(q) && !q.text.includes('='));
      await open(page, `/projects/${project.id}/sources/new`);
      await page.getByLabel('Name', { exact: true }).fill(name);
      await page.getByLabel('Key', { exact: true }).fill(`xss-src-${T}`);
      await page.getByLabel('Feedback type', { exact: true }).selectOption({ label: project.type.name });
      await page.getByLabel('API key', { exact: true }).selectOption({ label: apiKey.name });
      await page.getByLabel('Status from the body (parameter)', { exact: true }).fill('stage');
      await page.getByLabel('Default submitter (email)', { exact: true }).fill(admin.email);
      await page.getByLabel('Mapping', { exact: true }).fill(`title = title\n${descriptionParam} = description\nf1 = f1\nf2 = f2\nf3 = f3`);
      await page.getByRole('button', { name: 'Save external source' }).click();
      await expect(page.getByRole('status')).toHaveText('The external source was saved.');
      await ready(page);
      const id = idFrom(page.url(), /^\/external-sources\/(\d+)$/);
      const path = new URL(await page.getByLabel('URL', { exact: true }).inputValue()).pathname;
      return { id, name, path, descriptionParam };
    });

    const tickets = await test.step('tickets from the external source', async () => {
      const list = [];
      for (let i = 1; i <= 2; i++) {
        const t = {
          title: `${several(`ticket ${i} title`, 3, 195)} ${T}`,
          description: several(`ticket ${i} description`),
          f1: several(`ticket ${i} text field`, 3, 500),
          f2: several(`ticket ${i} long text field`),
          f3: project.type.choices[i - 1],
          status: project.type.statuses[i - 1],
        };
        const res = await expectOk(await request.post(source.path, {
          headers: { 'X-Api-Key': apiKey.key },
          data: { title: t.title, [source.descriptionParam]: t.description, f1: t.f1, f2: t.f2, f3: t.f3, stage: t.status },
        }), [201]);
        list.push({ ...t, id: Number((await res.json()).ticket_id) });
      }
      return list;
    });

    const feedbackListeners = await test.step('feedback listeners: comments and external data on tickets', async () => {
      const commenting = { name: named('feedback comment listener name'), description: several('feedback comment listener description') };
      const flc = await createListener(page, {
        scope: 'feedback', ...commenting, key: `xss-fcomment-${T}`, kind: 'Add Comment', apiKey: apiKey.name,
        fill: async () => {
          await page.getByLabel('Author field', { exact: true }).fill('author');
          await page.getByLabel('Comment field', { exact: true }).fill('comment');
        },
      });
      const storing = { name: named('feedback data listener name'), description: several('feedback data listener description') };
      const fld = await createListener(page, {
        scope: 'feedback', ...storing, key: `xss-fdata-${T}`, kind: 'External Data', apiKey: apiKey.name,
        fill: async () => {
          await page.getByLabel('Data group', { exact: true }).selectOption({ label: ticketData.name });
        },
      });
      const comments = [several('ticket comment through a listener 1'), several('ticket comment through a listener 2')];
      const call = (path: string, find: number, data: unknown) =>
        request.post(`${path}?find=${find}`, { headers: { 'X-Api-Key': apiKey.key }, data });
      for (const c of comments) await expectOk(await call(flc.path, tickets[0].id, { author: admin.email, comment: c }));
      const ref = several('ticket external data value');
      await expectOk(await call(fld.path, tickets[0].id, { ref }));
      return { flc: { ...commenting, ...flc }, fld: { ...storing, ...fld }, comments, ref };
    });

    const ticketComment = await test.step('a comment on ticket 2 through its page', async () => {
      const text = several('ticket comment (form)');
      await open(page, `/feedback/${tickets[1].id}`);
      await page.getByLabel('Add a comment', { exact: true }).fill(text);
      await page.getByRole('button', { name: 'Add comment' }).click();
      await expect(page.getByRole('status')).toHaveText('The comment was added; followers are notified.');
      return text;
    });

    const feedbackFilter = await test.step('a feedback filter on the project', async () => {
      const f = { name: named('feedback filter name'), description: several('feedback filter description') };
      return { ...f, id: await createFilter(page, 'feedback', f.name, f.description, 'project', 'is', project.name) };
    });

    // Every payload went somewhere, and every field got one.
    expect(pool.unused(), 'payloads used nowhere').toEqual([]);
    const perField = pool.perField();
    const uses = [...perField.values()].reduce((a, b) => a + b, 0);
    testInfo.annotations.push({
      type: 'coverage',
      description: `${PAYLOADS.length} payloads, ${uses} placements in ${perField.size} fields (${[...perField.values()].filter((n) => n > 1).length} of them with several)`,
    });

    // ----- Every screen that shows them ---------------------------------------------------
    type Visit = { url: string; title: string; texts?: string[]; values?: [string, string][]; shot?: string };
    const u1 = users[0];
    const u1Name = `${u1.first} ${u1.last}`;
    const m1Comment = macros.m1.comment.replace('((user.first_name))', u1.first);
    const reflected = p('reflected: import error', (q) => q.text.startsWith('<'));
    const searched = p('reflected: user search');
    const visits: Visit[] = [
      { url: '/', title: 'Dashboard' },
      {
        url: `/users?q=xss${T}`, title: 'Users',
        texts: [...users.flatMap((u) => [u.first, u.last]), ...[c1, c2, c3].flatMap((c) => [c.first, c.last, c.email]), ...teams.map((t) => t.name)],
      },
      {
        url: `/users/${u1.id}`, title: u1Name, shot: 'user',
        texts: [u1.first, u1.last, teams[0].name, teams[1].name, userComment, thirdParty.comments[0], m1Comment, macros.m1.name,
          answer.note, answer.html, `${userData.name} · ${userData.labels[0]}`, `${userData.name} · ${userData.labels[1]}`],
      },
      {
        url: `/users/${u1.id}/edit`, title: 'Edit user', texts: [`Edit ${u1Name}`, ...teams.map((t) => t.name)],
        values: [['input[name="form[first_name]"]', u1.first], ['input[name="form[last_name]"]', u1.last]],
      },
      {
        url: `/users/${users[1].id}`, title: `${users[1].first} ${users[1].last}`,
        texts: [thirdParty.data.note, thirdParty.data.html, teams[2].name, `${userData.name} · ${userData.labels[0]}`],
      },
      {
        url: `/users/${c1.id}`, title: `${c1.first} ${c1.last}`,
        texts: [c1.email, c1.first, c1.last, thirdParty.comments[1], ...c1.teams],
      },
      { url: `/users/${c2.id}`, title: `${c2.first} ${c2.last}`, texts: [c2.email] },
      { url: `/users/${c3.id}`, title: `${c3.first} ${c3.last}`, texts: [c3.email] },
      { url: '/teams', title: 'Teams', texts: teams.flatMap((t) => [t.name, t.description]) },
      {
        url: `/teams?edit=${teams[0].id}`, title: 'Teams', texts: [`Edit ${teams[0].name}`, `Yes, delete the team ${teams[0].name} (its members stay)`],
        values: [['input[name="form[name]"]', teams[0].name], ['input[name="form[description]"]', teams[0].description]],
      },
      { url: '/projects', title: 'Projects', texts: [project.name] },
      {
        url: `/projects/${project.id}`, title: project.name,
        texts: [project.name, project.description, project.type.name, ...project.type.statuses, source.name],
      },
      {
        url: `/feedback-types/${project.type.id}`, title: `${project.type.name} · ${project.name}`,
        texts: [teams[0].name, ...project.type.statuses, ...project.type.choices],
        values: [['input[name="form[name]"]', project.type.name], ...project.type.labels.map((l, i) => [`input[name="form[fields][${i}][label]"]`, l] as [string, string])],
      },
      {
        url: `/projects/${project.id}/feedback`, title: `${project.name} feedback`,
        texts: [...tickets.map((t) => t.title), project.type.name, ...project.type.statuses],
      },
      { url: `/projects/${project.id}/feedback?q=${encodeURIComponent(searched)}`, title: `${project.name} feedback`, values: [['input[name="q"]', searched]] },
      {
        url: `/projects/${project.id}/feedback/new?type=${project.type.id}`, title: `New ${project.type.name}`,
        texts: [...project.type.labels, ...project.type.choices, teams[0].name],
      },
      {
        url: `/feedback/${tickets[0].id}`, title: `#${tickets[0].id} ${tickets[0].title}`, shot: 'ticket',
        texts: [tickets[0].title, tickets[0].description, tickets[0].f1, tickets[0].f2, tickets[0].f3, tickets[0].status,
          ...feedbackListeners.comments, feedbackListeners.ref, `${ticketData.name} · ${ticketData.labels[0]}`, ...project.type.labels, project.name],
      },
      {
        url: `/feedback/${tickets[1].id}`, title: `#${tickets[1].id} ${tickets[1].title}`,
        texts: [tickets[1].title, tickets[1].description, tickets[1].f1, tickets[1].f2, tickets[1].f3, tickets[1].status, ticketComment],
      },
      {
        url: `/external-sources/${source.id}`, title: source.name, texts: [project.name, project.type.name, apiKey.name, source.descriptionParam],
        values: [['input[name="form[name]"]', source.name]],
      },
      {
        url: '/filters', title: 'Filters',
        texts: [filters.f1.name, filters.f2.name, filters.f2.value, feedbackFilter.name, project.name],
      },
      { url: `/filters/${filters.f1.id}`, title: filters.f1.name, texts: [filters.f1.description, u1.first, u1.last, c1.email] },
      {
        url: `/filters/${filters.f2.id}/edit`, title: 'Edit filter', texts: [`Edit ${filters.f2.name}`],
        values: [['input[name="form[name]"]', filters.f2.name], ['input[name="form[description]"]', filters.f2.description]],
      },
      {
        url: `/filters/${feedbackFilter.id}`, title: feedbackFilter.name,
        texts: [feedbackFilter.description, project.name, ...tickets.map((t) => t.title), project.type.name],
      },
      {
        url: '/filters/new?scope=feedback', title: 'New feedback filter',
        texts: [...project.type.labels, ticketData.labels[0]],
      },
      { url: '/macros', title: 'Macros', texts: [macros.m1.name, macros.m2.name] },
      {
        url: `/macros/${macros.m1.id}`, title: macros.m1.name, shot: 'macro',
        texts: [webhook.name, webhook.url, `((external.${userData.name}.${userData.labels[0]}))`],
        values: [['input[name="form[name]"]', macros.m1.name], ['input[name="form[description]"]', macros.m1.description],
          ['input[name="form[actions][0][value]"]', macros.m1.comment]],
      },
      {
        url: `/macros/${macros.m1.id}/webhooks/new`, title: `New webhook of ${macros.m1.name}`,
        texts: [`New webhook of ${macros.m1.name}`, userData.name],
      },
      {
        url: `/webhooks/${webhook.id}`, title: webhook.name,
        texts: [`Macro: ${macros.m1.name}`, webhook.header, JSON.stringify(webhook.bodyText), JSON.stringify(webhook.bodyAlt)],
        values: [['input[name="form[name]"]', webhook.name], ['input[name="form[url]"]', webhook.url]],
      },
      {
        url: `/webhooks/${webhook.id}?target=${encodeURIComponent(c2.email)}`, title: webhook.name,
        texts: [`The request for ${c2.email}:`, JSON.stringify(c2.first), JSON.stringify(c2.last)],
      },
      { url: '/webhooks/log', title: 'Webhook log', texts: [webhook.name, macros.m1.name] },
      {
        url: `/webhooks/deliveries/${deliveries.test}`, title: `Delivery #${deliveries.test}`, shot: 'delivery',
        texts: [webhook.name, macros.m1.name, webhook.header, ...answer.headers, JSON.stringify({ note: answer.note, html: answer.html, raw: answer.raw })],
      },
      {
        url: `/webhooks/deliveries/${deliveries.run}`, title: `Delivery #${deliveries.run}`,
        texts: [userData.name, answer.note, answer.html],
      },
      {
        url: '/listeners', title: 'External listeners',
        texts: [listeners.lr.name, listeners.lc.name, listeners.ld.name, feedbackListeners.flc.name, feedbackListeners.fld.name,
          macros.m2.name, filters.f1.name, `stores ${userData.name}`, `comment "${listeners.lc.commentField}" by "author"`],
      },
      {
        url: `/listeners/${listeners.lr.id}`, title: listeners.lr.name, texts: [macros.m2.name, filters.f1.name, apiKey.name],
        values: [['input[name="form[name]"]', listeners.lr.name], ['input[name="form[description]"]', listeners.lr.description]],
      },
      {
        url: `/listeners/${listeners.lc.id}`, title: listeners.lc.name,
        values: [['input[name="form[comment_field]"]', listeners.lc.commentField]],
      },
      { url: `/listeners/${feedbackListeners.fld.id}`, title: feedbackListeners.fld.name, texts: [ticketData.name] },
      {
        url: '/listeners/log', title: 'Listener log',
        texts: [thirdParty.maskedTarget, listeners.lc.name, listeners.ld.name, `source ${source.name}`],
      },
      { url: `/listeners/log?user=${u1.id}`, title: 'Listener log', texts: [`Calls about ${u1Name}`, listeners.lc.name] },
      { url: '/api-keys', title: 'API keys', texts: keys.map((k) => k.name) },
      {
        url: `/api-keys/${apiKey.id}`, title: apiKey.name,
        values: [['input[name="form[name]"]', apiKey.name], ['input[name="form[description]"]', apiKey.description]],
      },
      { url: '/external-data', title: 'External data', texts: [userData.name, ticketData.name, ...userData.labels, ...ticketData.labels] },
      {
        url: `/external-data/${userData.id}`, title: userData.name, texts: [`Data group ${userData.name}`, `Yes, delete ${userData.name} and its values`],
        values: userData.labels.map((l, i) => [`input[name="form[fields][${i}][label]"]`, l] as [string, string]),
      },
      {
        url: `/users/import/${imported.reportId}`, title: 'Import report', shot: 'import-report',
        texts: [imported.fileName, imported.badEmail, `unknown team "${imported.unknownTeam}"`, imported.badScore],
      },
      {
        url: `/configuration/imports/${config.id}`, title: 'Import a configuration', shot: 'config-import',
        texts: [`Import ${config.fileName}`, config.filterName, `there is no team "${config.missingTeam}" here`],
      },
      { url: '/configuration', title: 'Configuration', texts: [config.fileName] },
      { url: `/configuration?error=${encodeURIComponent(reflected)}`, title: 'Configuration', texts: [`${reflected}.`] },
      { url: '/opt-out', title: 'Opt-out dashboard', texts: [listeners.lr.name, macros.m2.name] },
      { url: '/audit', title: 'Audit log' },
      { url: '/notifications', title: 'Notifications' },
      { url: `/users/import?error=${encodeURIComponent(reflected)}`, title: 'Import users', texts: [`${reflected}.`] },
      { url: `/users?q=${encodeURIComponent(searched)}`, title: 'Users', values: [['input[name="q"]', searched]] },
    ];

    for (const v of visits) {
      await test.step(`${v.url}`, async () => {
        const before = { hits: hits.length, dialogs: dialogs.length, errors: pageErrors.length };
        const response = await page.goto(v.url);
        expect.soft(response?.status(), `${v.url} answers`).toBe(200);
        const csp = (await response?.allHeaders())?.['content-security-policy'] ?? '';
        expect.soft(csp, `the Content-Security-Policy of ${v.url}`).toMatch(/(^|;)\s*script-src [^;]*'nonce-[^']+'/);
        expect.soft(csp, `the Content-Security-Policy of ${v.url}`).not.toMatch(/'unsafe-inline'/);
        if (js) {
          const hydrated = await page.locator('body[data-hydrated="true"]').waitFor({ timeout: 8_000 }).then(() => true, () => false);
          expect.soft(hydrated, `${v.url} hydrates`).toBe(true);
          // Autofocus and error events fire soon after; the load event waited for images.
          await page.waitForTimeout(150);
        }
        const expected = fullTitle(v.title);
        expect.soft(await page.title(), `document.title of ${v.url}`).toBe(expected);
        // What the browser made of the page (after hydration, with JavaScript).
        const live = await page.evaluate(analyse, { html: null, texts: v.texts ?? [], values: v.values ?? [] });
        expect.soft(live.problems, `the page ${v.url} in the browser`).toEqual([]);
        if (js) {
          const traces = await page.evaluate(() => ({ hits: (window as unknown as { __xssHits: number[] }).__xssHits, name: window.name }));
          expect.soft(traces, `traces on ${v.url}`).toEqual({ hits: [], name: '' });
        }

        // The HTML as the server sent it: all that a browser without JavaScript gets.
        const raw = await (await page.request.get(v.url)).text();
        const headTitle = raw.match(/<title>([\s\S]*?)<\/title>/i)?.[1];
        expect.soft(headTitle, `the <title> in the HTML of ${v.url}`).toBeDefined();
        expect.soft(/[<>]/.test(headTitle ?? ''), `the <title> of ${v.url} holds markup: ${headTitle}`).toBe(false);
        const lower = raw.toLowerCase();
        for (const q of PAYLOADS.filter(withAngle)) {
          const at = lower.indexOf(q.text.toLowerCase());
          expect.soft(at, `payload ${q.n} unescaped in the HTML of ${v.url}: …${raw.slice(Math.max(0, at - 80), at + q.text.length + 40)}…`).toBe(-1);
        }
        const parsed = await parser.evaluate(analyse, { html: raw, texts: v.texts ?? [], values: v.values ?? [] });
        expect.soft(parsed.problems, `the HTML of ${v.url}`).toEqual([]);
        expect.soft(parsed.title, `the <title> in the HTML of ${v.url}, read as text`).toBe(expected);

        if (v.shot) await page.screenshot({ path: testInfo.outputPath(`${v.shot}.png`), fullPage: true });
        expect.soft(hits.slice(before.hits), `payloads that ran on ${v.url}`).toEqual([]);
        expect.soft(dialogs.slice(before.dialogs), `dialogs on ${v.url}`).toEqual([]);
        expect.soft(pageErrors.slice(before.errors), `uncaught errors on ${v.url}`).toEqual([]);
      });
    }

    // Nothing ran during the set-up either (forms re-rendered with the payloads in them).
    expect(hits, 'payloads that ran').toEqual([]);
    expect(dialogs, 'dialogs').toEqual([]);
    expect(pageErrors, 'uncaught errors').toEqual([]);
  } finally {
    receiver.close();
    await parserContext.close();
  }
});
