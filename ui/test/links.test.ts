import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { BackendError } from '../src/backend/errors';
import { MOCK_NOW, MockBackend } from '../src/backend/mock';
import type { CreateLinkArgs } from '../src/bindings/CreateLinkArgs';
import type { HealthLinkOpenView } from '../src/bindings/HealthLinkOpenView';
import type { HealthLinkView } from '../src/bindings/HealthLinkView';
import { setLanguage } from '../src/i18n';
import { expiryFor, labelLength, linkName, linkStanding, openSentence, opensSummary, suggestPasscode } from '../src/lib/links';

const D = 86400;

beforeEach(() => setLanguage('en'));
afterEach(() => setLanguage('en'));

const open = (o: Partial<HealthLinkOpenView>): HealthLinkOpenView => ({
  linkId: 'l1', label: 'For Dr. Weber', recipient: 'Dr X at Clinic Y', opened: true, remainingAttempts: null, at: MOCK_NOW, node: 'http://n', index: 7, ...o,
});

const link = (l: Partial<HealthLinkView>): HealthLinkView => ({
  id: 'l1', label: 'For Dr. Weber', node: 'http://n', createdAt: MOCK_NOW - D, expiresAt: MOCK_NOW + 6 * D, passcode: true, longTerm: false,
  recordCount: 1, records: ['r'], summary: false, state: 'active', endedAt: null, opens: 0, failedAttempts: 0, ...l,
});

describe('link opens in words', () => {
  it("are the viewer's claim, never verified", () => {
    expect(openSentence(open({}))).toBe('Someone who says they are Dr X at Clinic Y opened it');
    expect(openSentence(open({}), true)).toBe('Someone who says they are Dr X at Clinic Y opened your link “For Dr. Weber”');
    expect(openSentence(open({ label: null }), true)).toBe('Someone who says they are Dr X at Clinic Y opened one of your links');
    expect(openSentence(open({ opened: false, remainingAttempts: 3 }))).toBe('Someone who says they are Dr X at Clinic Y typed a wrong passcode (3 tries left)');
    expect(openSentence(open({ opened: false, remainingAttempts: 1 }))).toMatch(/\(1 try left\)$/);
    expect(openSentence(open({ opened: false, remainingAttempts: 0 }))).toMatch(/no tries left: the link no longer opens/);
    expect(openSentence(open({ opened: false, remainingAttempts: null }))).toBe('Someone who says they are Dr X at Clinic Y typed a wrong passcode');
    setLanguage('de');
    expect(openSentence(open({ opened: false, remainingAttempts: 3 }))).toBe('Jemand, der angibt, Dr X at Clinic Y zu sein, hat einen falschen Code eingegeben (noch 3 Versuche)');
  });

  it('sum up a link', () => {
    expect(opensSummary({ opens: 0, failedAttempts: 0 })).toBe('Not opened yet');
    expect(opensSummary({ opens: 2, failedAttempts: 1 })).toBe('Opened 2 times · 1 wrong passcode');
    expect(linkName({ label: '  ' })).toBe('A link without a name');
    expect(linkStanding(link({}), MOCK_NOW)).toBe('Can be opened: 6 days left, until 20 Mar 2025.');
    expect(linkStanding(link({ expiresAt: null }), MOCK_NOW)).toBe('Can be opened until you end it.');
    expect(linkStanding(link({ state: 'ended', endedAt: MOCK_NOW }), MOCK_NOW)).toBe('You ended it on 14 Mar 2025. It no longer opens.');
  });
});

describe('link choices', () => {
  it('expire from the wallet clock', () => {
    expect(expiryFor('day', 1000)).toBe(1000 + D);
    expect(expiryFor('week', 1000)).toBe(1000 + 7 * D);
    expect(expiryFor('month', 1000)).toBe(1000 + 30 * D);
    expect(expiryFor('noEnd', 1000)).toBeNull();
  });

  it('count label characters as the wallet does', () => {
    expect(labelLength('Müller')).toBe(6);
    expect(labelLength('🩺 Dr')).toBe(4);
  });

  it('suggest 6-digit passcodes, keeping leading zeros and rejecting the biased tail', () => {
    const draws = [0xffff_ffff, 42];
    expect(suggestPasscode(() => draws.shift()!)).toBe('000042');
    expect(draws).toEqual([]);
    expect(suggestPasscode()).toMatch(/^\d{6}$/);
    const seen = new Set(Array.from({ length: 20 }, () => suggestPasscode()));
    expect(seen.size).toBeGreaterThan(15);
  });
});

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as BackendError).code;
  }
  throw new Error('expected a rejection');
}

