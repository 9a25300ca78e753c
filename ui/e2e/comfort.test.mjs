// The window's comfort (issue 10): language, text size, theme, auto-lock, the unseen-accesses
// badge, the locked "something new" banner, narrow navigation by keyboard, errors in plain words.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { PASS, axe, heading, launch, mockCalls, noSideScroll, open, serve, shot } from './harness.mjs';

let server;
let browser;
before(async () => { server = await serve(); browser = await launch(); });
after(async () => { await browser?.close(); await server?.close(); });

/** `open`, then localStorage entries set and the page reloaded (so the app starts with them). */
async function openWith(storage, opts) {
  const s = await open(browser, server.url, opts);
  await s.page.evaluate((entries) => { for (const [k, v] of Object.entries(entries)) localStorage.setItem(k, v); }, storage);
  await s.page.reload();
  await s.page.waitForSelector('main h1');
  await s.page.waitForFunction(() => !document.querySelector('main[aria-busy="true"]'));
  return s;
}

const settled = (page) => page.waitForFunction(() => !document.querySelector('[aria-busy="true"], .loading'));

test('language: Deutsch in Settings turns the whole window German, keeps focus, survives a reload', async () => {
  const s = await open(browser, server.url, { route: '/settings' });
  const { page } = s;
  await heading(page, 'Settings');
  await settled(page);
  const comfort = page.locator('#comfort');
  await comfort.getByRole('radio', { name: 'Deutsch' }).check();
  await page.waitForFunction(() => document.documentElement.lang === 'de');
  const nav = page.locator('nav#main-nav');
  await nav.getByRole('link', { name: 'Einstellungen' }).waitFor();
  for (const label of ['Start', 'Einträge', 'Teilen', 'Aktivität']) await nav.getByRole('link', { name: label }).waitFor();
  assert.equal(await page.locator('#lock').textContent(), 'Sperren');
  assert.match(await page.locator('footer').textContent(), /verschlüsselt/);
  await page.locator('#comfort legend', { hasText: 'Sprache' }).waitFor();
  await page.waitForFunction(() => document.activeElement?.id === 'comfort-language-de');
  await page.waitForFunction(() => document.querySelector('#announcer').textContent === 'Gespeichert: Deutsch.');
  await axe(page, 'settings in German');
  await shot(page, 'comfort-de-1280');
  await page.reload();
  await page.waitForSelector('main h1');
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'de');
  await nav.getByRole('link', { name: 'Einstellungen' }).waitFor();
  // Back to English.
  await settled(page);
  await page.locator('#comfort-language-en').check();
  await page.waitForFunction(() => document.documentElement.lang === 'en');
  await nav.getByRole('link', { name: 'Settings' }).waitFor();
  await s.done();
});

test('text size: larger text scales the page; 390 px still has no sideways scroll', async () => {
  const s = await open(browser, server.url, { route: '/settings', width: 390, height: 800 });
  const { page } = s;
  await heading(page, 'Settings');
  await settled(page);
  const size = () => page.evaluate(() => parseFloat(getComputedStyle(document.body).fontSize));
  const normal = await size();
  await page.locator('#comfort').getByRole('radio', { name: 'Larger' }).check();
  assert.equal(await page.evaluate(() => document.documentElement.className), 'text-larger');
  assert.ok(await size() >= normal * 1.3, 'body text is larger');
  await noSideScroll(page, 'settings larger');
  await axe(page, 'settings larger text');
  await shot(page, 'comfort-larger-390');
  for (const [route, title] of [['/home', ''], ['/records', 'Records'], ['/share', ''], ['/access', ''], ['/grants', '']]) {
    await page.evaluate((r) => { location.hash = r; }, route);
    await page.waitForFunction((r) => location.hash === `#${r}`, route);
    if (title) await heading(page, title);
    await settled(page);
    await noSideScroll(page, `${route} larger at 390`);
  }
  await page.reload();
  await page.waitForSelector('main h1');
  assert.equal(await page.evaluate(() => document.documentElement.className), 'text-larger', 'remembered');
  await s.done();
});

test('theme: Dark in Settings, and the header button follows', async () => {
  const s = await open(browser, server.url, { route: '/settings' });
  const { page } = s;
  await heading(page, 'Settings');
  await settled(page);
  const bg = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  const light = await bg();
  await page.locator('#comfort').getByRole('radio', { name: 'Dark' }).check();
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
  assert.notEqual(await bg(), light);
  assert.equal(await page.locator('#theme-toggle').textContent(), 'Theme: Dark');
  await axe(page, 'settings dark');
  // The header button moves Settings' choice too.
  await page.locator('#theme-toggle').click();
  assert.equal(await page.locator('#comfort-theme-light').isChecked(), true);
  await s.done();
});

