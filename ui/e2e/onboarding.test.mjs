import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { PASS, STRONG, axe, heading, launch, mockCalls, open, serve, shot } from './harness.mjs';

let server;
let browser;
before(async () => { server = await serve(); browser = await launch(); });
after(async () => { await browser?.close(); await server?.close(); });

test('create a wallet: strength feedback, keyring opt-in, recovery kit shown once, save and print', async () => {
  const s = await open(browser, server.url, { query: 'scenario=new' });
  const { page } = s;
  await heading(page, 'Welcome to Carekey');
  await axe(page, 'welcome');
  await shot(page, 'welcome-1280');
  await page.getByRole('link', { name: /Create a new wallet/ }).click();
  await heading(page, 'Create your wallet');
  const pass = page.getByLabel('Passphrase', { exact: true });
  await pass.fill('password1');
  await assert.doesNotReject(page.getByText(/Strength: very weak/).waitFor());
  await page.getByLabel('Repeat the passphrase').fill('password1');
  await page.getByRole('button', { name: 'Create wallet' }).click();
  await page.getByRole('alert').filter({ hasText: /very weak/ }).waitFor();
  assert.equal((await mockCalls(page, 'createWallet')).length, 0, 'a weak passphrase never reaches the backend');
  await pass.fill(STRONG);
  await page.getByText(/Strength: (strong|very strong)/).waitFor();
  await page.getByLabel('Repeat the passphrase').fill(STRONG + 'x');
  await page.getByRole('button', { name: 'Create wallet' }).click();
  await page.getByRole('alert').filter({ hasText: /not the same/ }).waitFor();
  await page.getByLabel('Repeat the passphrase').fill(STRONG);
  await page.getByLabel(/Also unlock on this device without the passphrase/).check();
  await axe(page, 'create');
  await shot(page, 'create-1280');
  await page.getByRole('button', { name: 'Create wallet' }).click();

  await heading(page, 'Your recovery kit');
  assert.deepEqual(await mockCalls(page, 'createWallet'), [{ passphrase: '[redacted]', keyring: true }]);
  assert.equal(await page.locator('ol.words li').count(), 24);
  const qr = page.getByRole('img', { name: /QR code of the recovery kit/ });
  assert.match(await qr.getAttribute('src'), /^data:image\/svg\+xml;base64,/);
  assert.ok(await qr.evaluate((img) => img.complete && img.naturalWidth > 0), 'the QR SVG renders under the CSP');
  await axe(page, 'recovery kit');
  await shot(page, 'recovery-kit-1280');
  await page.getByRole('button', { name: 'Save as text file' }).click();
  await page.getByText(/Saved to carekey-recovery-kit.txt/).waitFor();
  const saved = await page.evaluate(() => window.__carekeyMock.files.get('/home/patient/carekey-recovery-kit.txt'));
  assert.match(saved, / 1\. harbor/);
  assert.match(saved, /24\. oyster/);
  // Print: the print stylesheet keeps only the kit.
  await page.evaluate(() => { window.print = () => { window.__printed = true; }; });
  await page.getByRole('button', { name: 'Print' }).click();
  assert.equal(await page.evaluate(() => window.__printed), true);
  await page.emulateMedia({ media: 'print' });
  assert.equal(await page.locator('nav').evaluate((n) => getComputedStyle(n).visibility), 'hidden');
  assert.equal(await page.locator('ol.words').evaluate((n) => getComputedStyle(n).visibility), 'visible');
  await shot(page, 'recovery-kit-print');
  await page.emulateMedia({ media: 'screen' });
  await page.getByRole('button', { name: 'I have written them down' }).click();
  await heading(page, 'Make your first backup');
  // Shown once: coming back shows no words.
  await page.evaluate(() => { location.hash = '#/recovery-kit'; });
  await page.getByText(/shown only once, right after the wallet is created/).waitFor();
  assert.equal(await page.locator('ol.words').count(), 0);
  await s.done();
});

test('restore from words and a backup file', async () => {
  const s = await open(browser, server.url, { query: 'scenario=new', width: 360 });
  const { page } = s;
  await page.getByRole('link', { name: /Restore from a recovery kit/ }).click();
  await heading(page, 'Restore your wallet');
  await page.getByLabel('Recovery words').fill('harbor velvet orbit');
  await page.getByText('3 of 24 words').waitFor();
  await page.getByLabel('Backup file').fill('/media/usb/carekey-backup.ckb');
  await page.getByLabel('New passphrase', { exact: true }).fill(STRONG);
  await page.getByLabel('Repeat the new passphrase').fill(STRONG);
  await page.getByRole('button', { name: 'Restore wallet' }).click();
  await page.getByRole('alert').filter({ hasText: /24 words; 3 typed/ }).waitFor();
  await page.getByLabel('Recovery words').fill(
    'harbor velvet orbit maple quiet lantern cobalt meadow ripple saddle timber violin walnut ember fabric glacier hazel island jungle kernel ladder mosaic nectar zebra');
  await page.getByRole('button', { name: 'Restore wallet' }).click();
  await page.getByRole('alert').filter({ hasText: /zebra/ }).waitFor();
  await axe(page, 'restore with error');
  await shot(page, 'restore-error-360');
  await page.getByLabel('Recovery words').fill(
    '1. harbor 2. velvet orbit maple quiet lantern cobalt meadow ripple saddle timber violin walnut ember fabric glacier hazel island jungle kernel ladder mosaic nectar oyster');
  await page.getByRole('button', { name: 'Restore wallet' }).click();
  await heading(page, 'Who can see my records');
  const [args] = await mockCalls(page, 'restoreWallet');
  assert.equal(args.backupPath, '/media/usb/carekey-backup.ckb');
  await s.done();
});

test('unlock: a wrong passphrase shows an error and keeps focus in the field; lock; keyring unlock', async () => {
  const s = await open(browser, server.url, { query: 'scenario=locked' });
  const { page } = s;
  await heading(page, 'Unlock your wallet');
  assert.equal(await page.locator('nav').isHidden(), true, 'no navigation while locked');
  await page.getByLabel('Passphrase').fill('not my passphrase');
  await page.getByRole('button', { name: 'Unlock', exact: true }).click();
  const alert = page.getByRole('alert').filter({ hasText: /passphrase is not right/ });
  await alert.waitFor();
  assert.match(await alert.textContent(), /wrong_passphrase/);
  assert.equal(await page.evaluate(() => document.activeElement?.id), await page.getByLabel('Passphrase').getAttribute('id'));
  await axe(page, 'unlock error');
  await shot(page, 'unlock-wrong-passphrase-1280');
  await page.getByLabel('Passphrase').fill(PASS);
  await page.getByRole('button', { name: 'Unlock', exact: true }).click();
  await heading(page, 'Who can see my records');
  // Turn on keyring unlock in Settings, lock, unlock without typing.
  await page.getByRole('link', { name: 'Settings' }).click();
  await heading(page, 'Settings');
  await page.getByRole('switch', { name: /Unlock with this device/ }).check();
  await page.getByText('Keyring unlock is on.').waitFor();
  await page.getByRole('button', { name: 'Lock' }).click();
  await heading(page, 'Unlock your wallet');
  await page.getByRole('button', { name: 'Unlock with device keyring' }).click();
  await heading(page, 'Who can see my records');
  assert.deepEqual((await mockCalls(page, 'unlock')).at(-1), { passphrase: null });
  await s.done();
});
