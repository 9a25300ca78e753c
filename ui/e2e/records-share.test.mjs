// Issue 10, records and sharing: "Add records" and a drop zone, who can see each record, a
// record's page with "Delete this record…", the readable erasure receipt (print, PDF, file),
// and the share flow with the provider check (verified, a code to compare, a name mismatch).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { REQUEST, axe, heading, launch, mockCalls, noSideScroll, serve, shot } from './harness.mjs';

let server;
let browser;
before(async () => { server = await serve(); browser = await launch(); });
after(async () => { await browser?.close(); await server?.close(); });

/** The mock's clock: 2025-03-14 09:30 UTC (10:30 in Berlin). */
const MOCK_NOW = 1741944600;
const BERG = 'Dr. Anna Berg — Riverside Family Practice';
const HOME_DE = 'Wer meine Daten sehen kann';

/**
 * A page on the mock at the mock's "now", in Berlin, in a language: like harness `open`, plus a
 * fixed clock, a time zone and a browser language.
 */
async function openAt(base, { query = 'scenario=unlocked', route = '', width = 1280, height = 860, lang = 'en-GB', latency = 30 } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, locale: lang, timezoneId: 'Europe/Berlin', reducedMotion: 'reduce' });
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || /Content Security Policy/i.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  await page.clock.setFixedTime(new Date((MOCK_NOW + 60) * 1000));
  await page.goto(`${base}?backend=mock&latency=${latency}&${query}${route ? `#${route}` : ''}`);
  await page.waitForSelector('main h1');
  return {
    page,
    async done() {
      await context.close();
      assert.deepEqual(problems, [], 'no CSP violations, console errors or page errors');
    },
  };
}

/** The visible text of the main area without its "Technical details" (what a patient reads). */
function plainText(page) {
  return page.evaluate(() => {
    const main = document.querySelector('main').cloneNode(true);
    main.querySelectorAll('details').forEach((d) => d.remove());
    return main.innerText;
  });
}

