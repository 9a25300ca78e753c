// Links to a part of a screen: `#/settings#backup` (home's backup banner) opens Settings and lands
// on the backups section (scrolled into view, focused); an unknown part still opens the screen.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { heading, launch, open, serve } from './harness.mjs';

let server;
let browser;
before(async () => { server = await serve(); browser = await launch(); });
after(async () => { await browser?.close(); await server?.close(); });

/** The focused element's id, whether it is in view, and the current nav entry. */
function landing(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    const r = el.getBoundingClientRect(); // (sub-pixel: -0.02 is at the top)
    return {
      id: el.id,
      inView: r.top >= -1 && r.top < window.innerHeight,
      current: document.querySelector('nav [aria-current="page"]')?.getAttribute('href') ?? null,
    };
  });
}

for (const width of [1280, 390]) {
  test(`#/settings#backup from home's backup banner lands on the backups (${width} px)`, async () => {
    const s = await open(browser, server.url, { route: '/home', width, height: width === 390 ? 844 : 860 });
    const { page } = s;
    await heading(page, 'Who can see my records');
    // Scroll down first, so the landing has to bring the section into view.
    await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
    await page.locator('#backup-banner').click();
    await heading(page, 'Settings');
    await page.waitForFunction(() => document.activeElement?.id === 'backup');
    assert.deepEqual(await landing(page), { id: 'backup', inView: true, current: '#/settings' });
    assert.equal(new URL(page.url()).hash, '#/settings#backup', 'the link is kept, not redirected');
    await s.done();
  });
}

test('#/settings#backup opened directly, and a part the screen does not have', async () => {
  const s = await open(browser, server.url, { route: '/settings#backup', width: 390, height: 500 });
  const { page } = s;
  await heading(page, 'Settings');
  await page.waitForFunction(() => document.activeElement?.id === 'backup');
  assert.equal((await landing(page)).inView, true);
  await page.evaluate(() => { location.hash = '#/settings#nothing-here'; });
  await page.waitForFunction(() => document.activeElement?.tagName === 'H1');
  assert.equal(new URL(page.url()).hash, '#/settings#nothing-here');
  await heading(page, 'Settings');
  await s.done();
});
