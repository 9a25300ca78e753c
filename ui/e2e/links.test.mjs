// SMART Health Links on the mock (issue 11): "Share as a link" with a passcode, the result shown
// once, the link's page with its opens (always the viewer's claim, never "verified"), "End link";
// validation sentences; Home's card, Activity, the Records and Share entry points; German;
// 390 px dark; axe on each.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { axe, heading, hexId, home, launch, mockCalls, noJargon, noSideScroll, open, plainText, serve, shot } from './harness.mjs';

const LINK = hexId('link-lakeside').slice(0, 43);
const LABEL = 'Allergies and medicines for Lakeside Clinic';
const WHO = 'Dr. Jonas Weber, Lakeside Clinic';
const KEEPS = 'Those who already opened it keep what they downloaded.';
const WARNING = 'Anyone with the link (and the passcode) can open it until it ends. Every opening is recorded. If you end it, those who already opened it keep what they downloaded.';

let server;
let browser;
before(async () => { server = await serve(); browser = await launch(); });
after(async () => { await browser?.close(); await server?.close(); });

function s0() { return server.url; }

/** A link open is the viewer's claim: nothing on the page may call it verified or checked. */
async function noVerifiedWording(page, label) {
  const text = await plainText(page);
  assert.doesNotMatch(text, /verified|checked on the ledger|\u2713/i, `${label}: a link open is never shown as verified`);
}

test('share as a link: choose, name, 30 days, passcode; the result shows the QR code and the passcode once', async () => {
  const s = await open(browser, s0(), { route: '/records' });
  const { page } = s;
  await heading(page, 'Records');
  await page.locator('#records-share-link').click();
  await heading(page, 'Share as a link');
  await page.locator('#link-what').waitFor();
  // Records grouped as on Records; files (PDF, DICOM) are left out and said so.
  await page.getByRole('group', { name: 'Allergies' }).waitFor();
  await page.getByText('2 files (PDFs or images) cannot go into a link and are not listed.').waitFor();
  await page.getByText(WARNING).waitFor();
  await noJargon(page, 'new link');
  await axe(page, 'new link');
  await shot(page, 'link-new-1280');

  await page.getByLabel('Your patient summary').check();
  await page.getByLabel(/^Penicillin allergy/).check();
  await page.getByLabel(/^Metformin 500 mg/).check();
  await page.getByLabel('Name the clinic sees').fill('For Dr. Weber');
  await page.getByText('13 of 80 characters').waitFor();
  await page.getByLabel('30 days').check();
  const passcode = await page.getByLabel('Passcode', { exact: true }).inputValue();
  assert.match(passcode, /^\d{6}$/, 'a suggested 6-digit passcode');
  await page.locator('#suggest-passcode').click();
  const suggested = await page.getByLabel('Passcode', { exact: true }).inputValue();
  assert.match(suggested, /^\d{6}$/);
  await page.getByLabel('Keep it up to date').check();
  await page.locator('#create-link').click();

  await heading(page, 'Your link is ready');
  assert.equal(await page.evaluate(() => document.activeElement?.tagName), 'H1', 'focus moves to the new heading');
  const [call] = await mockCalls(page, 'createLink');
  assert.equal(call.summary, true);
  assert.equal(call.recordIds.length, 2);
  assert.equal(call.label, 'For Dr. Weber');
  assert.equal(call.longTerm, true);
  assert.equal(call.passcode, '[redacted]', 'the mock logs no passcode');
  assert.equal(call.expiresAt, 1741944600 + 30 * 86400, "30 days from the wallet's clock");
  await page.getByRole('img', { name: 'QR code of your link' }).waitFor();
  assert.equal((await page.locator('#created-passcode').textContent()).trim(), suggested);
  await page.getByText('Write it down or tell the clinic; Carekey does not keep it. You will not see it again.').waitFor();
  await page.getByText('It can be opened until 13 Apr 2025 (30 days left).').waitFor();
  await page.getByRole('button', { name: 'Copy link' }).waitFor();
  // The link's text only under technical details.
  const uri = await page.locator('.link-qr code.uri').textContent();
  assert.match(uri, /^shlink:\/[A-Za-z0-9_-]+$/);
  await noJargon(page, 'link created');
  await axe(page, 'link created');
  await shot(page, 'link-created-1280');

  // The link's page: no passcode any more, the QR code again, "Update now" (long-term), no opens yet.
  await page.locator('#created-page').click();
  await heading(page, 'For Dr. Weber');
  assert.doesNotMatch(await page.locator('main').textContent(), new RegExp(suggested), 'the passcode is shown once');
  await page.getByText('Nobody has opened it yet.').waitFor();
  await page.getByText('Your patient summary').waitFor();
  await page.getByRole('button', { name: 'Update now' }).click();
  await page.getByText('The link now carries your records as they are now.').waitFor();
  await noJargon(page, 'new link page');
  await axe(page, 'new link page');
  await s.done();
});