async function assertPlain(page, label) {
  const text = await plainText(page);
  assert.doesNotMatch(text, /[0-9a-f]{16,}/i, `${label}: no hex outside technical details`);
  assert.doesNotMatch(text, /https?:\/\//, `${label}: no URL outside technical details`);
  assert.doesNotMatch(text, /\b\d+(\.\d+)?\s?(B|KB|MB|GB)\b/, `${label}: no byte sizes outside technical details`);
  assert.doesNotMatch(text, /checkpoint|cosignature|epoch|log key/i, `${label}: no ledger jargon`);
}

async function go(page, route) {
  await page.evaluate((r) => { location.hash = r; }, route);
}

test('records: one "Add records" button, a drop zone, typed paths under More; who can see each record; no sizes', async () => {
  const s = await openAt(server.url, { route: '/records' });
  const { page } = s;
  await heading(page, 'Records');
  await page.locator('.group').first().waitFor();
  assert.deepEqual((await page.locator('.group h2').allTextContents()).map((g) => g.replace(/\s+\d+$/, '')), [
    'Allergies & intolerances', 'Medications', 'Conditions', 'Results & measurements', 'Vaccinations', 'Procedures', 'Documents', 'Files']);
  // One primary button; the typed path is folded away.
  assert.equal(await page.locator('main .btn.primary').count(), 1);
  assert.equal(await page.locator('main .btn.primary').textContent(), 'Add records');
  await page.getByText('or drop files here').waitFor();
  assert.equal(await page.getByLabel('File path on this computer').isVisible(), false, 'typed paths are under More');
  // Shared with: the active grant (Dr. Berg: conditions, results, medications), not the revoked one.
  const row = (title) => page.locator('li.record', { has: page.getByRole('link', { name: new RegExp(`^${title}`) }) });
  assert.match(await row('HbA1c').textContent(), new RegExp(`Shared with ${BERG}`));
  assert.doesNotMatch(await row('Penicillin allergy').textContent(), /Shared with/, 'a revoked grant does not count');
  await assertPlain(page, 'records');
  await axe(page, 'records');
  await shot(page, 'records-add-1280');

  // "Add records": the mock opens the browser's file chooser.
  const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.getByRole('button', { name: 'Add records' }).click()]);
  assert.equal(chooser.isMultiple(), true);
  await chooser.setFiles({ name: 'weight.json', mimeType: 'application/json', buffer: Buffer.from('{}') });
  await page.getByText('Added 1 record: Body weight.').waitFor();
  await page.getByRole('link', { name: /^Body weight/ }).waitFor();

  // Dropped on the drop zone (the browser's drop), and the window's drop event inside the app.
  await page.evaluate(() => {
    const dt = new DataTransfer();
    dt.items.add(new File(['%PDF'], 'letter.pdf', { type: 'application/pdf' }));
    document.getElementById('dropzone').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  });
  await page.getByText('Added 1 record: letter.pdf.').waitFor();
  await page.evaluate(() => window.__carekeyMock.simulateDrop(['/home/patient/scan.png', '/home/patient/bp.json']));
  await page.getByText(/Added 2 records: scan\.png, Body weight\./).waitFor();

  // More: a typed path, a large file shows progress; an empty field and a missing file are explained.
  await page.getByText('More', { exact: true }).click();
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  await page.getByRole('alert').filter({ hasText: 'Type the path of a file to add.' }).waitFor();
  await page.getByLabel('File path on this computer').fill('/scans/knee-mri-2024.dcm');
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  await page.getByRole('progressbar', { name: 'Adding knee-mri-2024.dcm' }).waitFor();
  await page.getByText('Added 1 record: knee-mri-2024.dcm.').waitFor();
  await page.getByLabel('File path on this computer').fill('missing-report.pdf');
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  await page.getByRole('alert').filter({ hasText: /No such file/ }).waitFor();
  assert.deepEqual((await mockCalls(page, 'importFiles')).map((a) => a.paths), [
    ['weight.json'], ['letter.pdf'], ['/home/patient/scan.png', '/home/patient/bp.json'], ['/scans/knee-mri-2024.dcm'], ['missing-report.pdf']]);
  await assertPlain(page, 'records after adding');
  await axe(page, 'records after adding');
  await s.done();
});

test('records: the empty state is plain and keeps the Add button', async () => {
  const s = await openAt(server.url, { route: '/settings' });
  const { page } = s;
  await page.evaluate(async () => {
    const m = window.__carekeyMock;
    for (const r of await m.listRecords()) await m.eraseRecord({ id: r.id });
  });
  await go(page, '#/records');
  await heading(page, 'Records');
  await page.getByText(/You have no records yet\./).waitFor();
  await page.getByRole('button', { name: 'Add records' }).waitFor();
  assert.equal(await page.locator('.group').count(), 0);
  await axe(page, 'records empty');
  await shot(page, 'records-empty-1280');
  await s.done();
});