describe('the mock keeps links as the wallet does', () => {
  const args = (a: Partial<CreateLinkArgs>): CreateLinkArgs => ({
    recordIds: [], summary: true, label: null, expiresAt: null, passcode: null, attempts: null, longTerm: false, ...a,
  });

  it('refuses what the wallet refuses, with its codes', async () => {
    const m = new MockBackend({ scenario: 'unlocked' });
    const records = await m.listRecords();
    const fhir = records.find((r) => r.resourceType !== null)!;
    const file = records.find((r) => r.resourceType === null)!;
    expect(await code(m.createLink(args({ summary: false })))).toBe('empty_share');
    expect(await code(m.createLink(args({ label: 'x'.repeat(81) })))).toBe('bad_label');
    expect(await m.createLink(args({ label: 'x'.repeat(80) }))).toBeTruthy();
    expect(await code(m.createLink(args({ expiresAt: MOCK_NOW })))).toBe('bad_expiry');
    expect(await code(m.createLink(args({ passcode: 'x'.repeat(257) })))).toBe('bad_passcode');
    expect(await code(m.createLink(args({ passcode: '123456', attempts: 0 })))).toBe('bad_passcode');
    expect(await code(m.createLink(args({ summary: false, recordIds: [file.id] })))).toBe('not_a_health_record');
    expect(await code(m.createLink(args({ recordIds: ['nope'] })))).toBe('not_found');
    const made = await m.createLink(args({ summary: false, recordIds: [fhir.id], passcode: '123456', expiresAt: MOCK_NOW + D }));
    expect(made.uri).toMatch(/^shlink:\/[A-Za-z0-9_-]+$/);
    expect(JSON.parse(atob(made.uri.slice(8).replace(/-/g, '+').replace(/_/g, '/')))).toMatchObject({ exp: MOCK_NOW + D, flag: 'P', v: 1 });
    expect(made.qrSvg).toMatch(/^<svg /);
    expect(made.passcode).toBe('123456');
    expect(made.link).toMatchObject({ state: 'active', passcode: true, recordCount: 1, opens: 0 });
    expect(JSON.stringify(m.calls)).not.toContain('123456');
  });

  it('updates only long-term links, ends once, and erasing a record ends its links', async () => {
    const m = new MockBackend({ scenario: 'unlocked' });
    const [seeded] = await m.listLinks();
    expect(seeded).toMatchObject({ state: 'active', opens: 1, failedAttempts: 1 });
    expect(await code(m.updateLink({ linkId: seeded.id }))).toBe('not_long_term');
    const d = await m.linkDetail({ linkId: seeded.id });
    expect(d.opens.map((o) => o.opened)).toEqual([true, false]);
    expect(d.uri).not.toBeNull();
    expect((await m.home()).links).toHaveLength(1);
    expect((await m.home()).latestLinkOpen?.recipient).toBe('Dr. Jonas Weber, Lakeside Clinic');
    const long = await m.createLink(args({ longTerm: true }));
    expect((await m.updateLink({ linkId: long.link.id })).state).toBe('active');
    expect((await m.endLink({ linkId: long.link.id })).state).toBe('ended');
    expect((await m.endLink({ linkId: long.link.id })).state).toBe('ended');
    expect(await code(m.updateLink({ linkId: long.link.id }))).toBe('link_ended');
    expect((await m.linkDetail({ linkId: long.link.id })).qrSvg).toBeNull();
    await m.eraseRecord({ id: seeded.records[0] });
    expect((await m.linkDetail({ linkId: seeded.id })).link.state).toBe('ended');
    expect((await m.home()).links).toHaveLength(0);
  });
});

describe('the Tauri backend', () => {
  it('sends create_link its choice as `args`, the others `linkId`', async () => {
    const invoke = vi.fn(async (cmd: string, a?: unknown) => ({ cmd, a }));
    vi.doMock('@tauri-apps/api/core', () => ({ invoke }));
    vi.doMock('@tauri-apps/api/event', () => ({ listen: vi.fn() }));
    vi.doMock('@tauri-apps/api/webview', () => ({ getCurrentWebview: vi.fn() }));
    const { TauriBackend } = await import('../src/backend/tauri');
    const b = new TauriBackend();
    const choice: CreateLinkArgs = { recordIds: ['r'], summary: false, label: null, expiresAt: null, passcode: null, attempts: null, longTerm: false };
    await b.createLink(choice);
    expect(invoke).toHaveBeenLastCalledWith('create_link', { args: choice });
    await b.endLink({ linkId: 'abc' });
    expect(invoke).toHaveBeenLastCalledWith('end_link', { linkId: 'abc' });
    await b.linkOpens();
    expect(invoke).toHaveBeenLastCalledWith('link_opens', undefined);
    vi.doUnmock('@tauri-apps/api/core');
  });
});