test("a link's page: opens as the viewer's claim, technical details folded; End link asks, then it has ended", async () => {
  const s = await open(browser, s0(), { route: `/links/${LINK}` });
  const { page } = s;
  await heading(page, LABEL);
  await page.getByText('Can be opened: 6 days left, until 20 Mar 2025. Opened 1 time · 1 wrong passcode.').waitFor();
  const opens = page.locator('.link-opens .history-item');
  assert.equal(await opens.count(), 2);
  assert.match(await opens.nth(0).textContent(), new RegExp(`^Someone who says they are ${WHO} opened it · 2 days ago`));
  assert.match(await opens.nth(1).textContent(), new RegExp(`^Someone who says they are ${WHO} typed a wrong passcode \\(9 tries left\\) · 2 days ago`));
  await page.getByText('Carekey cannot check who it really was', { exact: false }).waitFor();
  await page.getByRole('img', { name: 'QR code of your link' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Update now' }).count(), 0, 'not a long-term link');
  assert.equal(await page.locator('details[open]').count(), 0);
  await noVerifiedWording(page, 'link page');
  await noJargon(page, 'link page');
  await axe(page, 'link page');
  await shot(page, 'link-page-1280');
  await page.locator('.link-body > details.technical summary').click();
  await page.locator('.link-body > details.technical', { hasText: LINK }).waitFor();

  await page.locator('#end-link').click();
  const dialog = page.getByRole('dialog', { name: 'End this link?' });
  await dialog.getByText(KEEPS).waitFor();
  await axe(page, 'end link dialog');
  await shot(page, 'link-end-1280');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  assert.equal((await mockCalls(page, 'endLink')).length, 0, 'cancel ends nothing');
  await page.locator('#end-link').click();
  await page.getByRole('dialog', { name: 'End this link?' }).getByRole('button', { name: 'End link' }).click();
  await page.getByText('The link has ended. Nobody can open it any more; those who already opened it keep what they downloaded.').waitFor();
  await page.getByText('You ended it on 14 Mar 2025. It no longer opens.', { exact: false }).waitFor();
  assert.equal(await page.getByRole('img', { name: 'QR code of your link' }).count(), 0, 'no QR code once ended');
  assert.equal(await page.locator('#end-link').count(), 0);
  assert.equal(await opens.count(), 2, 'its opens stay');
  await noVerifiedWording(page, 'ended link page');
  await axe(page, 'ended link page');
  await shot(page, 'link-ended-1280');

  // All links: it is under "Ended".
  await page.getByRole('link', { name: /All your links/ }).click();
  await heading(page, 'Links you shared');
  await page.getByRole('region', { name: /Ended/ }).getByRole('link', { name: LABEL }).waitFor();
  await axe(page, 'links list');
  await noJargon(page, 'links list');
  await s.done();
});

test('validation: nothing chosen, a name too long; each a sentence, focus on the field', async () => {
  const s = await open(browser, s0(), { route: '/links/new' });
  const { page } = s;
  await heading(page, 'Share as a link');
  await page.locator('#link-what').waitFor();
  await page.locator('#create-link').click();
  await page.getByText('Choose at least one record or type of record to share.').waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'link-summary');
  await axe(page, 'nothing chosen');

  await page.getByLabel('Your patient summary').check();
  await page.getByLabel('Name the clinic sees').fill('x'.repeat(81));
  await page.getByText('1 character too many').waitFor();
  await page.locator('#create-link').click();
  await page.getByText('That name is too long: the clinic sees at most 80 characters. Shorten it and try again.').waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'link-label');
  await page.locator('.notice.error details summary').click();
  await page.getByText('Error code: bad_label', { exact: false }).waitFor();
  await axe(page, 'label too long');
  await shot(page, 'link-invalid-1280');
  assert.equal((await mockCalls(page, 'createLink')).length, 2, 'the wallet (mock) checks, the same as the app');

  // Without a passcode: said plainly on the result.
  await page.getByLabel('Name the clinic sees').fill('');
  await page.getByLabel('Ask for a passcode').uncheck();
  assert.equal(await page.getByLabel('Passcode', { exact: true }).isVisible(), false);
  await page.getByLabel('No end date (until you end it)').check();
  await page.locator('#create-link').click();
  await heading(page, 'Your link is ready');
  await page.getByText('No passcode: anyone with the link can open it.').waitFor();
  await page.getByText('It has no end date', { exact: false }).waitFor();
  const [, , last] = await mockCalls(page, 'createLink');
  assert.deepEqual([last.passcode, last.expiresAt, last.label], [null, null, null]);
  await s.done();
});

