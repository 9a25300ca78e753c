// Home ("Who can see my records"), a grant's page, "All sharing" and Activity, on the mock:
// every state (seeded, empty, many, loading, error, alarm, backups, German, 390 px), axe on each,
// and a provider's access that shows up without any click.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BERG, BERG_GRANT, axe, heading, home, launch, mockCalls, noJargon, noSideScroll, open, serve, shot,
} from './harness.mjs';

let server;
let browser;
before(async () => { server = await serve(); browser = await launch(); });
after(async () => { await browser?.close(); await server?.close(); });

// The server is created in before(); tests read it through this (keeps the calls short).
function s0() { return server.url; }

test('home: who can see my records, with time left, last access, backup and a check on open', async () => {
  const s = await open(browser, s0(), { route: '/home' });
  const { page } = s;
  await home(page);
  const card = page.locator('.holder', { hasText: BERG });
  await card.waitFor();
  assert.equal(await page.locator('.holder').count(), 1, 'only the active grant');
  assert.match(await card.textContent(), /Shared with a provider/);
  assert.match(await card.textContent(), /Not checked by a directory you trust/);
  assert.match(await card.textContent(), /Can see: Conditions, Results & measurements, Medications \(statements\) · 6 records/);
  assert.match(await card.textContent(), /25 days left · until 8 Apr 2025/);
  assert.match(await card.textContent(), /Read 3 records 2 days ago/);
  assert.equal(await card.getByRole('link', { name: BERG }).getAttribute('href'), `#/grants/${BERG_GRANT}`);
  const stop = card.getByRole('button', { name: 'Stop sharing' });
  assert.doesNotMatch(await stop.getAttribute('class'), /danger/, 'outlined, not red');
  // Backup banner and the rest.
  const banner = page.locator('#backup-banner');
  assert.match(await banner.textContent(), /No backup yet — back up now/);
  assert.equal(await banner.getAttribute('href'), '#/settings#backup');
  await page.getByText('Working normally.').waitFor();
  assert.equal(await page.getByRole('link', { name: 'All sharing, including ended' }).getAttribute('href'), '#/grants');
  // Opening the home checks the ledger; "Check now" checks again.
  await page.getByText('Checked just now').waitFor();
  const before = (await mockCalls(page, 'checkNow')).length;
  assert.ok(before >= 1, 'checkNow on open');
  await page.getByRole('button', { name: 'Check now' }).click();
  await page.waitForFunction((n) => window.__carekeyMock.calls.filter((c) => c.method === 'checkNow').length > n, before);
  await page.waitForFunction(() => document.getElementById('announcer')?.textContent === '1 person can see your records');
  await noJargon(page, 'home');
  await axe(page, 'home');
  await shot(page, 'home-1280');
  await s.done();
});

test('home: verified by a trusted directory', async () => {
  const s = await open(browser, s0(), { route: '/home', query: 'scenario=unlocked&directory=1' });
  await home(s.page);
  await s.page.locator('.holder .holder-check.ok', { hasText: 'Checked by a directory you trust' }).waitFor();
  await s.done();
});

test('home: empty, nobody can see the records', async () => {
  const s = await open(browser, s0(), { route: '/home', query: 'scenario=unlocked&grants=none' });
  const { page } = s;
  await home(page);
  await page.getByText('Nobody can see your records.').waitFor();
  const share = page.getByRole('link', { name: 'Share with a provider' });
  assert.equal(await share.getAttribute('href'), '#/share');
  assert.match(await share.getAttribute('class'), /primary/);
  await page.getByText('Nobody has opened your records yet.').waitFor();
  await axe(page, 'home empty');
  await shot(page, 'home-empty-1280');
  await s.done();
});

