// Shared e2e machinery: a static server for dist/ with the app's CSP, Debian chromium through
// playwright-core, screenshots, axe-core, and a Y4M camera feed made from a real QR code.
import { createServer } from 'node:http';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, normalize, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import QRCode from 'qrcode';

export const UI = dirname(dirname(fileURLToPath(import.meta.url)));
const DIST = join(UI, 'dist');
export const SHOTS = join(UI, 'test-results', 'screenshots');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const AXE = readFileSync(join(UI, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
export const CSP =
  "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src ipc: http://ipc.localhost";
export const PASS = 'correct horse battery staple';
export const STRONG = 'orbit lantern walnut glacier';
export const REQUEST = 'carekey:request/v1/o2d1a2b3c4d5e6f7g8h9i0jKLMNOPQRSTuvwxyz-_0123456789';

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.png': 'image/png' };

/** Serves dist/ on 127.0.0.1, ephemeral port, with the CSP header the Tauri window sets. */
export async function serve() {
  assert.ok(existsSync(join(DIST, 'index.html')), 'run `npm run build` first (dist/index.html missing)');
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const rel = normalize(decodeURIComponent(url.pathname)).replace(/^([/\\])+/, '');
    let file = join(DIST, rel || 'index.html');
    if (!file.startsWith(DIST) || !existsSync(file) || rel === '') file = join(DIST, 'index.html');
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-security-policy': CSP, 'cache-control': 'no-store' });
    res.end(readFileSync(file));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise((resolve) => server.close(resolve)) };
}

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];

/** Debian chromium with a fresh profile (playwright's launch() makes one in a temp dir). */
export function launch(extra = []) {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...FLAGS, ...extra] });
}

/**
 * A page on the mock backend. Collects CSP violations, console errors and page errors; `done()`
 * asserts there were none.
 */
export async function open(browser, base, { query = 'scenario=unlocked', route = '', width = 1280, height = 860, dark = false } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, colorScheme: dark ? 'dark' : 'light', reducedMotion: 'reduce' });
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || /Content Security Policy/i.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  await page.goto(`${base}?backend=mock&latency=30&${query}${route ? `#${route}` : ''}`);
  await page.waitForSelector('main h1');
  return {
    page,
    context,
    problems,
    async done() {
      await context.close();
      assert.deepEqual(problems, [], 'no CSP violations, console errors or page errors');
    },
  };
}

/** Waits for the screen's heading. */
export async function heading(page, text) {
  await page.locator('main h1', { hasText: text }).waitFor();
  await page.waitForFunction(() => !document.querySelector('main[aria-busy="true"], .loading'));
}

export async function shot(page, name) {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** axe-core in the page: no serious or critical violations. */
export async function axe(page, label) {
  // Evaluated through the DevTools protocol, so the page's CSP (no inline scripts) does not block it.
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(AXE);
  const violations = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
  });
  assert.deepEqual(violations, [], `axe on ${label}`);
}

/** Nothing wider than the viewport (phone width must not scroll sideways). */
export async function noSideScroll(page, label) {
  const over = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(over <= 0, `${label}: page is ${over}px wider than the viewport`);
}

export async function mockCalls(page, method) {
  return page.evaluate((m) => window.__carekeyMock.calls.filter((c) => c.method === m).map((c) => c.args), method);
}

/** A PNG of a QR code holding `text`. */
export function qrPng(text) {
  return QRCode.toBuffer(text, { errorCorrectionLevel: 'M', margin: 4, scale: 8 });
}

/**
 * A Y4M (YUV4MPEG2, 4:2:0) video of a QR code for chromium's fake camera: the luma plane is the
 * QR (black modules on white), chroma neutral.
 */
export function qrY4m(text, { width = 640, height = 480, frames = 15 } = {}) {
  const qr = QRCode.create(text, { errorCorrectionLevel: 'M' });
  const n = qr.modules.size;
  const quiet = 4;
  const scale = Math.floor(Math.min(width, height) * 0.85 / (n + 2 * quiet));
  const side = scale * (n + 2 * quiet);
  const x0 = Math.floor((width - side) / 2);
  const y0 = Math.floor((height - side) / 2);
  const y = Buffer.alloc(width * height, 200);
  for (let py = 0; py < side; py++) {
    for (let px = 0; px < side; px++) {
      const mx = Math.floor(px / scale) - quiet;
      const my = Math.floor(py / scale) - quiet;
      const dark = mx >= 0 && my >= 0 && mx < n && my < n && qr.modules.get(my, mx);
      y[(y0 + py) * width + x0 + px] = dark ? 16 : 235;
    }
  }
  const chroma = Buffer.alloc((width / 2) * (height / 2), 128);
  const header = Buffer.from(`YUV4MPEG2 W${width} H${height} F10:1 Ip A1:1 C420jpeg\n`);
  const frame = Buffer.concat([Buffer.from('FRAME\n'), y, chroma, chroma]);
  return Buffer.concat([header, ...Array.from({ length: frames }, () => frame)]);
}

export function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'carekey-ui-e2e-'));
  return { dir, file: (name) => join(dir, name), write: (name, data) => writeFileSync(join(dir, name), data), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

// ---- shared by the home and grant-page tests ----

export const BERG = 'Dr. Anna Berg — Riverside Family Practice';
export const HOME = 'Who can see my records';

/** The mock's ids (src/backend/mock.ts `hexId`). */
export function hexId(seed) {
  let out = '';
  let h = 0x811c9dc5;
  for (let round = 0; out.length < 64; round++) {
    for (const c of `${seed}:${round}`) {
      h ^= c.charCodeAt(0);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    out += h.toString(16).padStart(8, '0');
  }
  return out.slice(0, 64);
}
export const BERG_GRANT = hexId('grant-berg');
export const PHARMACY_GRANT = hexId('grant-pharmacy');

/** What the patient reads: main's text without folded technical details. */
export async function plainText(page) {
  return page.evaluate(() => {
    const main = document.querySelector('main').cloneNode(true);
    for (const d of main.querySelectorAll('details')) d.remove();
    return main.textContent;
  });
}

export async function noJargon(page, label) {
  const text = await plainText(page);
  assert.doesNotMatch(text, /[0-9a-f]{16,}/i, `${label}: no hex on the screen`);
  assert.doesNotMatch(text, /https?:\/\//, `${label}: no URL on the screen`);
  assert.doesNotMatch(text, /checkpoint|cosignature|epoch|log key/i, `${label}: no ledger jargon`);
}

/** Waits for Home with its content drawn (holders or the empty state). */
export async function home(page) {
  await heading(page, HOME);
  await page.locator('.home-area .holders, .home-area .home-empty').first().waitFor();
}