test('record page: plain words, who can see it, save a copy; delete → a readable receipt that prints and saves', async () => {
  const s = await openAt(server.url, { route: '/records' });
  const { page } = s;
  await heading(page, 'Records');
  await page.getByRole('link', { name: /^HbA1c/ }).click();
  await heading(page, 'HbA1c');
  await page.getByText('Results & measurements').first().waitFor();
  const berg = page.getByRole('link', { name: BERG });
  assert.match(await berg.getAttribute('href'), /^#\/grants\/[0-9a-f]{64}$/);
  await page.getByText('1 provider can see this record.').waitFor();
  await assertPlain(page, 'record page');
  // Technical details: the FHIR JSON, size, key version, id.
  await page.getByText('Technical details', { exact: true }).click();
  assert.equal(JSON.parse(await page.getByLabel('FHIR JSON of this record').textContent()).resourceType, 'Observation');
  await page.locator('details.tech dd', { hasText: /^[0-9a-f]{64}$/ }).waitFor();
  await axe(page, 'record page');
  await shot(page, 'record-page-1280');

  // Save a copy…: warned that it is not encrypted.
  await page.getByRole('button', { name: 'Save a copy…' }).click();
  const saveDialog = page.getByRole('dialog', { name: 'Save an unencrypted copy?' });
  await saveDialog.getByText(/not encrypted/).waitFor();
  await axe(page, 'save a copy dialog');
  await saveDialog.getByLabel('Save as').fill('/home/patient/hba1c.json');
  await saveDialog.getByRole('button', { name: 'Save copy' }).click();
  await page.getByText('Saved an unencrypted copy to /home/patient/hba1c.json.').waitFor();
  assert.deepEqual((await mockCalls(page, 'exportRecord')).at(-1).path, '/home/patient/hba1c.json');

  // Delete this record…: the dialog names the consequences; Cancel keeps it.
  await page.getByRole('button', { name: 'Delete this record…' }).click();
  const dialog = page.getByRole('dialog', { name: 'Delete “HbA1c”?' });
  await dialog.getByText(`It is also gone for ${BERG}, who can see it now.`).waitFor();
  await dialog.getByText(/cannot be undone/).waitFor();
  await axe(page, 'delete dialog');
  await shot(page, 'record-delete-dialog-1280');
  await page.keyboard.press('Escape');
  assert.equal((await mockCalls(page, 'eraseRecord')).length, 0);
  await page.getByRole('button', { name: 'Delete this record…' }).click();
  await dialog.getByRole('button', { name: 'Delete record' }).click();

  // The receipt: plain words, local time, nothing pending.
  await heading(page, 'Erasure receipt');
  assert.equal(await page.locator('.receipt-subject').textContent(), 'The record “HbA1c”');
  await page.getByText('14 Mar 2025, 10:30').waitFor();
  await page.getByText(/The key that opened this record/).waitFor();
  await page.getByText('Nothing: everything is done.').waitFor();
  await page.getByText(/kept on 1 ledger node/).waitFor();
  await page.getByText('Copies a provider already downloaded and opened, or printed.').waitFor();
  assert.equal(await page.getByRole('link', { name: 'Finish' }).count(), 0, 'no Finish while the wallet exists');
  await assertPlain(page, 'receipt');
  await axe(page, 'receipt');
  await shot(page, 'receipt-1280');

  // Print: only the receipt, on A4; the headless PDF is a real PDF.
  await page.evaluate(() => { window.__printed = 0; window.print = () => { window.__printed += 1; }; });
  await page.getByRole('button', { name: 'Print or save as PDF' }).click();
  assert.equal(await page.evaluate(() => window.__printed), 1);
  await page.emulateMedia({ media: 'print' });
  for (const sel of ['.topbar', '.nav', '.footer', '#print-receipt', '#save-receipt', 'main details']) {
    assert.equal(await page.locator(sel).first().isVisible(), false, `${sel} does not print`);
  }
  assert.equal(await page.locator('.receipt-sheet').isVisible(), true);
  assert.equal(await page.locator('.receipt-note').isVisible(), true, 'the printed page points to the file');
  assert.equal(await page.locator('main h1').isVisible(), true);
  await shot(page, 'receipt-print');
  const pdf = await page.pdf({ preferCSSPageSize: true });
  assert.equal(pdf.subarray(0, 5).toString(), '%PDF-');
  assert.ok(pdf.length > 2000, 'a PDF with content');
  const pages = (pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g) ?? []).length;
  assert.equal(pages, 1, 'the receipt fits one A4 page');
  await page.emulateMedia({ media: 'screen' });

  // The receipt file: the JSON, saved; and under Technical details.
  await page.getByLabel('File name').fill('/home/patient/receipts/hba1c.json');
  await page.getByRole('button', { name: 'Save the receipt file' }).click();
  await page.getByText('Receipt saved to /home/patient/receipts/hba1c.json.').waitFor();
  const saved = await page.evaluate(() => window.__carekeyMock.files.get('/home/patient/receipts/hba1c.json'));
  assert.equal(JSON.parse(saved).format, 'carekey-erasure-receipt/v1');
  await page.getByLabel('File name').fill('/readonly/r.json');
  await page.getByRole('button', { name: 'Save the receipt file' }).click();
  await page.getByRole('alert').filter({ hasText: /Permission denied/ }).waitFor();
  // The receipt's own technical details (the error above has its own, folded too).
  await page.locator('details.card.tech').getByText('Technical details', { exact: true }).click();
  assert.equal(JSON.parse(await page.getByLabel('Erasure receipt JSON').textContent()).format, 'carekey-erasure-receipt/v1');

  // The record is gone from the list.
  await go(page, '#/records');
  await heading(page, 'Records');
  await page.locator('.group').first().waitFor();
  assert.equal(await page.getByRole('link', { name: /^HbA1c/ }).count(), 0);
  await s.done();
});

