import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { PASS, REQUEST, heading, launch, mockCalls, open, serve } from './harness.mjs';

let server;
let browser;
before(async () => { server = await serve(); browser = await launch(); });
after(async () => { await browser?.close(); await server?.close(); });

/** Presses Tab (or Shift+Tab) until the focused element's label or text matches; fails after `max` presses. */
async function tabTo(page, pattern, { back = false, max = 60 } = {}) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
    const name = await page.evaluate(() => {
      const el = document.activeElement;
      if (!el) return '';
      const label = el.id ? document.querySelector(`label[for="${el.id}"]`)?.textContent : '';
      return `${el.getAttribute('aria-label') ?? ''} ${label ?? ''} ${el.tagName === 'INPUT' || el.tagName === 'SELECT' ? '' : el.textContent ?? ''}`.trim();
    });
    if (pattern.test(name)) return name;
  }
  assert.fail(`no focusable element matching ${pattern} within ${max} presses`);
}

test('keyboard only: unlock, share by link, confirm, revoke (Tab / Enter / Space)', async () => {
  const s = await open(browser, server.url, { query: 'scenario=locked' });
  const { page } = s;
  await heading(page, 'Unlock your wallet');
  assert.equal(await page.evaluate(() => document.activeElement?.tagName), 'H1');
  await tabTo(page, /^Passphrase$/);
  await page.keyboard.type(PASS);
  await page.keyboard.press('Enter');
  await heading(page, 'Who can see my records');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Who can see my records', 'focus on the new heading');

  await tabTo(page, /^Share$/, { back: true });
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(outline, 'none', 'the focused link shows a focus ring');
  await page.keyboard.press('Enter');
  await heading(page, 'Share with a provider');
  await tabTo(page, /^Request link$/);
  await page.keyboard.type(REQUEST);
  await page.keyboard.press('Enter');
  await heading(page, 'Review the request');
  // Untick one type with Space, then share.
  await tabTo(page, /^Medications \(statements\)/);
  await page.keyboard.press('Space');
  await tabTo(page, /^Share$/);
  await page.keyboard.press('Enter');
  await heading(page, 'Who can see my records');
  await page.locator('#home-flash').getByText(/^You shared 3 records with /).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Who can see my records', 'focus on Home\u2019s heading');
  assert.deepEqual((await mockCalls(page, 'share'))[0].resourceTypes, ['AllergyIntolerance', 'Condition']);

  await page.evaluate(() => { location.hash = '#/grants'; });
  await heading(page, 'All sharing');
  await page.locator('.grants').first().waitFor();
  await tabTo(page, /^Dr\. Anna Berg/);
  await page.keyboard.press('Enter');
  await heading(page, 'Dr. Anna Berg');
  await tabTo(page, /^Stop sharing$/);
  await page.keyboard.press('Enter');
  await page.getByRole('dialog').waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Cancel', 'the dialog focuses the safe choice');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Stop sharing');
  await page.keyboard.press('Enter');
  await page.getByText(/can no longer open your records\. \d+ records? (was|were) locked/).waitFor();
  assert.equal((await mockCalls(page, 'revoke')).length, 1);
  await s.done();
});

test('keyboard only: the skip link jumps to the content', async () => {
  const s = await open(browser, server.url, { route: '/grants' });
  const { page } = s;
  await heading(page, 'All sharing');
  await tabTo(page, /^Skip to content$/, { back: true, max: 15 });
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'main');
  await s.done();
});

test('the page runs under the strict CSP: an injected inline script is refused', async () => {
  const s = await open(browser, server.url, { route: '/records' });
  const { page } = s;
  await heading(page, 'Records');
  const ran = await page.evaluate(() => {
    const el = document.createElement('script');
    el.textContent = 'window.__inline = true';
    document.head.append(el);
    return window.__inline === true;
  });
  assert.equal(ran, false);
  await page.waitForTimeout(100);
  assert.ok(s.problems.some((p) => /Content Security Policy/.test(p)), 'the violation was reported');
  s.problems.length = 0;
  await s.done();
});
