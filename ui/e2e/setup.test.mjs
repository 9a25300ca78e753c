// Issue 10, "a setup that cannot lose the records": the first backup in onboarding, the forgotten
// passphrase, restore from Settings, and Settings reorganised (backups, directories, erase everything).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { HOME, STRONG, axe, heading, home, launch, mockCalls, noSideScroll, open, serve, shot } from './harness.mjs';

let server;
let browser;
before(async () => { server = await serve(); browser = await launch(); });
after(async () => { await browser?.close(); await server?.close(); });

const WORDS = 'harbor velvet orbit maple quiet lantern cobalt meadow ripple saddle timber violin walnut ember fabric glacier hazel island jungle kernel ladder mosaic nectar oyster';
const USB = '/media/patient/USB-STICK';

/** The one visible primary action on the screen: clicks it and returns its text. */
async function pressPrimary(page) {
  const primary = page.locator('main .btn.primary:visible');
  assert.equal(await primary.count(), 1, `exactly one primary action (found: ${(await primary.allTextContents()).join(' | ')})`);
  const text = (await primary.textContent()).trim();
  await primary.click();
  return text;
}

test('a new patient who presses only primary buttons ends with a backup and a schedule', async () => {
  const s = await open(browser, server.url, { query: 'scenario=new' });
  const { page } = s;
  let actions = 0;
  await heading(page, 'Welcome to Carekey');
  await page.getByRole('link', { name: /Create a new wallet/ }).click();
  await heading(page, 'Create your wallet');
  await page.getByText('Step 1 of 3').waitFor();
  await page.getByLabel('Passphrase', { exact: true }).fill(STRONG);
  await page.getByLabel('Repeat the passphrase').fill(STRONG);
  actions += 2;
  assert.equal(await pressPrimary(page), 'Create wallet');
  actions += 1;

  await heading(page, 'Your recovery kit');
  await page.getByText('Step 2 of 3').waitFor();
  await axe(page, 'recovery kit');
  assert.equal(await pressPrimary(page), 'I have written them down');
  actions += 1;

  await heading(page, 'Make your first backup');
  await page.getByText('Step 3 of 3').waitFor();
  await page.getByText(/A backup in a folder on this computer is lost together with the computer/).waitFor();
  assert.equal(await page.getByLabel(/Back up here automatically every 7 days/).isChecked(), true, 'the schedule is on by default');
  assert.equal(await page.getByRole('link', { name: 'Skip for now' }).getAttribute('class'), 'skip-link', 'skipping is not a primary action');
  await axe(page, 'first backup');
  await shot(page, 'first-backup-1280');
  // The mock has no folder chooser: the patient types the folder.
  await page.getByLabel('Folder for the backup').fill(USB);
  actions += 1;
  assert.equal(await pressPrimary(page), 'Back up now');
  actions += 1;
  // Setup ends on Home, which says once how the backup went.
  await heading(page, HOME);
  const flash = page.locator('#home-flash');
  await flash.locator('strong', { hasText: 'Your first backup is done' }).waitFor();
  await flash.getByText(/Carekey will back up to this folder again every 7 days while it is open \(next: .*\)\. To restore, you need this backup file and your 24 recovery words\./).waitFor();
  assert.equal(await flash.locator('[role="status"]').count(), 1, 'a polite status notice');
  await page.waitForFunction(() => /^Your first backup is done\. Carekey will back up .* recovery words\. Nobody can see your records/.test(document.getElementById('announcer')?.textContent ?? ''));
  assert.deepEqual(await mockCalls(page, 'backup'), [{ path: `${USB}/carekey-backup.ckb` }]);
  assert.deepEqual(await mockCalls(page, 'setBackupSchedule'), [{ folder: USB, everyDays: 7 }]);
  await axe(page, 'home after the first backup');
  await shot(page, 'first-backup-done-1280');
  // create (type twice + 1) → kit (1) → first backup (folder + back up) → home.
  assert.equal(actions, 6);
  // Nothing in the wallet yet: Home's one primary action adds records (the mock's file chooser).
  await page.getByText('There are no records in your wallet yet.', { exact: false }).waitFor();
  await page.getByRole('link', { name: 'Share with a provider' }).waitFor();
  await axe(page, 'home, no records yet');
  const [chooser] = await Promise.all([page.waitForEvent('filechooser'), pressPrimary(page).then((text) => assert.equal(text, 'Add records'))]);
  await chooser.setFiles({ name: 'weight.json', mimeType: 'application/json', buffer: Buffer.from('{}') });
  await heading(page, 'Records');
  await page.getByRole('link', { name: /^Body weight/ }).waitFor();
  assert.deepEqual(await mockCalls(page, 'importFiles'), [{ paths: ['weight.json'] }]);
  // The result was shown once: Home no longer has it.
  await page.evaluate(() => { location.hash = '#/home'; });
  await home(page);
  assert.equal(await page.locator('#home-flash').count(), 0);
  console.log(`onboarding actions (create → kit → first backup → home, typed folder): ${actions}`);
  await s.done();
});

