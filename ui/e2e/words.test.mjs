// Plain words (issue 10, item 5): every route of the app in the mock (new, locked, unlocked; with a
// ledger alarm and an unreachable node; English and German). What a patient reads — everything in
// the page except what sits under a "Technical details" <details> — holds no hex run of 16+
// characters, no URL (http(s)://, carekey:) and none of the words checkpoint, cosignature, epoch,
// log key. Text inside <code> counts too, unless it is under "Technical details".
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { REQUEST, launch, open, serve } from './harness.mjs';

let server;
let browser;
before(async () => { server = await serve(); browser = await launch(); });
after(async () => { await browser?.close(); await server?.close(); });

export const RULES = [
  ['hex of 16+ characters', /[0-9a-f]{16,}/i],
  ['URL', /https?:\/\/\S*/i],
  ['carekey: link', /carekey:[a-z/]\S*/i],
  ['"checkpoint"', /checkpoint/i],
  ['"cosignature"', /cosignature/i],
  ['"epoch"', /epoch/i],
  ['"log key"', /log[\s-]key/i],
];

const UNLOCKED = ['/home', '/records', '/records/:record', '/share', '/share/review', '/my-qr', '/grants', '/grants/:grant',
  '/receipt', '/access', '/erase', '/settings', '/summary'];
const NEW = ['/welcome', '/create', '/restore', '/recovery-kit'];

/** The patient-facing text of the page: text nodes and labelling attributes outside technical details. */
function collect() {
  const TECH = /^(Technical details|Technische Details)$/;
  const skip = (el) => {
    for (let e = el; e; e = e.parentElement) {
      if (e.hidden || e.tagName === 'SCRIPT' || e.tagName === 'STYLE' || e.tagName === 'TEMPLATE') return true;
      if (e.tagName === 'DETAILS') {
        const summary = e.querySelector(':scope > summary');
        if (summary && TECH.test(summary.textContent.trim()) && !summary.contains(el)) return true;
      }
    }
    return false;
  };
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const text = n.textContent.trim();
    if (text && !skip(n.parentElement)) out.push(text);
  }
  for (const el of document.body.querySelectorAll('[aria-label], [title], [placeholder], [alt], [aria-description], input[type="button"], input[type="submit"]')) {
    if (skip(el)) continue;
    for (const a of ['aria-label', 'title', 'placeholder', 'alt', 'aria-description']) if (el.getAttribute(a)) out.push(el.getAttribute(a));
    if (el.tagName === 'INPUT' && (el.type === 'button' || el.type === 'submit')) out.push(el.value);
  }
  out.push(document.title);
  return out;
}

function findings(texts) {
  const found = [];
  for (const text of texts) {
    for (const [rule, re] of RULES) {
      const m = re.exec(text);
      if (m) found.push(`${rule}: “${text.length > 90 ? `…${text.slice(Math.max(0, m.index - 30), m.index + 60)}…` : text}”`);
    }
  }
  return [...new Set(found)];
}

async function settle(page) {
  await page.waitForSelector('main h1');
  await page.waitForFunction(() => !document.querySelector('[aria-busy="true"], .loading'), null, { timeout: 8000 }).catch(() => undefined);
  await page.waitForTimeout(120);
}

async function visit(page, route) {
  await page.evaluate((r) => { location.hash = r; }, route);
  await settle(page);
}

/** Everything found, per screen ("en unlocked fail=alarm /settings": [...]). */
const report = new Map();
function record(label, page, texts) {
  const f = findings(texts);
  if (f.length) report.set(label, f);
  return f;
}

async function session(lang, query) {
  const s = await open(browser, server.url, { query, route: '' });
  if (lang !== 'en') {
    await s.page.evaluate((l) => localStorage.setItem('carekey-language', l), lang);
    await s.page.reload();
  }
  await settle(s.page);
  return s;
}