test('Home shows the links that can be opened and the last open; Activity lists opens beside accesses', async () => {
  const s = await open(browser, s0(), { route: '/home' });
  const { page } = s;
  await home(page);
  const card = page.locator('#home-links');
  await card.getByText(`1 link can be opened · last opened by someone who says they are ${WHO} · 2 days ago`).waitFor();
  await noJargon(page, 'home with links');
  await axe(page, 'home with links');
  await shot(page, 'home-links-1280');
  await card.getByRole('link', { name: 'See your links' }).click();
  await heading(page, 'Links you shared');
  await page.getByRole('region', { name: /Can be opened/ }).getByRole('link', { name: LABEL }).waitFor();

  await page.goto(`${s0()}?backend=mock&latency=30&scenario=unlocked#/access`);
  await heading(page, 'Activity');
  const items = page.locator('.event.link-open');
  await items.first().waitFor();
  assert.equal(await items.count(), 2);
  assert.match(await items.nth(0).locator('.event-who').textContent(), new RegExp(`^Someone who says they are ${WHO} opened your link “${LABEL}”\\.$`));
  assert.match(await items.nth(1).locator('.event-who').textContent(), /typed a wrong passcode \(9 tries left\)\.$/);
  // The opens come under their day beside that day's grant access, newest first.
  const firstDay = page.locator('section.day').first();
  assert.equal(await firstDay.locator('h2').textContent(), 'Wednesday, 12 March 2025');
  assert.equal(await firstDay.locator('.event.link-open').count(), 2);
  assert.equal(await firstDay.locator('.event').count(), 3);
  assert.equal(await page.locator('.event:not(.link-open)').count(), 4, 'the grant accesses stay');
  for (const text of await items.allTextContents()) assert.doesNotMatch(text, /verified|Checked on the ledger/i);
  await noJargon(page, 'activity with links');
  await axe(page, 'activity with links');
  await shot(page, 'activity-links-1280');
  await items.first().getByRole('link', { name: 'See the link' }).click();
  await heading(page, LABEL);
  await s.done();
});