test('auto-lock: after the idle time the wallet locks and says why; "Never" keeps it open', async () => {
  const s = await openWith({ 'carekey-test-idle-ms': '1500' }, { route: '/records' });
  const { page } = s;
  await heading(page, 'Records');
  await heading(page, 'Unlock your wallet');
  assert.equal((await mockCalls(page, 'lock')).length, 1);
  await page.locator('#auto-locked', { hasText: 'Carekey locked itself after 15 minutes without use.' }).waitFor();
  assert.equal(await page.locator('nav#main-nav').isHidden(), true);
  await axe(page, 'auto-locked');
  await shot(page, 'auto-locked-1280');
  // Unlock, then turn auto-lock off: it stays unlocked.
  await page.locator('input[type="password"]').first().fill(PASS);
  await page.keyboard.press('Enter');
  await page.locator('#lock').waitFor({ state: 'visible' });
  await page.evaluate(() => { location.hash = '#/settings'; });
  await heading(page, 'Settings');
  await settled(page);
  await page.locator('#comfort-auto-lock-0').check();
  assert.equal(await page.evaluate(() => localStorage.getItem('carekey-auto-lock')), '0');
  await page.waitForTimeout(2500);
  assert.equal((await mockCalls(page, 'lock')).length, 1, 'no second lock');
  assert.equal(await page.locator('#lock').isVisible(), true);
  await s.done();
});

test('auto-lock: input keeps the wallet open', async () => {
  const s = await openWith({ 'carekey-test-idle-ms': '1200' }, { route: '/records' });
  const { page } = s;
  await heading(page, 'Records');
  for (let i = 0; i < 6; i++) {
    await page.waitForTimeout(400);
    await page.mouse.move(100 + i * 10, 200);
  }
  assert.equal((await mockCalls(page, 'lock')).length, 0);
  await heading(page, 'Unlock your wallet');
  await s.done();
});

test('badge: a background access shows on Activity and is announced; seen accesses clear it', async () => {
  const s = await open(browser, server.url, { route: '/records' });
  const { page } = s;
  await heading(page, 'Records');
  const activity = page.locator('nav#main-nav a[href="#/access"]');
  const count = async () => Number((await activity.locator('.nav-badge').textContent({ timeout: 2000 }).catch(() => '0')) || 0);
  await page.evaluate(() => window.__carekeyMock.markAccessesSeen());
  await page.evaluate(() => { location.hash = '#/share'; });
  await page.waitForFunction(() => !document.querySelector('a[href="#/access"] .nav-badge'));
  await page.evaluate(() => window.__carekeyMock.simulateBackgroundAccess());
  await activity.locator('.nav-badge', { hasText: '1' }).waitFor();
  assert.equal(await count(), 1);
  assert.match(await activity.textContent(), /Activity.*1 new access/);
  await page.waitForFunction(() => document.querySelector('#announcer').textContent === '1 new access');
  // A background check never moves the keyboard focus.
  await activity.focus();
  await page.evaluate(() => window.__carekeyMock.simulateBackgroundAccess());
  await activity.locator('.nav-badge', { hasText: '2' }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('href')), '#/access', 'focus stays on the link');
  await page.waitForFunction(() => document.querySelector('#announcer').textContent === '2 new accesses');
  await axe(page, 'badge');
  await shot(page, 'badge-1280');
  // The access log marks them seen (or anything else does): the next status clears the badge.
  await page.evaluate(() => window.__carekeyMock.markAccessesSeen());
  await page.evaluate(() => { location.hash = '#/records'; });
  await page.waitForFunction(() => !document.querySelector('a[href="#/access"] .nav-badge'));
  await s.done();
});

test('window focus checks now, at most once per throttle period', async () => {
  const s = await openWith({ 'carekey-test-check-ms': '400' }, { route: '/records' });
  const { page } = s;
  await heading(page, 'Records');
  const before = (await mockCalls(page, 'checkNow')).length;
  await page.waitForTimeout(450);
  await page.evaluate(() => { window.dispatchEvent(new Event('focus')); window.dispatchEvent(new Event('focus')); });
  await page.waitForTimeout(100);
  assert.equal((await mockCalls(page, 'checkNow')).length, before + 1, 'one check for two focus events');
  await s.done();
});

test('locked: "Something new happened — unlock to see" without details, gone after unlock', async () => {
  const s = await open(browser, server.url, { query: 'scenario=locked' });
  const { page } = s;
  await heading(page, 'Unlock your wallet');
  assert.equal(await page.locator('#new-while-locked').count(), 0);
  await page.evaluate(() => window.__carekeyMock.simulateBackgroundAccess());
  const banner = page.locator('#new-while-locked');
  await banner.waitFor();
  assert.equal((await banner.textContent()).trim(), 'Something new happened — unlock to see.');
  const body = await page.evaluate(() => document.body.innerText);
  assert.doesNotMatch(body, /Anna Berg|Riverside/, 'no details while locked');
  assert.ok((await page.evaluate(() => document.querySelector('main').compareDocumentPosition(document.querySelector('#new-while-locked')))) & 2, 'the banner is above main');
  await axe(page, 'locked, something new');
  await shot(page, 'locked-something-new-1280');
  await page.locator('input[type="password"]').first().fill(PASS);
  await page.keyboard.press('Enter');
  await page.locator('#lock').waitFor({ state: 'visible' });
  await page.waitForFunction(() => !document.querySelector('#new-while-locked'));
  await page.locator('nav#main-nav a[href="#/access"] .nav-badge').waitFor();
  await s.done();
});

