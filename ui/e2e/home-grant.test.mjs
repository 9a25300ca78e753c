// A grant's page, "All sharing" and Activity, on the mock (home.test.mjs has the home):
// active, ended, end on an earlier date, stop, delete the shared copy; German; 390 px dark; axe on each.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BERG, BERG_GRANT, PHARMACY_GRANT, axe, heading, home, launch, mockCalls, noJargon, noSideScroll, open, serve, shot,
} from './harness.mjs';

let server;
let browser;
before(async () => { server = await serve(); browser = await launch(); });
after(async () => { await browser?.close(); await server?.close(); });

// The server is created in before(); tests read it through this (keeps the calls short).
function s0() { return server.url; }

test('grant page: what, with whom (the code to compare), when, history; technical details folded', async () => {
  const s = await open(browser, s0(), { route: '/home' });
  const { page } = s;
  await home(page);
  await page.getByRole('link', { name: BERG }).click();
  await heading(page, BERG);
  await page.getByText('Sharing now: 25 days left, until 8 Apr 2025.').waitFor();
  const records = page.locator('.shared-records a');
  assert.equal(await records.count(), 6);
  assert.match(await records.first().getAttribute('href'), /^#\/records\/[0-9a-f]{64}$/);
  await page.getByText(/no directory has checked them\. When you shared, you compared the code/).waitFor();
  assert.match(await page.locator('.provider-code').first().textContent(), /^[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{2}$/);
  await page.getByText('9 Mar 2025 (5 days ago)').waitFor();
  const history = page.locator('.history-item');
  assert.equal(await history.count(), 2);
  assert.match(await history.first().textContent(), /read 3 records: HbA1c, Glucose \(fasting\), Blood pressure\./);
  assert.equal(await page.locator('details.technical[open]').count(), 0);
  await noJargon(page, 'grant page');
  await axe(page, 'grant page');
  await shot(page, 'grant-1280');
  await page.locator('.grant-body > details.technical summary').click();
  await page.locator('.grant-body > details.technical', { hasText: BERG_GRANT }).waitFor();
  await s.done();
});

test('grant page: ended, with the date and no actions', async () => {
  const s = await open(browser, s0(), { route: `/grants/${PHARMACY_GRANT}` });
  const { page } = s;
  await heading(page, 'Lindenhof Pharmacy');
  await page.getByText('You stopped sharing on 4 Mar 2025.').waitFor();
  await page.getByText(/^Ended$/).waitFor();
  assert.equal(await page.getByRole('button', { name: /Stop sharing|End early|Delete what was shared/ }).count(), 0);
  await axe(page, 'grant ended');
  await shot(page, 'grant-ended-1280');
  await s.done();
});

test('grant page: end on an earlier date, then Home and the page show the new end; not twice', async () => {
  const s = await open(browser, s0(), { route: `/grants/${BERG_GRANT}` });
  const { page } = s;
  await heading(page, BERG);
  await page.locator('#shorten-sharing').click();
  const dialog = page.getByRole('dialog', { name: `End sharing with ${BERG} earlier?` });
  await dialog.waitFor();
  const date = dialog.getByLabel('Last day');
  // Only days from today to the day before the current end (8 Apr 2025) can be picked.
  assert.equal(await date.getAttribute('min'), '2025-03-14');
  assert.equal(await date.getAttribute('max'), '2025-04-07');
  await axe(page, 'shorten dialog');
  await shot(page, 'grant-shorten-1280');
  await date.fill('2025-03-20');
  await dialog.getByRole('button', { name: 'End on this date' }).click();
  await page.getByText(`Sharing with ${BERG} now ends on 20 Mar 2025`, { exact: false }).waitFor();
  const [call] = await mockCalls(page, 'shortenGrant');
  assert.equal(call.grantId, BERG_GRANT);
  assert.equal(new Date(call.endsAt * 1000).getDate(), 20, 'ends at the end of the chosen last day');
  assert.equal(new Date((call.endsAt + 1) * 1000).getDate(), 21);
  await page.getByText(/Sharing now: 6 days left, until 20 Mar 2025\./).waitFor();
  await page.getByText(/you moved it from 8 Apr 2025/).waitFor();
  // Shortened once: no second "earlier date"; stopping now stays.
  assert.equal(await page.locator('#shorten-sharing').count(), 0);
  await page.locator('#stop-sharing').waitFor();
  const again = await page.evaluate((id) => window.__carekeyMock.shortenGrant({ grantId: id, endsAt: 1742000000 }).then(() => 'ok', (e) => e.code), BERG_GRANT);
  assert.equal(again, 'already_shortened');
  await noJargon(page, 'grant page shortened');
  await page.getByRole('link', { name: 'Home', exact: true }).first().click();
  await page.getByText('until 20 Mar 2025 (you moved the end)').waitFor();
  await s.done();
});

test('grant page: stop sharing, then it shows when it ended', async () => {
  const s = await open(browser, s0(), { route: `/grants/${BERG_GRANT}` });
  const { page } = s;
  await heading(page, BERG);
  await page.locator('#stop-sharing').click();
  await page.getByRole('dialog').getByRole('button', { name: 'Stop sharing' }).click();
  await page.getByText('You stopped sharing on 14 Mar 2025.').waitFor();
  await page.getByText(`${BERG} can no longer open your records.`, { exact: false }).waitFor();
  assert.equal(await page.locator('#stop-sharing').count(), 0);
  await s.done();
});

test('grant page: delete what was shared leads to the receipt', async () => {
  const s = await open(browser, s0(), { route: `/grants/${BERG_GRANT}` });
  const { page } = s;
  await heading(page, BERG);
  await page.getByRole('button', { name: 'Delete what was shared…' }).click();
  const dialog = page.getByRole('dialog', { name: `Delete what you shared with ${BERG}?` });
  await dialog.waitFor();
  await axe(page, 'delete shared dialog');
  await dialog.getByRole('button', { name: 'Delete shared copy' }).click();
  await page.waitForFunction(() => location.hash === '#/receipt');
  assert.deepEqual(await mockCalls(page, 'eraseGrant'), [{ grantId: BERG_GRANT }]);
  await s.done();
});

test('all sharing: now, ending, ended, each linking to its page', async () => {
  const s = await open(browser, s0(), { route: '/grants', query: 'scenario=unlocked&fail=unreachable' });
  const { page } = s;
  await heading(page, 'All sharing');
  await page.locator('.group h2').first().waitFor();
  assert.deepEqual((await page.locator('.group h2').allTextContents()).map((t) => t.replace(/\s+\d+$/, '')), ['Sharing now', 'Ended']);
  assert.equal(await page.getByRole('button', { name: /Stop sharing|Revoke/ }).count(), 0, 'stopping is on the grant\u2019s page');
  await page.getByText('Ended on 19 Feb 2025: the time ran out').waitFor();
  await noJargon(page, 'all sharing');
  await axe(page, 'all sharing');
  await page.getByRole('link', { name: 'Lindenhof Pharmacy' }).click();
  await heading(page, 'Lindenhof Pharmacy');
  await s.done();
});

test('activity: plain sentences by day, the forged access first and loud; seen after a check', async () => {
  const s = await open(browser, s0(), { route: '/access' });
  const { page } = s;
  await heading(page, 'Activity');
  await page.locator('.timeline li').first().waitFor();
  const alarm = page.locator('.alarms');
  assert.match(await alarm.getByRole('alert').textContent(), /1 access does not check out/);
  assert.match(await alarm.locator('.event.alarm').textContent(), /Northgate Laboratory read 1 record: Type 2 diabetes mellitus\..*Not genuine\./);
  assert.deepEqual(await page.locator('.day h2').allTextContents(), ['Wednesday, 12 March 2025', 'Monday, 10 March 2025', 'Saturday, 15 February 2025']);
  await page.getByText(`${BERG} read 3 records: HbA1c, Glucose (fasting), Blood pressure.`).waitFor();
  await page.waitForFunction(() => window.__carekeyMock.calls.some((c) => c.method === 'markAccessesSeen'));
  const order = await page.evaluate(() => window.__carekeyMock.calls.map((c) => c.method).filter((m) => m === 'checkNow' || m === 'markAccessesSeen'));
  assert.deepEqual(order.slice(0, 2), ['checkNow', 'markAccessesSeen'], 'checked first, then marked seen');
  await noJargon(page, 'activity');
  await axe(page, 'activity');
  await shot(page, 'activity-1280');
  // A new access while the list is open appears by itself.
  await page.evaluate(() => window.__carekeyMock.simulateBackgroundAccess());
  await page.locator('.day h2', { hasText: 'Today' }).waitFor();
  await s.done();
});

test('German: home, a grant page, all sharing and activity', async () => {
  const s = await open(browser, s0(), { route: '/home', width: 390, height: 844 });
  const { page } = s;
  await page.evaluate(() => localStorage.setItem('carekey-language', 'de'));
  await page.reload();
  await heading(page, 'Wer meine Daten sehen kann');
  const card = page.locator('.holder', { hasText: BERG });
  await card.waitFor();
  assert.match(await card.textContent(), /noch 25 Tage · bis 8\. Apr\. 2025/);
  assert.match(await card.textContent(), /Hat vor 2 Tagen 3 Einträge gelesen/);
  await card.getByRole('button', { name: 'Teilen beenden' }).waitFor();
  await page.getByText('Noch keine Sicherung').first().waitFor();
  await noSideScroll(page, 'home de 390');
  await axe(page, 'home de');
  await shot(page, 'home-de-390');
  await card.getByRole('link', { name: BERG }).click();
  await heading(page, BERG);
  await page.getByText('Wird geteilt: noch 25 Tage, bis 8. Apr. 2025.').waitFor();
  await page.getByRole('button', { name: 'Teilen beenden' }).waitFor();
  await noSideScroll(page, 'grant de 390');
  await axe(page, 'grant de');
  await shot(page, 'grant-de-390');
  await page.evaluate(() => { location.hash = '#/grants'; });
  await heading(page, 'Alle Freigaben');
  await page.locator('.group h2', { hasText: 'Beendet' }).waitFor();
  await axe(page, 'all sharing de');
  await page.evaluate(() => { location.hash = '#/access'; });
  await heading(page, 'Aktivität');
  await page.getByText('1 Zugriff ist nicht echt').waitFor();
  await noSideScroll(page, 'activity de 390');
  await axe(page, 'activity de');
  await shot(page, 'activity-de-390');
  await s.done();
});

test('390 px and dark: home, grant page, all sharing and activity', async () => {
  for (const route of ['/home', `/grants/${BERG_GRANT}`, '/access', '/grants']) {
    const s = await open(browser, s0(), { route, width: 390, height: 844, dark: true });
    await s.page.locator('main h1').waitFor();
    await s.page.waitForFunction(() => !document.querySelector('[aria-busy="true"], .loading'));
    await noSideScroll(s.page, `${route} 390 dark`);
    await axe(s.page, `${route} 390 dark`);
    await shot(s.page, `${{ '/home': 'home', '/access': 'activity', '/grants': 'all-sharing' }[route] ?? 'grant'}-390-dark`);
    await s.done();
  }
});