test('first backup with the app’s folder chooser: choose, verdict, back up; the same disk holds the primary back', async () => {
  const s = await open(browser, server.url, { query: 'scenario=unlocked', route: '/home' });
  const { page } = s;
  await heading(page, HOME);
  // As inside the app: a folder chooser (the platform's dialog answers with these folders in turn).
  await page.evaluate(() => {
    const mock = window.__carekeyMock;
    const answers = ['/home/patient/Documents', '/media/patient/USB-STICK'];
    mock.kind = 'tauri';
    mock.chooseFolder = async (title) => { mock.calls.push({ method: 'chooseFolder', args: title }); return answers.shift() ?? null; };
    location.hash = '#/first-backup';
  });
  await heading(page, 'Make your first backup');
  assert.equal(await page.getByRole('button', { name: 'Back up now' }).isVisible(), false, 'nothing to back up to yet');
  assert.equal(await page.getByLabel('Folder for the backup').isVisible(), false, 'the typed path waits under "More"');
  assert.equal(await pressPrimary(page), 'Choose a folder…');
  await page.getByText(/This folder is on the same disk as your wallet\./).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Back up now' }).isVisible(), false, 'no backup to the same disk from the primary path');
  await axe(page, 'first backup chooser same disk');
  assert.equal(await pressPrimary(page), 'Choose another folder…');
  await page.getByText(/Good: this is a removable drive/).waitFor();
  await page.getByText('Folder: /media/patient/USB-STICK').waitFor();
  assert.equal(await pressPrimary(page), 'Back up now');
  await heading(page, HOME);
  await page.locator('#home-flash strong', { hasText: 'Your first backup is done' }).waitFor();
  assert.deepEqual(await mockCalls(page, 'backup'), [{ path: '/media/patient/USB-STICK/carekey-backup.ckb' }]);
  assert.deepEqual(await mockCalls(page, 'setBackupSchedule'), [{ folder: '/media/patient/USB-STICK', everyDays: 7 }]);
  assert.equal((await mockCalls(page, 'chooseFolder')).length, 2);
  await s.done();
});

test('first backup: a folder on the wallet’s disk is warned about; the patient may use it knowingly', async () => {
  const s = await open(browser, server.url, { query: 'scenario=unlocked', route: '/first-backup' });
  const { page } = s;
  await heading(page, 'Make your first backup');
  // Nothing typed: the patient is told what to do.
  await page.getByRole('button', { name: 'Back up now' }).click();
  await page.getByRole('alert').filter({ hasText: 'First choose a folder for the backup.' }).waitFor();
  // The verdict comes as soon as the folder is there (chosen, or typed and left).
  await page.getByLabel('Folder for the backup').fill(USB);
  await page.keyboard.press('Tab');
  await page.getByText(/Good: this is a removable drive/).waitFor();
  // A folder that cannot be written.
  await page.getByLabel('Folder for the backup').fill('/media/patient/missing-drive');
  await page.getByRole('button', { name: 'Back up now' }).click();
  await page.getByText('Carekey cannot write to this folder.').waitFor();
  // The same disk: a warning and an explicit choice, and no backup until the patient makes it.
  await page.getByLabel('Folder for the backup').fill('/home/patient/Documents');
  await page.getByRole('button', { name: 'Back up now' }).click();
  await page.getByText(/This folder is on the same disk as your wallet\./).waitFor();
  assert.equal((await mockCalls(page, 'backup')).length, 0, 'no backup to the same disk without a choice');
  await axe(page, 'first backup same disk');
  await shot(page, 'first-backup-same-disk-1280');
  // The schedule fails (the wallet says why): Home still reports the backup, and the way to retry.
  await page.evaluate(() => window.__carekeyMock.failNext('setBackupSchedule', 'io', '/home/patient/Documents: Permission denied'));
  await page.getByRole('button', { name: 'Use it anyway (it is a synced folder)' }).click();
  await heading(page, HOME);
  const flash = page.locator('#home-flash');
  await flash.locator('.verdict.warning strong', { hasText: 'Your first backup is done' }).waitFor();
  assert.deepEqual(await mockCalls(page, 'backup'), [{ path: '/home/patient/Documents/carekey-backup.ckb' }]);
  await flash.getByRole('alert').filter({ hasText: /Permission denied/ }).waitFor();
  await flash.getByText(/automatic backups are not on\. You can turn them on in Settings/).waitFor();
  await axe(page, 'first backup done, schedule failed');
  await s.done();
});

