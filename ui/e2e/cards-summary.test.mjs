// Issue 11 on the mock: adding a health card on Records (a file, a picture, the camera) with
// each result (checked, not checked, refused and why), the card as a record; Settings → Trusted
// card issuers; the patient summary (sections, empty ones, keep, save, print), with axe, no
// jargon, German and 390 px.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { axe, heading, launch, mockCalls, noJargon, noSideScroll, open, qrY4m, serve, shot, tempDir } from './harness.mjs';

const ISSUER = 'https://vaccines.example.org/shc';
const HOST = 'vaccines.example.org';

/** The `shc:/` numeric text of a mock card (as src/backend/mock.ts `shcQrText`). */
function shcQrText(content) {
  return `shc:/${[...content].map((c) => String(c.charCodeAt(0) - 45).padStart(2, '0')).join('')}`;
}

let server;
let browser;
before(async () => { server = await serve(); browser = await launch(); });
after(async () => { await browser?.close(); await server?.close(); });

/** Opens "Add a health card" on Records and picks `name` in the (mock's) file chooser. */
async function addCardFile(page, name) {
  const details = page.locator('#add-health-card');
  if (!(await details.evaluate((d) => d.open))) await page.getByText('Add a health card', { exact: true }).click();
  const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.getByRole('button', { name: 'Choose a card file…' }).click()]);
  await chooser.setFiles({ name, mimeType: 'application/octet-stream', buffer: Buffer.from('card') });
}

test('cards: an untrusted issuer\'s card is kept "not checked" without asking anyone, and shows as a record', async () => {
  const s = await open(browser, server.url, { route: '/records' });
  const { page } = s;
  await heading(page, 'Records');
  await addCardFile(page, 'vaccination.smart-health-card');
  const verdict = page.locator('.card-verdict');
  await verdict.getByText(`Not checked: ${HOST} is not on your list of trusted issuers`).waitFor();
  assert.match(await verdict.textContent(), /Carekey kept the card without asking anyone/);
  assert.match(await verdict.textContent(), /Kept as a record: Health card: Vaccinations, issued on 1 Feb 2025\./);
  assert.deepEqual(await mockCalls(page, 'importCard'), [{ path: 'vaccination.smart-health-card' }]);
  // In the list, under Health cards, in plain words.
  const group = page.locator('.group', { has: page.locator('h2', { hasText: 'Health cards' }) });
  await group.getByText(`Not checked: says it is from ${HOST}`).waitFor();
  await noJargon(page, 'card not checked');
  await axe(page, 'card not checked');
  await shot(page, 'card-not-checked-1280');
  // Its page: who issued it, not checked; the address only under Technical details.
  await verdict.getByRole('link', { name: 'Open the record' }).click();
  await heading(page, 'Health card: Vaccinations');
  await page.getByText(`No: ${HOST} is not on your list of trusted issuers`).waitFor();
  await noJargon(page, 'card record page');
  await axe(page, 'card record page');
  await page.locator('section', { hasText: 'Health card' }).locator('details.tech summary').click();
  await page.getByText(ISSUER, { exact: true }).waitFor();
  await s.done();
});

test('cards: a trusted issuer\'s card is checked; altered, expired and revoked ones are refused with the reason', async () => {
  const s = await open(browser, server.url, { route: '/records', query: 'scenario=unlocked&issuers=1' });
  const { page } = s;
  await heading(page, 'Records');
  await addCardFile(page, 'vaccination.png');
  await page.locator('.card-verdict.ok').getByText(`Checked: ${HOST} signed this card`).waitFor();
  await page.waitForFunction(() => document.getElementById('announcer')?.textContent === 'Added 1 health card.');
  await page.locator('.group', { hasText: 'Health cards' }).getByText(`Checked: issued by ${HOST}`).waitFor();
  await noJargon(page, 'card checked');
  await axe(page, 'card checked');
  await shot(page, 'card-checked-1280');
  for (const [file, why] of [
    ['tampered.smart-health-card', 'It was changed after it was signed, or vaccines.example.org did not make it.'],
    ['expired.smart-health-card', 'It has expired.'],
    ['revoked.png', 'vaccines.example.org has withdrawn it.'],
  ]) {
    await addCardFile(page, file);
    const refused = page.locator('.card-verdict.alarm');
    await refused.getByText(`Refused: this card from ${HOST} did not pass its check`).waitFor();
    await refused.getByText(why).waitFor();
    await refused.getByText(`Carekey did not keep it. Ask ${HOST} for a new card.`).waitFor();
  }
  await noJargon(page, 'card refused');
  await axe(page, 'card refused');
  await shot(page, 'card-refused-1280');
  assert.equal(await page.evaluate(() => window.__carekeyMock.listCards().then((c) => c.length)), 1, 'nothing refused was kept');
  // Not a card: the plain sentence.
  await addCardFile(page, 'letter.pdf');
  await page.getByText('This is not a health card Carekey can read.', { exact: false }).waitFor();
  // The checked card's page.
  await page.getByRole('link', { name: /^Health card: Vaccinations/ }).click();
  await page.getByText(`Yes: ${HOST} signed it`).waitFor();
  await s.done();
});

