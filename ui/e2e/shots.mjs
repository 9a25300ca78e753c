// Screenshots of every screen and state for the docs (issue 10: "light, dark, 390 px, second
// language"), on the mock backend: docs/screenshots/app/<nn>-<name>-<variant>.png.
// Not a test (CI does not run it). Regenerate: `npm run build && node e2e/shots.mjs [name…]`.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { REQUEST, STRONG, UI, launch, serve } from './harness.mjs';

const OUT = join(UI, '..', 'docs', 'screenshots', 'app');
/** The mock's clock (src/backend/mock.ts MOCK_NOW), plus a minute: the same times in every shot. */
const MOCK_NOW = 1741944600;

const VARIANTS = [
  { id: 'light', width: 1280, height: 860, dark: false, locale: 'en-GB' },
  { id: 'dark', width: 1280, height: 860, dark: true, locale: 'en-GB' },
  { id: '390', width: 390, height: 844, dark: false, locale: 'en-GB' },
  { id: 'de', width: 1280, height: 860, dark: false, locale: 'de-DE' },
];

/** The mock's ids, read from the mock itself. */
const recordId = (page, title) => page.evaluate(async (t) => (await window.__carekeyMock.listRecords()).find((r) => r.title === t).id, title);
const grantId = (page, who) => page.evaluate(async (w) => (await window.__carekeyMock.listGrants()).find((g) => g.providerName.includes(w) && g.status === 'active').id, who);

async function go(page, route) {
  await page.evaluate((r) => { location.hash = r; }, route);
  await page.waitForURL((u) => u.hash.startsWith(`#${route.split('#')[0]}`));
  await settle(page);
}

async function settle(page) {
  await page.waitForSelector('main h1');
  await page.waitForFunction(() => !document.querySelector('main[aria-busy="true"], [aria-busy="true"], .loading'), null, { timeout: 8000 }).catch(() => undefined);
  await page.waitForTimeout(250);
}

/** Create a wallet (language-independent selectors) and stop on the recovery kit. */
async function toRecoveryKit(page) {
  await go(page, '/create');
  const fields = page.locator('main input[type="password"]');
  await fields.nth(0).fill(STRONG);
  await fields.nth(1).fill(STRONG);
  await page.locator('main form button[type="submit"]').first().click();
  await page.locator('ol.words').waitFor();
  await settle(page);
}