test('first backup with a ledger node offline: the honest sentence, and skipping is possible', async () => {
  const s = await open(browser, server.url, { query: 'scenario=unlocked&fail=unreachable', route: '/first-backup', width: 390, height: 800 });
  const { page } = s;
  await heading(page, 'Make your first backup');
  await page.getByLabel(/Back up here automatically/).uncheck();
  await page.getByLabel('Folder for the backup').fill('/home/patient/Dropbox');
  await page.getByRole('button', { name: 'Back up now' }).click();
  await heading(page, HOME);
  await page.locator('#home-flash .verdict.warning strong', { hasText: 'Your backup is written, but not ready yet' }).waitFor();
  await page.locator('#home-flash').getByText(/it cannot be restored yet: part of its key still has to reach one of your ledger nodes/).waitFor();
  assert.equal(await page.locator('main p', { hasText: 'northcare' }).filter({ visible: true }).count(), 0, 'no node address outside technical details');
  assert.equal((await mockCalls(page, 'setBackupSchedule')).length, 0, 'unticked: no schedule');
  await noSideScroll(page, 'first backup pending 390');
  await axe(page, 'first backup pending 390');
  await shot(page, 'first-backup-pending-390');
  await s.done();

  const t = await open(browser, server.url, { query: 'scenario=unlocked', route: '/first-backup', width: 390, height: 800 });
  await heading(t.page, 'Make your first backup');
  await noSideScroll(t.page, 'first backup 390');
  await axe(t.page, 'first backup 390');
  await shot(t.page, 'first-backup-390');
  await t.page.getByRole('link', { name: 'Skip for now' }).click();
  await heading(t.page, HOME);
  await t.done();
});

test('forgot passphrase: restore replaces the wallet on this device (kept aside), words pasted at once', async () => {
  const s = await open(browser, server.url, { query: 'scenario=locked' });
  const { page } = s;
  await heading(page, 'Unlock your wallet');
  await page.getByRole('link', { name: 'Forgot passphrase?' }).click();
  await heading(page, 'Restore your wallet');
  await page.getByText('This replaces the wallet on this device.').waitFor();
  await page.getByText('The wallet here now is kept aside, not deleted.').waitFor();
  await axe(page, 'restore replace');
  await shot(page, 'restore-replace-1280');
  // Pasted with numbers, commas and line breaks.
  await page.getByLabel('Recovery words').fill(WORDS.split(' ').map((w, i) => `${i + 1}. ${w}`).join(',\n'));
  await page.getByText('24 of 24 words').waitFor();
  await page.getByLabel('Backup file').fill(`${USB}/carekey-backup.ckb`);
  await page.getByLabel('New passphrase', { exact: true }).fill(STRONG);
  await page.getByLabel('Repeat the new passphrase').fill(STRONG);
  await page.getByRole('button', { name: 'Replace with the backup' }).click();
  await heading(page, HOME);
  const [args] = await mockCalls(page, 'restoreWallet');
  assert.equal(args.replaceExisting, true);
  assert.equal(args.backupPath, `${USB}/carekey-backup.ckb`);
  await s.done();
});

test('restore failures: the wallet’s sentence, and the form stays filled', async () => {
  const s = await open(browser, server.url, { query: 'scenario=locked&fail=restore', route: '/restore', width: 390, height: 800 });
  const { page } = s;
  await heading(page, 'Restore your wallet');
  await page.getByLabel('Recovery words').fill(WORDS);
  await page.getByRole('button', { name: 'Replace with the backup' }).click();
  await page.getByRole('alert').filter({ hasText: /carekey-backup\.ckb/ }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.id), await page.getByLabel('Backup file').getAttribute('id'));
  await page.getByLabel('Backup file').fill(`${USB}/carekey-backup.ckb`);
  await page.getByLabel('New passphrase', { exact: true }).fill(STRONG);
  await page.getByLabel('Repeat the new passphrase').fill(STRONG);
  await page.getByRole('button', { name: 'Replace with the backup' }).click();
  const alert = page.getByRole('alert').filter({ hasText: /backup_share_unreachable/ });
  await alert.waitFor();
  await heading(page, 'Restore your wallet');
  assert.equal(await page.getByLabel('Recovery words').inputValue(), WORDS, 'nothing typed is lost');
  await noSideScroll(page, 'restore error 390');
  await axe(page, 'restore error 390');
  await shot(page, 'restore-failed-390');
  // Back goes to the unlock screen, not to a welcome the patient does not need.
  await page.getByRole('link', { name: 'Back' }).click();
  await heading(page, 'Unlock your wallet');
  await s.done();
});