test('cards: German at 390 px', async () => {
  const s = await open(browser, server.url, { route: '/records', width: 390, height: 844 });
  const { page } = s;
  await page.evaluate(() => localStorage.setItem('carekey-language', 'de'));
  await page.reload();
  await heading(page, 'Einträge');
  await page.getByText('Gesundheitskarte hinzufügen', { exact: true }).click();
  const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.getByRole('button', { name: 'Kartendatei wählen …' }).click()]);
  await chooser.setFiles({ name: 'impfung.smart-health-card', mimeType: 'application/octet-stream', buffer: Buffer.from('card') });
  await page.getByText(`Nicht geprüft: ${HOST} steht nicht auf Ihrer Liste vertrauenswürdiger Aussteller`).waitFor();
  await page.getByText('Als Eintrag aufbewahrt: Gesundheitskarte: Impfungen, ausgestellt am 1. Feb. 2025.').waitFor();
  await page.locator('.group h2', { hasText: 'Gesundheitskarten' }).waitFor();
  await noSideScroll(page, 'card 390 de');
  await noJargon(page, 'card 390 de');
  await axe(page, 'card 390 de');
  await shot(page, 'card-390-de');
  await s.done();
});

test('cards: scanned with the camera, the shc:/ text reaches import_card', async () => {
  const tmp = tempDir();
  const text = shcQrText('mock.valid.signature');
  tmp.write('card.y4m', qrY4m(text));
  const cam = await launch(['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${tmp.file('card.y4m')}`]);
  try {
    const s = await open(cam, server.url, { route: '/records', query: 'scenario=unlocked&issuers=1' });
    const { page } = s;
    await s.context.grantPermissions(['camera'], { origin: new URL(server.url).origin });
    await heading(page, 'Records');
    await page.getByText('Add a health card', { exact: true }).click();
    await page.getByRole('button', { name: 'Scan a card' }).click();
    await page.getByText(`Checked: ${HOST} signed this card`).waitFor();
    assert.deepEqual(await mockCalls(page, 'importCard'), [{ text }]);
    // The camera is released once the code is read.
    assert.equal(await page.evaluate(() => document.querySelector('video')?.srcObject ?? null), null);
    await axe(page, 'card scanned');
    await s.done();
  } finally {
    await cam.close();
    tmp.remove();
  }
});

test('settings: trusted card issuers — add by address (a bad one explained), list, remove', async () => {
  const s = await open(browser, server.url, { route: '/settings' });
  const { page } = s;
  await heading(page, 'Settings');
  const sec = page.locator('#card-issuers');
  await sec.getByText('No trusted issuers yet', { exact: false }).waitFor();
  await sec.getByLabel('Issuer address').fill('http://vaccines.example.org/shc');
  await sec.getByRole('button', { name: 'Trust this issuer' }).click();
  await sec.getByText('That is not an issuer address Carekey can use', { exact: false }).waitFor();
  // Typed without "https://": a secure web address is meant.
  await sec.getByLabel('Issuer address').fill('vaccines.example.org/shc/');
  await sec.getByRole('button', { name: 'Trust this issuer' }).click();
  await page.locator('#card-issuers .issuer', { hasText: HOST }).waitFor();
  await page.waitForFunction((host) => document.getElementById('announcer')?.textContent === `Carekey now checks cards from ${host}.`, HOST);
  await page.locator('#card-issuers').getByText('Trusted since 14 Mar 2025').waitFor();
  assert.deepEqual((await mockCalls(page, 'addIssuer')).map((a) => a.url), ['http://vaccines.example.org/shc', `${ISSUER}/`]);
  await noJargon(page, 'issuers');
  await axe(page, 'issuers');
  await shot(page, 'issuers-1280');
  await page.locator('#card-issuers').getByRole('button', { name: `Remove ${HOST}` }).click();
  const dialog = page.getByRole('dialog', { name: `Stop trusting ${HOST}?` });
  await dialog.waitFor();
  await axe(page, 'remove issuer dialog');
  await dialog.getByRole('button', { name: 'Remove issuer' }).click();
  await page.locator('#card-issuers').getByText('No trusted issuers yet', { exact: false }).waitFor();
  assert.deepEqual(await mockCalls(page, 'removeIssuer'), [{ url: ISSUER }]);
  await s.done();
});

test('settings: trusted card issuers in German at 390 px', async () => {
  const s = await open(browser, server.url, { route: '/settings', query: 'scenario=unlocked&issuers=1', width: 390, height: 844 });
  const { page } = s;
  await page.evaluate(() => localStorage.setItem('carekey-language', 'de'));
  await page.reload();
  await heading(page, 'Einstellungen');
  const sec = page.locator('#card-issuers');
  await sec.getByRole('heading', { name: 'Vertrauenswürdige Aussteller von Karten' }).waitFor();
  await sec.getByText(HOST, { exact: true }).waitFor();
  await sec.getByText('Vertraut seit 22. Feb. 2025').waitFor();
  await noSideScroll(page, 'issuers 390 de');
  await noJargon(page, 'issuers 390 de');
  await axe(page, 'issuers 390 de');
  await s.done();
});

test('summary: from Records; sections in plain words, empty ones said plainly; keep, save, print', async () => {
  const s = await open(browser, server.url, { route: '/records', query: 'scenario=unlocked&patient=1' });
  const { page } = s;
  await heading(page, 'Records');
  // No allergies: erased first, so the section says so.
  await page.evaluate(async () => {
    const m = window.__carekeyMock;
    for (const r of await m.listRecords()) if (r.resourceType === 'AllergyIntolerance') await m.eraseRecord({ id: r.id });
  });
  await page.getByRole('link', { name: 'Your patient summary' }).click();
  await heading(page, 'Your patient summary');
  await page.getByRole('heading', { name: 'Patient summary of Maria Schmidt' }).waitFor();
  const sections = await page.locator('.summary-section h3').allTextContents();
  assert.deepEqual(sections.map((x) => x.replace(/ · .*$/, '')), ['Health problems', 'Allergies and intolerances', 'Medicines', 'Vaccinations', 'Results', 'Procedures']);
  const allergies = page.locator('.summary-section', { has: page.getByRole('heading', { name: 'Allergies and intolerances' }) });
  await allergies.getByText('No allergies recorded.').waitFor();
  await page.locator('.summary-section', { hasText: 'Medicines' }).getByText('Metformin 500 mg').waitFor();
  await page.getByText('It has everything the international format requires.').waitFor();
  await page.waitForFunction(() => document.getElementById('announcer')?.textContent === 'Patient summary of Maria Schmidt');
  await noJargon(page, 'summary');
  await axe(page, 'summary');
  await shot(page, 'summary-1280');

  // Keep as a record.
  await page.getByRole('button', { name: 'Keep as a record' }).click();
  await page.getByText('Kept as a record under Documents.').waitFor();
  assert.equal((await mockCalls(page, 'savePatientSummary')).length, 1);
  // Save the FHIR file (unencrypted: said before).
  await page.getByRole('button', { name: 'Save file…' }).click();
  const dialog = page.getByRole('dialog', { name: 'Save the summary as a file?' });
  await dialog.getByText(/It is not encrypted/).waitFor();
  await axe(page, 'summary save dialog');
  await dialog.getByLabel('Save as').fill('/home/patient/summary.json');
  await dialog.getByRole('button', { name: 'Save file' }).click();
  await page.getByText('Saved the summary to /home/patient/summary.json.').waitFor();
  assert.equal(JSON.parse(await page.evaluate(() => window.__carekeyMock.files.get('/home/patient/summary.json'))).type, 'document');

  // Print: only the summary on paper.
  await page.evaluate(() => { window.__printed = 0; window.print = () => { window.__printed += 1; }; });
  await page.getByRole('button', { name: 'Print or save as PDF' }).click();
  assert.equal(await page.evaluate(() => window.__printed), 1);
  await page.emulateMedia({ media: 'print' });
  for (const sel of ['.topbar', '.nav', '.footer', '#keep-summary', '#print-summary', 'main details']) {
    assert.equal(await page.locator(sel).first().isVisible(), false, `${sel} does not print`);
  }
  assert.equal(await page.locator('.summary-sheet').isVisible(), true);
  assert.equal(await page.locator('.summary-note').isVisible(), true);
  await shot(page, 'summary-print');
  const pdf = await page.pdf({ preferCSSPageSize: true });
  assert.equal(pdf.subarray(0, 5).toString(), '%PDF-');
  await page.emulateMedia({ media: 'screen' });
  await s.done();
});

test('summary: without a record about the patient, say what to add', async () => {
  const s = await open(browser, server.url, { route: '/summary' });
  const { page } = s;
  await heading(page, 'Your patient summary');
  await page.getByText('A summary needs a record about you, with your name and birth date.', { exact: false }).waitFor();
  await page.getByRole('link', { name: 'Go to Records' }).waitFor();
  await noJargon(page, 'summary without patient');
  await axe(page, 'summary without patient');
  await s.done();
});

test('summary: German at 390 px, dark', async () => {
  const s = await open(browser, server.url, { route: '/summary', query: 'scenario=unlocked&patient=1', width: 390, height: 844, dark: true });
  const { page } = s;
  await page.evaluate(() => localStorage.setItem('carekey-language', 'de'));
  await page.reload();
  await heading(page, 'Ihre Patientenkurzakte');
  await page.getByRole('heading', { name: 'Patientenkurzakte von Maria Schmidt' }).waitFor();
  await page.getByRole('heading', { name: /^Allergien und Unverträglichkeiten/ }).waitFor();
  await page.getByRole('button', { name: 'Als Eintrag aufbewahren' }).waitFor();
  await noSideScroll(page, 'summary 390 de');
  await noJargon(page, 'summary 390 de');
  await axe(page, 'summary 390 de');
  await shot(page, 'summary-390-de-dark');
  await s.done();
});
