import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { REQUEST, axe, heading, launch, mockCalls, open, qrY4m, serve, shot, tempDir } from './harness.mjs';

let server;
let browser;
let tmp;
before(async () => {
  server = await serve();
  tmp = tempDir();
  // Chromium's fake camera plays this file: a real carekey: request QR code.
  tmp.write('request.y4m', qrY4m(REQUEST));
  browser = await launch(['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${tmp.file('request.y4m')}`]);
});
after(async () => { await browser?.close(); await server?.close(); tmp?.remove(); });

test('camera: the scanned carekey: link reaches review_request', async () => {
  const s = await open(browser, server.url, { route: '/share' });
  const { page } = s;
  await s.context.grantPermissions(['camera'], { origin: new URL(server.url).origin });
  await heading(page, 'Share with a provider');
  await page.getByRole('button', { name: 'Start camera' }).click();
  await heading(page, 'Review the request');
  const calls = await mockCalls(page, 'reviewRequest');
  assert.deepEqual(calls, [{ uri: REQUEST, imageBase64: null }]);
  await page.getByText('Carekey checked who this is').waitFor();
  // The camera is released once the code is read.
  assert.equal(await page.evaluate(() => document.querySelectorAll('video').length), 0);
  await axe(page, 'review after camera');
  await shot(page, 'camera-scanned-review-1280');
  await s.done();
});