test('home: no records yet either — "Add records" first; German at 390 px', async () => {
  const s = await open(browser, s0(), { route: '/settings', query: 'scenario=unlocked&grants=none', width: 390, height: 844 });
  const { page } = s;
  await page.evaluate(() => localStorage.setItem('carekey-language', 'de'));
  await page.reload();
  await heading(page, 'Einstellungen');
  await page.evaluate(async () => {
    const m = window.__carekeyMock;
    for (const r of await m.listRecords()) await m.eraseRecord({ id: r.id });
    location.hash = '#/home';
  });
  await heading(page, 'Wer meine Daten sehen kann');
  const add = page.locator('#home-add-records');
  await add.waitFor();
  assert.equal(await add.textContent(), 'Einträge hinzufügen');
  assert.match(await add.getAttribute('class'), /\bprimary\b/);
  assert.match(await page.getByRole('link', { name: 'Mit einer Praxis teilen' }).getAttribute('class'), /\bsecondary\b/);
  await page.getByText(/In Ihrer Wallet sind noch keine Einträge\./).waitFor();
  await noSideScroll(page, 'home no records 390 de');
  await axe(page, 'home no records 390 de');
  await shot(page, 'home-no-records-390-de');
  // The chooser, then Records with what was added.
  const [chooser] = await Promise.all([page.waitForEvent('filechooser'), add.click()]);
  await chooser.setFiles({ name: 'weight.json', mimeType: 'application/json', buffer: Buffer.from('{}') });
  await page.waitForFunction(() => location.hash === '#/records');
  await page.getByRole('link', { name: /^Body weight|^Körpergewicht/ }).waitFor();
  await s.done();
});

test('home: many holders, soonest end first, at 390 px', async () => {
  const s = await open(browser, s0(), { route: '/home', query: 'scenario=unlocked&grants=many', width: 390, height: 844 });
  const { page } = s;
  await home(page);
  assert.equal(await page.locator('.holder').count(), 13);
  const left = await page.locator('.holder .time-left strong').allTextContents();
  assert.match(left[0], /^ends tomorrow at \d\d:\d\d$/);
  assert.equal(left.at(-1), '56 days left');
  await page.waitForFunction(() => document.getElementById('announcer')?.textContent === '13 people can see your records');
  await noSideScroll(page, 'home many 390');
  await axe(page, 'home many 390');
  await shot(page, 'home-many-390');
  await s.done();
});

test('home: loading, then an error with a way to try again', async () => {
  const s = await open(browser, s0(), { route: '/records' });
  const { page } = s;
  await heading(page, 'Records');
  // A slow wallet (the mock's latency, raised for this step).
  await page.evaluate(() => { window.__carekeyMock.latencyMs = 1500; location.hash = '#/home'; });
  await page.locator('.home-area .loading', { hasText: 'Loading who can see your records' }).waitFor();
  await axe(page, 'home loading');
  await page.evaluate(() => { window.__carekeyMock.latencyMs = 30; });
  await home(page);
  // Let the reloads after the check on open finish, so the failure below meets the next visit.
  await page.getByText('Checked just now').waitFor();
  await page.waitForFunction(() => window.__carekeyMock.calls.filter((c) => c.method === 'home').length >= 3);
  await page.waitForTimeout(300);
  await page.evaluate(() => { window.__carekeyMock.failNext('home', 'io', 'the wallet file could not be read'); location.hash = '#/records'; });
  await heading(page, 'Records');
  await page.evaluate(() => { location.hash = '#/home'; });
  await page.getByRole('alert').filter({ hasText: /could not be read/ }).waitFor();
  await axe(page, 'home error');
  await shot(page, 'home-error-1280');
  await page.getByRole('button', { name: 'Try again' }).click();
  await page.locator('.holder', { hasText: BERG }).waitFor();
  await s.done();
});