test('settings: backups first — last backup in plain words, back up now, schedule on, problem, off', async () => {
  const s = await open(browser, server.url, { route: '/settings', query: 'scenario=unlocked&backup=12' });
  const { page } = s;
  await heading(page, 'Settings');
  const h2 = await page.locator('main h2').allTextContents();
  assert.deepEqual(h2.slice(0, 5), ['Backups', 'Unlocking', 'Provider directories', 'Trusted card issuers', 'Restore from a backup']);
  assert.equal(h2.at(-1), 'Danger zone: erase everything');
  const backups = page.locator('#backup');
  await backups.getByText(`Last backup 12 days ago, to ${USB}.`).waitFor();
  await backups.getByText(/Off\. Carekey backs up only when you press/).waitFor();
  assert.equal(await page.locator('#technical').evaluate((d) => d.open), false, 'ledger nodes are folded');
  await axe(page, 'settings');
  await shot(page, 'settings-backups-1280');
  // Back up now: the last folder is already there.
  assert.equal(await backups.getByLabel('Folder for the backup').inputValue(), USB);
  await backups.getByRole('button', { name: 'Back up now' }).click();
  await backups.getByText(`Your backup is saved: ${USB}/carekey-backup.ckb.`).waitFor();
  await backups.getByText(`Last backup just now, to ${USB}.`).waitFor();
  // Turn the schedule on, every 14 days.
  await backups.getByLabel('Back up every how many days').fill('14');
  await backups.getByRole('button', { name: 'Back up here automatically' }).click();
  await backups.getByText(new RegExp(`Every 14 days into ${USB}\\. Next backup: `)).waitFor();
  assert.deepEqual((await mockCalls(page, 'setBackupSchedule')).at(-1), { folder: USB, everyDays: 14 });
  // A scheduled backup failed: the wallet's reason is shown.
  await page.evaluate(() => { window.__carekeyMock.schedule.lastProblem = 'the USB drive was not plugged in'; location.hash = '#/home'; });
  await heading(page, HOME);
  await page.evaluate(() => { location.hash = '#/settings'; });
  await heading(page, 'Settings');
  await page.getByRole('alert').filter({ hasText: 'The last automatic backup did not work: the USB drive was not plugged in' }).waitFor();
  await axe(page, 'settings schedule problem');
  await page.getByRole('button', { name: 'Turn off automatic backups' }).click();
  await page.locator('#backup').getByText(/Off\. Carekey backs up only/).waitFor();
  assert.deepEqual((await mockCalls(page, 'setBackupSchedule')).at(-1), { folder: null, everyDays: 14 });
  await s.done();
});

test('settings: no backup yet is said plainly; a same-disk folder needs the explicit choice', async () => {
  const s = await open(browser, server.url, { route: '/settings', query: 'scenario=unlocked', width: 390, height: 800 });
  const { page } = s;
  await heading(page, 'Settings');
  const backups = page.locator('#backup');
  await backups.getByText('No backup yet.').waitFor();
  await backups.getByLabel('Folder for the backup').fill('/home/patient');
  await backups.getByRole('button', { name: 'Back up now' }).click();
  await backups.getByText(/This folder is on the same disk as your wallet\./).waitFor();
  assert.equal((await mockCalls(page, 'backup')).length, 0);
  await noSideScroll(page, 'settings 390');
  await axe(page, 'settings same disk 390');
  await shot(page, 'settings-same-disk-390');
  await backups.getByRole('button', { name: 'Use it anyway (it is a synced folder)' }).click();
  await backups.getByText('Your backup is saved: /home/patient/carekey-backup.ckb.').waitFor();
  await s.done();
});