async function pasteLink(page, uri) {
  await go(page, '/share');
  const link = page.locator('input[name="carekey-link"]');
  await link.fill(uri);
  await link.press('Enter');
  await page.waitForURL(/#\/share\/review/);
  await settle(page);
}

/** [number, name, query, how to get there (the page starts on `route` or the landing screen)]. */
const SCREENS = [
  ['01', 'welcome', 'scenario=new', async (page) => go(page, '/welcome')],
  ['02', 'create', 'scenario=new', async (page) => {
    await go(page, '/create');
    const fields = page.locator('main input[type="password"]');
    await fields.nth(0).fill(STRONG);
    await fields.nth(1).fill(STRONG);
    await page.waitForTimeout(150);
  }],
  ['03', 'recovery-kit', 'scenario=new', toRecoveryKit],
  ['04', 'first-backup', 'scenario=new', async (page) => {
    await toRecoveryKit(page);
    await page.locator('main .btn.primary:visible').click();
    await page.waitForURL(/#\/first-backup/);
    await settle(page);
  }],
  ['05', 'unlock', 'scenario=locked', async (page) => go(page, '/unlock')],
  ['06', 'restore', 'scenario=locked', async (page) => {
    await go(page, '/unlock');
    await page.locator('.forgot a').click();
    await page.waitForURL(/#\/restore/);
    await settle(page);
  }],
  ['07', 'home', 'scenario=unlocked&backup=3', async (page) => go(page, '/home')],
  ['08', 'home-empty', 'scenario=unlocked&grants=none&backup=3', async (page) => go(page, '/home')],
  ['09', 'home-alarm', 'scenario=unlocked&fail=alarm&backup=3', async (page) => go(page, '/home')],
  ['10', 'home-no-backup', 'scenario=unlocked', async (page) => go(page, '/home')],
  ['11', 'grant', 'scenario=unlocked&backup=3', async (page) => go(page, `/grants/${await grantId(page, 'Berg')}`)],
  ['12', 'all-sharing', 'scenario=unlocked&backup=3', async (page) => go(page, '/grants')],
  ['13', 'activity', 'scenario=unlocked&backup=3', async (page) => go(page, '/access')],
  ['14', 'records', 'scenario=unlocked&backup=3', async (page) => go(page, '/records')],
  ['15', 'record', 'scenario=unlocked&backup=3', async (page) => go(page, `/records/${await recordId(page, 'HbA1c')}`)],
  ['16', 'share', 'scenario=unlocked&backup=3', async (page) => go(page, '/share')],
  ['17', 'review-code', 'scenario=unlocked&backup=3', async (page) => pasteLink(page, 'carekey:request/v1/unlisted-provider-request')],
  ['18', 'review-checked', 'scenario=unlocked&backup=3', async (page) => pasteLink(page, REQUEST)],
  ['19', 'done', 'scenario=unlocked&backup=3', async (page) => {
    await pasteLink(page, REQUEST);
    await page.locator('main form button[type="submit"].primary, main form .btn.primary').first().click();
    // Sharing ends on Home, with the result above the new holder.
    await page.waitForURL(/#\/home/);
    await page.locator('#home-flash').waitFor();
    await settle(page);
  }],
  ['20', 'my-qr', 'scenario=unlocked&backup=3', async (page) => go(page, '/my-qr')],
  ['21', 'receipt', 'scenario=unlocked&backup=3', async (page) => {
    await go(page, `/records/${await recordId(page, 'HbA1c')}`);
    await page.locator('#delete-record').click();
    await page.locator('dialog[open] button[value="ok"]').click();
    await page.waitForURL(/#\/receipt/);
    await settle(page);
  }],
  ['22', 'settings', 'scenario=unlocked&backup=3', async (page) => go(page, '/settings')],
  ['23', 'health-card-checked', 'scenario=unlocked&backup=3&issuers=1', async (page) => addCard(page, 'vaccination.smart-health-card')],
  ['24', 'health-card-not-checked', 'scenario=unlocked&backup=3', async (page) => addCard(page, 'vaccination.smart-health-card')],
  ['25', 'health-card-refused', 'scenario=unlocked&backup=3&issuers=1', async (page) => addCard(page, 'tampered.smart-health-card')],
  ['26', 'card-issuers', 'scenario=unlocked&backup=3&issuers=1', async (page) => {
    await go(page, '/settings#card-issuers');
    await page.locator('#card-issuers').scrollIntoViewIfNeeded();
  }],
  ['27', 'patient-summary', 'scenario=unlocked&backup=3&patient=1', async (page) => go(page, '/summary')],
  // SMART Health Links (issue 11).
  ['28', 'link-new', 'scenario=unlocked&backup=3', async (page) => go(page, '/links/new')],
  ['29', 'link-created', 'scenario=unlocked&backup=3', async (page) => {
    await go(page, '/links/new');
    await page.locator('#link-summary').check();
    await page.locator('#link-label').fill('For Dr. Weber');
    await page.locator('#link-passcode').fill('482913');
    await page.locator('#create-link').click();
    await page.locator('#created-passcode').waitFor();
    await settle(page);
  }],
  ['30', 'link', 'scenario=unlocked&backup=3', async (page) => go(page, `/links/${(await page.evaluate(async () => (await window.__carekeyMock.listLinks())[0].id))}`)],
  ['31', 'links', 'scenario=unlocked&backup=3', async (page) => go(page, '/links')],
];

/** Records → "Add a health card" → a card file from the (mock's) file chooser; the result shown. */
async function addCard(page, name) {
  await go(page, '/records');
  await page.locator('#add-health-card > summary').click();
  const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.locator('#choose-card').click()]);
  await chooser.setFiles({ name, mimeType: 'application/octet-stream', buffer: Buffer.from('card') });
  await page.locator('.card-verdict').waitFor();
  await settle(page);
}

/** 256 colours (ImageMagick, if installed): the flat UI looks the same at a third of the size. */
let magick = true;
function shrink(file) {
  if (!magick) return;
  try {
    execFileSync('convert', [file, '-colors', '256', `PNG8:${file}`], { stdio: 'ignore' });
  } catch {
    magick = false;
    console.warn('ImageMagick `convert` not found: PNGs stay full colour');
  }
}

async function shoot(browser, base, [nn, name, query, reach], v) {
  const context = await browser.newContext({
    viewport: { width: v.width, height: v.height }, colorScheme: v.dark ? 'dark' : 'light', locale: v.locale,
    timezoneId: 'Europe/Berlin', reducedMotion: 'reduce',
  });
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(e.message));
  try {
    await page.clock.setFixedTime(new Date((MOCK_NOW + 60) * 1000));
    // `mockbadge=off`: no "Mock backend: test data" badge in the footer (docs only).
    await page.goto(`${base}?backend=mock&latency=0&mockbadge=off&${query}`);
    await settle(page);
    await reach(page);
    await page.evaluate(() => document.activeElement instanceof HTMLElement && document.activeElement.blur());
    const file = join(OUT, `${nn}-${name}-${v.id}.png`);
    await page.screenshot({ path: file, fullPage: true });
    shrink(file);
    if (problems.length) console.warn(`  ${nn}-${name}-${v.id}: ${problems.join('; ')}`);
    return file;
  } finally {
    await context.close();
  }
}

const only = process.argv.slice(2);
mkdirSync(OUT, { recursive: true });
const server = await serve();
const browser = await launch();
let failed = 0;
try {
  for (const screen of SCREENS.filter(([, name]) => only.length === 0 || only.some((o) => name.includes(o)))) {
    for (const v of VARIANTS) {
      try {
        const file = await shoot(browser, server.url, screen, v);
        console.log(file.slice(OUT.length + 1));
      } catch (err) {
        failed++;
        console.error(`FAILED ${screen[0]}-${screen[1]}-${v.id}: ${err.message.split('\n')[0]}`);
      }
    }
  }
} finally {
  await browser.close();
  await server.close();
}
process.exitCode = failed ? 1 : 0;