/** Reaches the share review through the link field, if the screen has one (best effort). */
async function reachReview(page) {
  await visit(page, '/share');
  const field = page.locator('main textarea, main input[type="text"], main input[type="url"]').first();
  if (!(await field.count())) return false;
  await field.fill(REQUEST);
  await field.press('Enter');
  const submit = page.locator('main form button[type="submit"], main button.primary').first();
  if (!(await page.waitForURL(/#\/share\/review/, { timeout: 1500 }).then(() => true, () => false)) && (await submit.count())) {
    await submit.click().catch(() => undefined);
  }
  return page.waitForURL(/#\/share\/review/, { timeout: 4000 }).then(() => true, () => false);
}

for (const lang of ['en', 'de']) {
  for (const fail of ['', 'alarm', 'unreachable']) {
    const query = `scenario=unlocked${fail ? `&fail=${fail}` : ''}`;
    test(`plain words, ${lang}, unlocked${fail ? `, fail=${fail}` : ''}: every screen`, async () => {
      const s = await session(lang, query);
      const { page } = s;
      const ids = await page.evaluate(async () => ({
        record: (await window.__carekeyMock.listRecords())[0]?.id ?? 'none',
        grant: (await window.__carekeyMock.listGrants())[0]?.id ?? 'none',
      }));
      let all = [];
      for (const pattern of UNLOCKED) {
        const route = pattern.replace(':record', ids.record).replace(':grant', ids.grant);
        if (pattern === '/share/review') {
          if (!(await reachReview(page))) await visit(page, route);
        } else {
          await visit(page, route);
        }
        all = all.concat(record(`${lang} ${query} ${pattern}`, page, await page.evaluate(collect)).map((f) => `${pattern}: ${f}`));
      }
      s.problems.length = 0; // a screen visited out of its flow may log; this test is about words
      await s.context.close();
      assert.equal(all.length, 0, `patient-facing text in plain words:\n${all.join('\n')}`);
    });
  }

  test(`plain words, ${lang}, locked (and "something new" while locked)`, async () => {
    const s = await session(lang, 'scenario=locked');
    const { page } = s;
    let all = record(`${lang} locked /unlock`, page, await page.evaluate(collect)).map((f) => `/unlock: ${f}`);
    await page.evaluate(() => window.__carekeyMock.simulateBackgroundAccess());
    await page.locator('#new-while-locked').waitFor({ timeout: 3000 }).catch(() => undefined);
    all = all.concat(record(`${lang} locked /unlock something new`, page, await page.evaluate(collect)).map((f) => `/unlock (new): ${f}`));
    s.problems.length = 0;
    await s.context.close();
    assert.equal(all.length, 0, `patient-facing text in plain words:\n${all.join('\n')}`);
  });

  test(`plain words, ${lang}, new patient: welcome, create, restore`, async () => {
    const s = await session(lang, 'scenario=new');
    const { page } = s;
    let all = [];
    for (const route of NEW) {
      await visit(page, route);
      all = all.concat(record(`${lang} new ${route}`, page, await page.evaluate(collect)).map((f) => `${route}: ${f}`));
    }
    s.problems.length = 0;
    await s.context.close();
    assert.equal(all.length, 0, `patient-facing text in plain words:\n${all.join('\n')}`);
  });
}

test('the plain-words rules catch what they should, and only outside technical details', async () => {
  const s = await open(browser, server.url, { route: '/records' });
  const { page } = s;
  await settle(page);
  await page.evaluate(() => {
    const details = document.createElement('details');
    const summary = document.createElement('summary');
    summary.textContent = 'Technical details';
    const key = document.createElement('code');
    key.textContent = 'a1b2c3d4e5f60718293a4b5c6d7e8f90 https://node.example checkpoint';
    details.append(summary, key);
    const bad = document.createElement('code');
    bad.textContent = 'epoch 4 at http://127.0.0.1:47311 log key 0123456789abcdef0';
    document.querySelector('main').append(details, bad);
  });
  const collected = await page.evaluate(collect);
  const f = findings(collected);
  assert.ok(f.some((x) => x.startsWith('"epoch"')) && f.some((x) => x.startsWith('URL')) && f.some((x) => x.startsWith('"log key"')) && f.some((x) => x.startsWith('hex')), f.join('\n'));
  assert.ok(!f.some((x) => x.includes('a1b2c3d4e5f6')), 'technical details are not counted');
  s.problems.length = 0;
  await s.context.close();
});

after(() => {
  if (report.size === 0) return;
  const lines = [...report].map(([label, f]) => `  ${label}\n${f.map((x) => `    - ${x}`).join('\n')}`);
  console.log(`\nPlain-words findings (${report.size} screens):\n${lines.join('\n')}`);
});