test('settings: provider directories — listed by name, added from a file and key, removed after confirming', async () => {
  const s = await open(browser, server.url, { route: '/settings', query: 'scenario=unlocked&directory=1' });
  const { page } = s;
  await heading(page, 'Settings');
  const dirs = page.locator('section', { has: page.getByRole('heading', { name: 'Provider directories' }) });
  await dirs.getByText('Medical Council', { exact: true }).waitFor();
  await dirs.getByText('Lists 412 providers, updated 3 days ago.').waitFor();
  // The key (hex) only under "Technical details".
  assert.equal(await dirs.locator('li.directory code.key').isVisible(), false);
  await dirs.getByRole('button', { name: 'Remove Medical Council' }).click();
  const dialog = page.getByRole('dialog', { name: 'Remove Medical Council?' });
  await axe(page, 'remove directory dialog');
  await dialog.getByRole('button', { name: 'Remove directory' }).click();
  await dirs.getByText(/No provider directory yet/).waitFor();
  assert.equal((await mockCalls(page, 'removeDirectory')).length, 1);
  // Add: a forged file is refused with the wallet's reason; then a good one.
  const key = 'ab'.repeat(32);
  await dirs.getByLabel('Directory file').fill('forged-directory.json');
  await dirs.getByLabel('Directory key').fill(key);
  await dirs.getByRole('button', { name: 'Add directory' }).click();
  await dirs.getByRole('alert').filter({ hasText: /bad_document/ }).waitFor();
  await dirs.getByLabel('Directory file').fill('medical-council-directory.json');
  await dirs.getByRole('button', { name: 'Add directory' }).click();
  await dirs.getByText('Lists 412 providers, updated 3 days ago.').waitFor();
  assert.deepEqual((await mockCalls(page, 'addDirectory')).at(-1), { path: 'medical-council-directory.json', key });
  await axe(page, 'settings directories');
  await s.done();
});

test('settings: restore from a backup (replace mode), and erase everything ends on the receipt', async () => {
  const s = await open(browser, server.url, { route: '/settings', query: 'scenario=unlocked' });
  const { page } = s;
  await heading(page, 'Settings');
  await page.getByRole('link', { name: 'Restore from a backup…' }).click();
  await heading(page, 'Restore your wallet');
  await page.getByText('This replaces the wallet on this device.').waitFor();
  await page.getByRole('link', { name: 'Back' }).click();
  await heading(page, 'Settings');
  // Erase everything: the word first, then the dialog.
  await page.getByRole('button', { name: 'Erase everything' }).click();
  await page.getByRole('alert').filter({ hasText: 'Type ERASE in capitals' }).waitFor();
  await page.getByLabel('Type ERASE to confirm').fill('ERASE');
  await page.getByRole('button', { name: 'Erase everything' }).click();
  const dialog = page.getByRole('dialog', { name: 'Erase the whole wallet?' });
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  assert.equal((await mockCalls(page, 'eraseAll')).length, 0, 'cancel erases nothing');
  await page.getByRole('button', { name: 'Erase everything' }).click();
  await dialog.getByRole('button', { name: 'Erase everything' }).click();
  await page.waitForFunction(() => location.hash === '#/receipt');
  await page.locator('main h1').waitFor();
  assert.equal((await mockCalls(page, 'eraseAll')).length, 1);
  await s.done();
});

test('German: onboarding’s first backup and Settings', async () => {
  const s = await open(browser, server.url, { query: 'scenario=unlocked&backup=40', route: '/first-backup', width: 390, height: 800 });
  const { page } = s;
  await page.evaluate(() => localStorage.setItem('carekey-language', 'de'));
  await page.reload();
  await heading(page, 'Ihre erste Sicherung');
  await page.getByText('Schritt 3 von 3').waitFor();
  await page.getByLabel('Hier automatisch alle 7 Tage sichern').waitFor();
  await page.getByLabel('Ordner für die Sicherung').fill('/home/patient/Documents');
  await page.getByRole('button', { name: 'Jetzt sichern' }).click();
  await page.getByText(/Dieser Ordner liegt auf derselben Festplatte wie Ihre Wallet\./).waitFor();
  await noSideScroll(page, 'first backup de 390');
  await axe(page, 'first backup de');
  await shot(page, 'first-backup-de-390');
  await page.evaluate(() => { location.hash = '#/settings'; });
  await heading(page, 'Einstellungen');
  await page.getByRole('heading', { name: 'Sicherungen', exact: true }).waitFor();
  await page.locator('#backup').getByText(/Letzte Sicherung vor 40 Tagen, in \/media\/patient\/USB-STICK\. Zeit für eine neue Sicherung\./).waitFor();
  await page.getByRole('heading', { name: 'Gefahrenbereich: alles löschen' }).waitFor();
  await noSideScroll(page, 'settings de 390');
  await axe(page, 'settings de');
  await shot(page, 'settings-de-390');
  await page.evaluate(() => localStorage.removeItem('carekey-language'));
  await s.done();
});