test('home: a ledger alarm is loud; an unreachable node is a calm warning', async () => {
  const s = await open(browser, s0(), { route: '/home', query: 'scenario=unlocked&fail=alarm' });
  const { page } = s;
  await home(page);
  const alarm = page.locator('#ledger-problem');
  await alarm.waitFor();
  assert.equal(await alarm.getAttribute('role'), 'alert');
  assert.match(await alarm.textContent(), /A ledger node gave two different answers about your records/);
  assert.equal(await alarm.getByRole('link').getAttribute('href'), '#/settings');
  await noJargon(page, 'home alarm');
  await axe(page, 'home alarm');
  await shot(page, 'home-alarm-1280');
  await s.done();

  const u = await open(browser, s0(), { route: '/home', query: 'scenario=unlocked&fail=unreachable' });
  await home(u.page);
  const warn = u.page.locator('#ledger-problem');
  await warn.waitFor();
  assert.equal(await warn.getAttribute('role'), null, 'not an alert');
  assert.match(await warn.textContent(), /ledger node cannot be reached/);
  await axe(u.page, 'home unreachable');
  await u.done();
});

test('home: a recent backup is calm, an old one is a banner', async () => {
  const s = await open(browser, s0(), { route: '/home', query: 'scenario=unlocked&backup=12' });
  await home(s.page);
  await s.page.getByText('Last backup 12 days ago.').waitFor();
  assert.equal(await s.page.locator('#backup-banner').count(), 0, 'not due: no banner');
  await s.done();
  const o = await open(browser, s0(), { route: '/home', query: 'scenario=unlocked&backup=45' });
  await home(o.page);
  assert.match(await o.page.locator('#backup-banner').textContent(), /Last backup 45 days ago — back up now/);
  await axe(o.page, 'home old backup');
  await o.done();
});

test('home: a provider\u2019s access in the background shows without a click', async () => {
  const s = await open(browser, s0(), { route: '/home' });
  const { page } = s;
  await home(page);
  await page.getByText('Checked just now').waitFor();
  const card = page.locator('.holder', { hasText: BERG });
  assert.match(await card.textContent(), /Read 3 records 2 days ago/);
  await page.evaluate(() => window.__carekeyMock.simulateBackgroundAccess());
  await card.getByText('Read 2 records 1 min ago').waitFor();
  await page.locator('.glance', { hasText: `${BERG} read 2 records 1 min ago.` }).waitFor();
  await page.waitForFunction(() => /^New: Dr\. Anna Berg .* read 2 records\.$/.test(document.getElementById('announcer')?.textContent ?? ''));
  await s.done();
});

test('home: stop sharing asks first, then says what happened; ending while a node waits', async () => {
  const s = await open(browser, s0(), { route: '/home' });
  const { page } = s;
  await home(page);
  const stop = page.locator('.holder').getByRole('button', { name: 'Stop sharing' });
  await stop.click();
  const dialog = page.getByRole('dialog', { name: `Stop sharing with ${BERG}?` });
  await dialog.waitFor();
  await axe(page, 'stop sharing dialog');
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  assert.equal((await mockCalls(page, 'revoke')).length, 0);
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Stop sharing', 'focus returns to the button');
  await stop.click();
  await page.getByRole('dialog').getByRole('button', { name: 'Stop sharing' }).click();
  await page.getByText(`${BERG} can no longer open your records. 6 records were locked with new keys.`).waitFor();
  await page.getByText('Nobody can see your records.').waitFor();
  assert.deepEqual(await mockCalls(page, 'revoke'), [{ grantId: BERG_GRANT }]);
  await s.done();

  const u = await open(browser, s0(), { route: '/home', query: 'scenario=unlocked&fail=unreachable' });
  await home(u.page);
  await u.page.locator('.holder').getByRole('button', { name: 'Stop sharing' }).click();
  await u.page.getByRole('dialog').getByRole('button', { name: 'Stop sharing' }).click();
  await u.page.getByText(/Sharing with Dr\. Anna Berg .* is ending\. 2 ledger nodes have not confirmed it yet/).waitFor();
  const ending = u.page.locator('.holder.status-ending');
  await ending.getByText('Ending: waiting for 2 ledger nodes to confirm.', { exact: false }).waitFor();
  assert.equal(await ending.getByRole('button', { name: 'Stop sharing' }).count(), 0);
  await axe(u.page, 'home ending');
  await shot(u.page, 'home-ending-1280');
  await u.done();
});