test('narrow window: the navigation is a menu button, keyboard and screen-reader friendly', async () => {
  const s = await open(browser, server.url, { route: '/home', width: 390, height: 760 });
  const { page } = s;
  await settled(page);
  const menu = page.locator('#menu-toggle');
  assert.equal(await page.locator('nav#main-nav').isVisible(), false, 'folded');
  assert.equal(await menu.getAttribute('aria-expanded'), 'false');
  assert.equal(await menu.getAttribute('aria-controls'), 'main-nav');
  // The header never wraps: one row.
  const rows = await page.evaluate(() => {
    const tops = [...document.querySelectorAll('.topbar > *, .top-actions > :not([hidden])')].filter((e) => getComputedStyle(e).display !== 'none').map((e) => Math.round(e.getBoundingClientRect().top + e.getBoundingClientRect().height / 2));
    return new Set(tops.map((t) => Math.round(t / 8))).size;
  });
  assert.equal(rows, 1, 'the header is one row');
  await noSideScroll(page, 'home 390');
  await menu.focus();
  await page.keyboard.press('Enter');
  assert.equal(await menu.getAttribute('aria-expanded'), 'true');
  await page.locator('nav#main-nav').waitFor({ state: 'visible' });
  await axe(page, 'menu open 390');
  await shot(page, 'menu-open-390');
  // Escape closes it and focus returns to the button.
  await page.keyboard.press('Tab');
  await page.keyboard.press('Escape');
  assert.equal(await menu.getAttribute('aria-expanded'), 'false');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'menu-toggle');
  // Open again and follow "Records" with the keyboard.
  await page.keyboard.press('Space');
  for (let i = 0; i < 10; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate(() => document.activeElement?.textContent === 'Records')) break;
  }
  await page.keyboard.press('Enter');
  await heading(page, 'Records');
  assert.equal(await menu.getAttribute('aria-expanded'), 'false', 'closed after choosing');
  assert.equal(await page.evaluate(() => document.activeElement?.tagName), 'H1');
  // The same in larger text and German.
  await page.evaluate(() => { localStorage.setItem('carekey-text-size', 'larger'); localStorage.setItem('carekey-language', 'de'); });
  await page.reload();
  await page.waitForSelector('main h1');
  await settled(page);
  assert.match(await menu.textContent(), /^Menü/);
  await noSideScroll(page, 'records 390 larger German');
  const overlap = await page.evaluate(() => {
    const boxes = [...document.querySelectorAll('.brand .mark, .brand-text, #lock, #menu-toggle')].map((e) => e.getBoundingClientRect());
    return boxes.some((a, i) => boxes.some((b, j) => i < j && a.right > b.left + 1 && b.right > a.left + 1 && a.bottom > b.top && b.bottom > a.top));
  });
  assert.equal(overlap, false, 'the header items do not overlap');
  await menu.click();
  await axe(page, 'menu open 390 larger German');
  await shot(page, 'menu-open-390-de-larger');
  await s.done();
});

test('alarm banner in plain words, linking to Settings', async () => {
  const s = await open(browser, server.url, { route: '/records', query: 'scenario=unlocked&fail=alarm' });
  const { page } = s;
  await heading(page, 'Records');
  const banner = page.locator('.alarm-banner');
  await banner.waitFor();
  assert.equal(await banner.getAttribute('role'), 'alert');
  const text = await banner.innerText();
  assert.match(text, /^Warning: a ledger node gave two different answers/);
  assert.doesNotMatch(text, /https?:|checkpoint|cosignature|epoch|[0-9a-f]{16}/i);
  await banner.getByRole('link', { name: 'What to do, in Settings' }).click();
  await heading(page, 'Settings');
  await s.done();
});

test('errors: a plain sentence first, the wallet message and code under Technical details (German too)', async () => {
  const s = await openWith({ 'carekey-language': 'de' }, { query: 'scenario=locked' });
  const { page } = s;
  await page.locator('input[type="password"]').first().fill('not my passphrase');
  await page.keyboard.press('Enter');
  const alert = page.getByRole('alert').filter({ hasText: /Diese Passphrase stimmt nicht/ });
  await alert.waitFor();
  const details = alert.locator('details');
  assert.equal(await details.locator('summary').textContent(), 'Technische Details');
  assert.equal(await details.evaluate((d) => d.open), false, 'folded');
  assert.match(await alert.textContent(), /wrong passphrase.*wrong_passphrase/, 'the wallet message stays in the DOM');
  assert.doesNotMatch(await alert.innerText(), /wrong_passphrase/, 'but out of sight');
  await details.locator('summary').click();
  assert.match(await alert.innerText(), /Fehlercode: wrong_passphrase/);
  await axe(page, 'error in German');
  await s.done();
});