test('receipt: a node that did not answer is "still to do"; after everything is erased, Finish leads to welcome', async () => {
  const s = await openAt(server.url, { route: '/records', query: 'scenario=unlocked&fail=unreachable' });
  const { page } = s;
  await heading(page, 'Records');
  await page.getByRole('link', { name: /^Peanut allergy/ }).click();
  await heading(page, 'Peanut allergy');
  await page.getByText('Nobody: you have not shared this record.').waitFor();
  await page.getByRole('button', { name: 'Delete this record…' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete record' }).click();
  await heading(page, 'Erasure receipt');
  await page.locator('.receipt-sheet .pending', { hasText: /Carekey keeps trying: 2 steps are still waiting/ }).waitFor();
  await assertPlain(page, 'receipt pending');
  await axe(page, 'receipt pending');
  await shot(page, 'receipt-pending-1280');
  // The whole wallet erased meanwhile (Settings does this; here the mock directly): Finish.
  await page.evaluate(() => window.__carekeyMock.eraseAll());
  await page.evaluate(() => window.dispatchEvent(new HashChangeEvent('hashchange')));
  await heading(page, 'Erasure receipt');
  await page.getByText(/Your wallet is gone from this device/).waitFor();
  await page.getByRole('link', { name: 'Finish' }).click();
  await heading(page, 'Welcome to Carekey');
  await page.locator('div.pending', { hasText: /still telling ledger nodes to stop sharing/ }).waitFor();
  await s.done();
});

test('loading, errors and nothing to show: records, a record, a failed delete, the receipt, the review', async () => {
  const slow = await openAt(server.url, { route: '/records', latency: 700 });
  await slow.page.getByText('Loading records…').waitFor();
  await slow.page.locator('.group').first().waitFor();
  await slow.done();

  const s = await openAt(server.url, { route: '/settings' });
  const { page } = s;
  await page.evaluate(() => window.__carekeyMock.failNext('listRecords', 'io', 'the vault could not be read'));
  await go(page, '#/records');
  await heading(page, 'Records');
  await page.getByRole('alert').filter({ hasText: /the vault could not be read/ }).waitFor();
  await page.getByRole('button', { name: 'Add records' }).waitFor();
  await axe(page, 'records error');
  await go(page, '#/records/0000000000000000000000000000000000000000000000000000000000000000');
  await heading(page, 'Record not found');
  await page.getByRole('link', { name: 'Back to records' }).waitFor();
  await axe(page, 'record not found');
  // A delete that fails stays on the record's page and says why.
  await go(page, '#/records');
  await page.getByRole('link', { name: /^Peanut allergy/ }).click();
  await heading(page, 'Peanut allergy');
  await page.evaluate(() => window.__carekeyMock.failNext('eraseRecord', 'io', 'the key index could not be written'));
  await page.getByRole('button', { name: 'Delete this record…' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete record' }).click();
  await page.getByRole('alert').filter({ hasText: /the key index could not be written/ }).waitFor();
  assert.equal(await page.locator('main h1').textContent(), 'Peanut allergy');
  // Nothing in this session to show.
  for (const [route, title, text] of [
    ['#/receipt', 'Erasure receipt', 'There is no receipt to show.'],
    ['#/share/review', 'Review the request', 'There is no request to review.'],
  ]) {
    await go(page, route);
    await heading(page, title);
    await page.getByText(text, { exact: false }).waitFor();
    await axe(page, `${route} empty`);
  }
  await s.done();
});

test('many grants: a record shared with many says two names and how many more', async () => {
  const s = await openAt(server.url, { route: '/records', query: 'scenario=unlocked&grants=many' });
  const { page } = s;
  await heading(page, 'Records');
  const row = page.locator('li.record', { has: page.getByRole('link', { name: /^Penicillin allergy/ }) });
  await row.getByText('Shared with City Hospital Cardiology, Dr. Omar Haddad and 10 others').waitFor();
  await row.getByRole('link').click();
  await heading(page, 'Penicillin allergy');
  await page.getByText('12 providers can see this record.').waitFor();
  assert.equal(await page.locator('.shared-list li').count(), 12);
  await axe(page, 'record shared with many');
  await s.done();
});

/** Pastes a request link on the share screen and waits for the review. */
async function pasteRequest(page, uri) {
  await page.getByLabel('Request link').fill(uri);
  await page.getByRole('button', { name: 'Review request' }).click();
  await heading(page, 'Review the request');
}

test('share, verified provider: calm check, plain durations, "respond by … today", done in 3 screens', async () => {
  const s = await openAt(server.url, { route: '/share' });
  const { page } = s;
  const screens = [];
  const seen = async () => { screens.push(await page.locator('main h1').textContent()); };
  await heading(page, 'Share with a provider');
  await seen();
  await page.getByRole('button', { name: 'Start camera' }).waitFor();
  await page.getByRole('link', { name: 'Show my code to the provider instead' }).waitFor();
  await assertPlain(page, 'share');
  await axe(page, 'share');
  await shot(page, 'share-1280');
  await page.getByLabel('Request link').fill('https://not-a-carekey-link.example');
  await page.getByRole('button', { name: 'Review request' }).click();
  await page.getByRole('alert').filter({ hasText: /not a Carekey access request/ }).waitFor();
  await pasteRequest(page, REQUEST);
  await seen();
  await page.locator('.verdict.ok', { hasText: 'Carekey checked who this is' }).waitFor();
  assert.equal(await page.locator('.code-check').count(), 0, 'no code to compare when a directory vouches');
  await page.getByText('Respond by 10:40 today.').waitFor();
  const options = await page.getByLabel('For how long').locator('option').allTextContents();
  assert.deepEqual(options, ['30 days (as asked)', '2 weeks', '1 week', '1 day', '1 hour']);
  for (const name of ['Allergies & intolerances (2 records)', 'Medications (statements) (2 records)', 'Conditions (1 record)']) {
    assert.equal(await page.getByRole('checkbox', { name }).isChecked(), true, name);
  }
  await assertPlain(page, 'review verified');
  await axe(page, 'review verified');
  await shot(page, 'share-review-verified-1280');
  await page.getByRole('checkbox', { name: /^Medications/ }).uncheck();
  await page.getByLabel('For how long').selectOption({ label: '1 week' });
  await page.getByRole('button', { name: 'Share', exact: true }).click();
  // Sharing ends on Home: the result once at the top, the provider among those who can see.
  await heading(page, 'Who can see my records');
  await seen();
  await page.waitForFunction(() => location.hash === '#/home');
  const flash = page.locator('#home-flash');
  await flash.locator('.verdict.ok strong', { hasText: `You shared 3 records with ${BERG}` }).waitFor();
  await flash.getByText('Until 21 Mar 2025 (1 week).').waitFor();
  await page.waitForFunction((who) => document.getElementById('announcer')?.textContent === `You shared 3 records with ${who}. Until 21 Mar 2025 (1 week). 2 people can see your records`, BERG);
  // The seeded share with Dr. Berg and the new one.
  assert.equal(await page.locator('.holder', { hasText: BERG }).count(), 2);
  const [args] = await mockCalls(page, 'share');
  assert.deepEqual(args, { uri: REQUEST, recordIds: [], resourceTypes: ['AllergyIntolerance', 'Condition'], durationSecs: 604800, confirmNodes: false });
  await assertPlain(page, 'share done');
  await axe(page, 'share done');
  await shot(page, 'share-done-1280');
  assert.ok(screens.length <= 4, `scan to done in at most 4 screens: ${screens.join(' → ')}`);
  assert.deepEqual(screens, ['Share with a provider', 'Review the request', 'Who can see my records']);
  // A direct visit to the old result page lands on Home, without the result.
  await go(page, '#/share/done');
  await heading(page, 'Who can see my records');
  await page.waitForFunction(() => location.hash === '#/home');
  assert.equal(await page.locator('#home-flash').count(), 0, 'the result is shown once');
  await s.done();
});

test('share, no directory vouches: the patient compares the code; sharing needs "The codes match"', async () => {
  const uri = 'carekey:request/v1/unlisted-provider-request';
  const s = await openAt(server.url, { route: '/share' });
  const { page } = s;
  await heading(page, 'Share with a provider');
  const expected = await page.evaluate(async (u) => (await window.__carekeyMock.reviewRequest({ uri: u, imageBase64: null })).providerCode, uri);
  assert.match(expected, /^[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{2}$/);
  await pasteRequest(page, uri);
  const check = page.locator('.code-check');
  await check.getByRole('heading', { name: 'Check that the desk shows this code' }).waitFor();
  assert.equal(await check.locator('.provider-code [aria-hidden="true"]').textContent(), expected);
  assert.equal(await check.locator('.provider-code .sr-only').textContent(), `Code: ${expected.split('-').map((g) => g.split('').join(' ')).join(', ')}`);
  await check.getByText(/No provider directory you trust lists them/).waitFor();
  assert.equal(await page.locator('.verdict.alarm, [role="alert"].verdict').count(), 0, 'not a permanent red warning');
  assert.doesNotMatch(await plainText(page), /UNVERIFIED/);
  const size = await check.locator('.provider-code').evaluate((el) => parseFloat(getComputedStyle(el).fontSize));
  assert.ok(size >= 24, `the code is large (${size}px)`);
  // The unpinned node: plain words; its address only in technical details.
  await page.getByText('This provider uses a service you have not used before').waitFor();
  await assertPlain(page, 'review unlisted');
  await axe(page, 'review unlisted');
  await shot(page, 'share-review-compare-1280');
  await page.getByRole('button', { name: 'Share', exact: true }).click();
  await page.getByRole('alert').filter({ hasText: /Compare the codes first/ }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('name')), 'codes-match');
  await page.getByLabel('The codes match').check();
  await page.getByRole('button', { name: 'Share', exact: true }).click();
  await page.getByRole('alert').filter({ hasText: /Agree to the new service first/ }).waitFor();
  assert.equal((await mockCalls(page, 'share')).length, 0);
  await page.getByLabel('I agree to keep my shared records there').check();
  await page.getByRole('button', { name: 'Share', exact: true }).click();
  await heading(page, 'Who can see my records');
  await page.locator('#home-flash').getByText(/^You shared \d+ records? with /).waitFor();
  assert.equal((await mockCalls(page, 'share'))[0].confirmNodes, true);

  // No directory at all: the same comparison, with a pointer to Settings.
  await go(page, '#/share');
  await heading(page, 'Share with a provider');
  await pasteRequest(page, 'carekey:request/v1/nodir-provider-request');
  await page.locator('.code-check', { hasText: /You have no provider directory yet/ }).waitFor();
  await axe(page, 'review no directory');
  await s.done();
});

test('share, a name the directory lists differently: the loud red warning stays', async () => {
  const s = await openAt(server.url, { route: '/share' });
  const { page } = s;
  await heading(page, 'Share with a provider');
  await pasteRequest(page, 'carekey:request/v1/name-mismatch-request');
  const verdict = page.locator('.verdict.alarm', { hasText: 'Warning: the name does not match' });
  await verdict.waitFor();
  assert.equal(await verdict.getAttribute('role'), 'alert');
  await verdict.getByText(/belongs to “Harbor Wellness Ltd\.”, not to “St\. Mary’s Hospital Cardiology”/).waitFor();
  assert.equal(await page.locator('.code-check').count(), 0);
  await axe(page, 'review mismatch');
  await shot(page, 'share-review-mismatch-1280');
  await s.done();
});

test('share: "Show my code to the provider instead" opens My QR code; its text is a technical detail', async () => {
  const s = await openAt(server.url, { route: '/share' });
  const { page } = s;
  await heading(page, 'Share with a provider');
  await page.getByRole('link', { name: 'Show my code to the provider instead' }).click();
  await heading(page, 'My QR code');
  const img = page.getByRole('img', { name: 'Your Carekey QR code' });
  await img.waitFor();
  assert.ok(await img.evaluate((i) => i.complete && i.naturalWidth > 0));
  assert.equal(await page.getByText(/^carekey:patient\/v1\//).isVisible(), false);
  await page.getByText('Technical details', { exact: true }).click();
  await page.getByText(/^carekey:patient\/v1\//).waitFor();
  await axe(page, 'my qr');
  await page.getByRole('link', { name: '← Back to sharing' }).click();
  await heading(page, 'Share with a provider');
  await s.done();
});

test('German: records, a record, the review with the code, the receipt', async () => {
  const s = await openAt(server.url, { route: '/records', lang: 'de-DE' });
  const { page } = s;
  await heading(page, 'Einträge');
  await page.getByRole('button', { name: 'Einträge hinzufügen' }).waitFor();
  await page.getByText('oder Dateien hier ablegen').waitFor();
  await page.locator('.group h2', { hasText: 'Befunde und Messwerte' }).waitFor();
  await page.getByText(`Geteilt mit ${BERG}`).first().waitFor();
  await axe(page, 'records de');
  await shot(page, 'records-de-1280');
  await page.getByRole('link', { name: /^HbA1c/ }).click();
  await heading(page, 'HbA1c');
  await page.getByRole('button', { name: 'Kopie speichern …' }).waitFor();
  await page.getByText('Technische Details').waitFor();
  await axe(page, 'record de');
  await page.getByRole('button', { name: 'Diesen Eintrag löschen …' }).click();
  await page.getByRole('dialog', { name: '„HbA1c“ löschen?' }).getByRole('button', { name: 'Eintrag löschen' }).click();
  await heading(page, 'Löschbestätigung');
  await page.getByText('Der Eintrag „HbA1c“').waitFor();
  await page.getByText('14. März 2025, 10:30').waitFor();
  await page.getByRole('button', { name: 'Drucken oder als PDF speichern' }).waitFor();
  await page.getByRole('button', { name: 'Bestätigungsdatei speichern' }).waitFor();
  await axe(page, 'receipt de');
  await shot(page, 'receipt-de-1280');
  await go(page, '#/share');
  await heading(page, 'Einträge teilen');
  await page.getByLabel('Link der Anfrage').fill('carekey:request/v1/unlisted-provider-request');
  await page.getByRole('button', { name: 'Anfrage ansehen' }).click();
  await heading(page, 'Anfrage prüfen');
  await page.getByText('Bitte antworten Sie bis heute, 10:40 Uhr.').waitFor();
  await page.getByRole('heading', { name: 'Prüfen Sie, ob am Empfang dieser Code steht' }).waitFor();
  await page.getByLabel('Die Codes stimmen überein').waitFor();
  assert.deepEqual(await page.getByLabel('Wie lange').locator('option').allTextContents(),
    ['1 Jahr (wie erbeten)', '90 Tage', '30 Tage', '2 Wochen', '1 Woche', '1 Tag', '1 Stunde']);
  await axe(page, 'review de');
  await shot(page, 'share-review-de-1280');
  await page.getByLabel('Die Codes stimmen überein').check();
  await page.getByLabel(/Ich bin einverstanden/).check();
  await page.getByRole('button', { name: 'Teilen', exact: true }).click();
  await heading(page, HOME_DE);
  await page.locator('#home-flash').getByText(/Sie haben \d+ Einträge mit QuickCare Online Clinic geteilt/).waitFor();
  await axe(page, 'share done de');
  await s.done();
});

test('390 px: records, a record, the review with the code, the receipt fit without sideways scrolling', async () => {
  for (const dark of [false, true]) {
    const s = await openAt(server.url, { route: '/records', width: 390, height: 844 });
    const { page } = s;
    if (dark) await page.emulateMedia({ colorScheme: 'dark' });
    const mode = `390-${dark ? 'dark' : 'light'}`;
    await heading(page, 'Records');
    await page.locator('.group').first().waitFor();
    await noSideScroll(page, `records ${mode}`);
    await axe(page, `records ${mode}`);
    await shot(page, `records-${mode}`);
    await page.getByRole('link', { name: /^Blood pressure/ }).click();
    await heading(page, 'Blood pressure');
    await page.getByText('Technical details', { exact: true }).click();
    await noSideScroll(page, `record ${mode}`);
    await axe(page, `record ${mode}`);
    await shot(page, `record-page-${mode}`);
    await page.getByRole('button', { name: 'Delete this record…' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete record' }).click();
    await heading(page, 'Erasure receipt');
    await noSideScroll(page, `receipt ${mode}`);
    await axe(page, `receipt ${mode}`);
    await shot(page, `receipt-${mode}`);
    await go(page, '#/share');
    await heading(page, 'Share with a provider');
    await noSideScroll(page, `share ${mode}`);
    await pasteRequest(page, 'carekey:request/v1/unlisted-provider-request');
    await page.getByText('Technical details', { exact: true }).click();
    await noSideScroll(page, `review ${mode}`);
    await axe(page, `review ${mode}`);
    await shot(page, `share-review-compare-${mode}`);
    await s.done();
  }
});

test('first import + first share, as a new patient does it: the actions counted', async () => {
  // Starts unlocked with an empty wallet on Home, as right after onboarding.
  const s = await openAt(server.url, { route: '/settings', query: 'scenario=unlocked&grants=none' });
  const { page } = s;
  await page.evaluate(async () => {
    const m = window.__carekeyMock;
    for (const r of await m.listRecords()) await m.eraseRecord({ id: r.id });
  });
  await go(page, '#/home');
  await heading(page, 'Who can see my records');
  let actions = 0;
  const click = async (locator) => { actions += 1; await locator.click(); };
  // Home's "Add records" (1), the file in the chooser (2); Records then shows it.
  const add = page.locator('#home-add-records');
  assert.equal(await add.textContent(), 'Add records');
  assert.match(await add.getAttribute('class'), /\bprimary\b/);
  await axe(page, 'home, no records yet');
  const [chooser] = await Promise.all([page.waitForEvent('filechooser'), click(add)]);
  actions += 1;
  await chooser.setFiles({ name: 'patient-summary.json', mimeType: 'application/json', buffer: Buffer.from('{}') });
  await heading(page, 'Records');
  await page.waitForFunction(() => /^Added 1 record/.test(document.getElementById('announcer')?.textContent ?? ''));
  assert.equal((await mockCalls(page, 'importFiles')).length, 1);
  // Share (3); the provider's code (the camera reads it: "Start camera" (4)); here the link is pasted instead,
  // counted as that one action.
  await click(page.getByRole('link', { name: 'Share', exact: true }));
  await heading(page, 'Share with a provider');
  await page.getByLabel('Request link').fill(REQUEST);
  await click(page.getByRole('button', { name: 'Review request' }));
  await heading(page, 'Review the request');
  // Share (5): Home shows the provider.
  await click(page.getByRole('button', { name: 'Share', exact: true }));
  await heading(page, 'Who can see my records');
  await page.locator('.holder', { hasText: BERG }).waitFor();
  assert.equal(actions, 5, 'first import + first share (verified provider)');
  console.log(`# actions, first import + first share: ${actions} (a provider no directory vouches for: +1 "The codes match")`);
  await s.done();
});