test('a new open arrives with the background check; Share has "Share as a link" too', async () => {
  const s = await open(browser, s0(), { route: '/share' });
  const { page } = s;
  await heading(page, 'Share with a provider');
  await page.locator('#share-as-link').click();
  await heading(page, 'Share as a link');
  await page.goto(`${s0()}?backend=mock&latency=30&scenario=unlocked#/home`);
  await home(page);
  await page.evaluate(() => window.__carekeyMock.simulateLinkOpen('Nurse Kim, Hilltop Surgery', false));
  await page.locator('#home-links').getByText('last a wrong passcode from someone who says they are Nurse Kim, Hilltop Surgery · just now').waitFor();
  await s.done();
});

test('German: the form, the result, a link page, Home and Activity', async () => {
  const s = await open(browser, s0(), { route: '/home', width: 390, height: 844 });
  const { page } = s;
  await page.evaluate(() => localStorage.setItem('carekey-language', 'de'));
  await page.goto(`${s0()}?backend=mock&latency=30&scenario=unlocked#/links/${LINK}`);
  await page.reload();
  await heading(page, LABEL);
  await page.getByText(`Jemand, der angibt, ${WHO} zu sein, hat einen falschen Code eingegeben (noch 9 Versuche)`, { exact: false }).waitFor();
  await page.getByText(`Jemand, der angibt, ${WHO} zu sein, hat ihn geöffnet`, { exact: false }).waitFor();
  await noVerifiedWording(page, 'link page de');
  assert.doesNotMatch(await plainText(page), /verifiziert|geprüft ist/i);
  await noSideScroll(page, 'link page de 390');
  await axe(page, 'link page de');
  await shot(page, 'link-page-de-390');
  await page.goto(`${s0()}?backend=mock&latency=30&scenario=unlocked#/links/new`);
  await heading(page, 'Als Link teilen');
  await page.getByText('Wer den Link (und den Code) hat, kann ihn öffnen, bis er endet.', { exact: false }).waitFor();
  await page.getByLabel('Ihre Patientenkurzakte').check();
  await noSideScroll(page, 'new link de 390');
  await axe(page, 'new link de');
  await shot(page, 'link-new-de-390');
  await page.locator('#create-link').click();
  await heading(page, 'Ihr Link ist fertig');
  await page.getByText('Carekey bewahrt ihn nicht auf', { exact: false }).waitFor();
  await noSideScroll(page, 'created de 390');
  await axe(page, 'created de');
  await page.goto(`${s0()}?backend=mock&latency=30&scenario=unlocked#/home`);
  await heading(page, 'Wer meine Daten sehen kann');
  await page.locator('#home-links').getByText('2 Links können geöffnet werden', { exact: false }).waitFor();
  await page.goto(`${s0()}?backend=mock&latency=30&scenario=unlocked#/access`);
  await page.locator('.event.link-open').first().getByText(`Jemand, der angibt, ${WHO} zu sein, hat Ihren Link „${LABEL}“ geöffnet.`).waitFor();
  await noSideScroll(page, 'activity de 390');
  await s.done();
});

test('390 px and dark: the form, the result, the list and a link page', async () => {
  for (const route of ['/links/new', '/links', `/links/${LINK}`]) {
    const s = await open(browser, s0(), { route, width: 390, height: 844, dark: true });
    await s.page.waitForFunction(() => !document.querySelector('.loading'));
    await s.page.locator('main h1').waitFor();
    await noSideScroll(s.page, `${route} 390 dark`);
    await axe(s.page, `${route} 390 dark`);
    await shot(s.page, `${{ '/links/new': 'link-new', '/links': 'links' }[route] ?? 'link-page'}-390-dark`);
    if (route === '/links/new') {
      await s.page.locator('#link-what').waitFor();
      await s.page.getByLabel('Your patient summary').check();
      await s.page.locator('#create-link').click();
      await heading(s.page, 'Your link is ready');
      await noSideScroll(s.page, 'created 390 dark');
      await axe(s.page, 'created 390 dark');
      await shot(s.page, 'link-created-390-dark');
    }
    await s.done();
  }
});
