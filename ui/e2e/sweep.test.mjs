// Every screen at phone and desktop width, light and dark: axe, no sideways scrolling, screenshots.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { REQUEST, axe, heading, launch, noSideScroll, open, serve, shot } from './harness.mjs';

let server;
let browser;
before(async () => { server = await serve(); browser = await launch(); });
after(async () => { await browser?.close(); await server?.close(); });

const SCREENS = [
  ['welcome', 'scenario=new', '/welcome', 'Welcome to Carekey'],
  ['create', 'scenario=new', '/create', 'Create your wallet'],
  ['restore', 'scenario=new', '/restore', 'Restore your wallet'],
  ['unlock', 'scenario=locked', '/unlock', 'Unlock your wallet'],
  ['records', 'scenario=unlocked', '/records', 'Records'],
  ['summary', 'scenario=unlocked&patient=1', '/summary', 'Your patient summary'],
  ['share', 'scenario=unlocked', '/share', 'Share with a provider'],
  ['my-qr', 'scenario=unlocked', '/my-qr', 'My QR code'],
  ['grants', 'scenario=unlocked', '/grants', 'All sharing'],
  ['access', 'scenario=unlocked', '/access', 'Activity'],
  ['settings', 'scenario=unlocked&fail=alarm,unreachable', '/settings', 'Settings'],
];

for (const [width, dark] of [[360, false], [360, true], [1280, true], [1280, false]]) {
  const mode = `${width}-${dark ? 'dark' : 'light'}`;
  test(`every screen at ${width}px, ${dark ? 'dark' : 'light'}: accessible, no sideways scroll`, async () => {
    for (const [name, query, route, title] of SCREENS) {
      const s = await open(browser, server.url, { query, route, width, height: width === 360 ? 740 : 860, dark });
      await heading(s.page, title);
      await s.page.waitForFunction(() => !document.querySelector('[aria-busy="true"]'));
      await noSideScroll(s.page, `${name} ${mode}`);
      await axe(s.page, `${name} ${mode}`);
      await shot(s.page, `${name}-${mode}`);
      if (name === 'records') {
        await s.page.getByRole('link', { name: /Blood pressure/ }).click();
        await heading(s.page, 'Blood pressure');
        await noSideScroll(s.page, `record ${mode}`);
        await axe(s.page, `record ${mode}`);
        await shot(s.page, `record-detail-${mode}`);
      }
      if (name === 'share') {
        await s.page.getByLabel('Request link').fill(REQUEST.replace('o2d1', 'unlisted'));
        await s.page.getByRole('button', { name: 'Review request' }).click();
        await heading(s.page, 'Review the request');
        await noSideScroll(s.page, `review ${mode}`);
        await axe(s.page, `review ${mode}`);
        await shot(s.page, `share-review-${mode}`);
      }
      await s.done();
    }
  });
}

test('theme toggle: system → dark → light, remembered across reloads', async () => {
  const s = await open(browser, server.url, { route: '/records' });
  const { page } = s;
  const bg = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  const light = await bg();
  await page.getByRole('button', { name: /Colour theme: System/ }).click();
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
  const dark = await bg();
  assert.notEqual(dark, light);
  await page.reload();
  await heading(page, 'Records');
  assert.equal(await bg(), dark, 'the choice survives a reload');
  await page.getByRole('button', { name: /Colour theme: Dark/ }).click();
  assert.equal(await bg(), light);
  await s.done();
});
