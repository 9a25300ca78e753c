import { describe, expect, it } from 'vitest';
import { BackendError } from '../src/backend/errors';
import { MOCK_ISSUER, MOCK_PASSPHRASE, MockBackend, EMBEDDED_NODE, OTHER_ISSUER, UNREACHABLE_NODE, mockOptionsFromQuery, shcQrText } from '../src/backend/mock';

const REQ = 'carekey:request/v1/AbCdEfGhIjKlMnOp';

async function rejection(p: Promise<unknown>): Promise<BackendError> {
  try {
    await p;
  } catch (e) {
    return e as BackendError;
  }
  throw new Error('expected a rejection');
}

describe('mock backend', () => {
  it('reads its options from the query string', () => {
    expect(mockOptionsFromQuery('?scenario=locked&fail=alarm,unreachable,bogus&latency=0')).toEqual({
      scenario: 'locked', fail: ['alarm', 'unreachable'], latencyMs: 0, backupDaysAgo: null, grants: 'seeded', directory: false,
      patient: false, issuers: false,
    });
    expect(mockOptionsFromQuery('?patient=1&issuers=1')).toMatchObject({ patient: true, issuers: true });
    expect(mockOptionsFromQuery('').scenario).toBe('new');
    expect(mockOptionsFromQuery('?backup=12&grants=many&directory=1')).toMatchObject({ backupDaysAgo: 12, grants: 'many', directory: true });
  });

  it('onboards: create returns 24 words and an SVG, then the wallet is unlocked', async () => {
    const m = new MockBackend();
    expect(await m.appStatus()).toMatchObject({ walletExists: false, unlocked: false });
    expect((await rejection(m.listRecords())).code).toBe('no_wallet');
    const kit = await m.createWallet({ passphrase: 'orbit lantern walnut glacier', keyring: true });
    expect(kit.words).toHaveLength(24);
    expect(kit.qrSvg).toMatch(/^<svg /);
    expect(await m.appStatus()).toMatchObject({ walletExists: true, unlocked: true, keyringUnlock: true });
    expect((await rejection(m.createWallet({ passphrase: 'x'.repeat(12), keyring: false }))).code).toBe('wallet_exists');
  });

  it('refuses a wrong passphrase and stays locked; unlocks with the right one or the keyring', async () => {
    const m = new MockBackend({ scenario: 'locked' });
    expect((await rejection(m.listRecords())).code).toBe('locked');
    const e = await rejection(m.unlock({ passphrase: 'wrong one' }));
    expect(e).toBeInstanceOf(BackendError);
    expect(e.code).toBe('wrong_passphrase');
    expect((await m.appStatus()).unlocked).toBe(false);
    expect((await rejection(m.unlock({ passphrase: null }))).code).toBe('vault');
    await m.unlock({ passphrase: MOCK_PASSPHRASE });
    await m.setKeyringUnlock({ enabled: true });
    await m.lock();
    await m.unlock({ passphrase: null });
    expect((await m.listRecords()).length).toBeGreaterThan(5);
  });

  it('never records secrets in its call log', async () => {
    const m = new MockBackend({ scenario: 'locked' });
    await m.unlock({ passphrase: MOCK_PASSPHRASE });
    expect(JSON.stringify(m.calls)).not.toContain(MOCK_PASSPHRASE);
  });

  it('is deterministic', async () => {
    const a = new MockBackend({ scenario: 'unlocked' });
    const b = new MockBackend({ scenario: 'unlocked' });
    expect(await a.listRecords()).toEqual(await b.listRecords());
    expect(await a.listGrants()).toEqual(await b.listGrants());
    expect(await a.myQr()).toEqual(await b.myQr());
  });

  it('imports with progress for large files', async () => {
    const m = new MockBackend({ scenario: 'unlocked' });
    const seen: number[] = [];
    const off = await m.onImportProgress((p) => seen.push(p.done / p.total));
    const added = await m.importFiles({ paths: ['/scans/knee-mri-2.dcm', 'weight.json'] });
    off();
    expect(added.map((r) => r.category)).toEqual(['file', 'observations']);
    expect(seen.filter((f) => f < 1).length).toBeGreaterThanOrEqual(4);
    expect(seen.at(-1)).toBe(1);
    expect((await rejection(m.importFiles({ paths: ['missing.pdf'] }))).code).toBe('io');
  });

  it('reviews requests: verified by default, loud states by fixture, malformed ones refused', async () => {
    const m = new MockBackend({ scenario: 'unlocked', decodeImage: async (b64) => (b64 === 'QR' ? REQ : null) });
    const v = await m.reviewRequest({ uri: REQ, imageBase64: null });
    expect(v.verification.state).toBe('verified');
    expect(v.matchingRecords.length).toBeGreaterThan(0);
    expect((await m.reviewRequest({ uri: 'carekey:request/v1/unlisted-please', imageBase64: null })).verification.state).toBe('unlisted');
    expect((await m.reviewRequest({ uri: 'carekey:request/v1/name-mismatch', imageBase64: null })).verification.state).toBe('name_mismatch');
    expect((await m.reviewRequest({ uri: null, imageBase64: 'QR' })).uri).toBe(REQ);
    expect((await rejection(m.reviewRequest({ uri: null, imageBase64: 'not a qr' }))).code).toBe('bad_qr');
    expect((await rejection(m.reviewRequest({ uri: 'https://evil.example', imageBase64: null }))).code).toBe('bad_document');
    expect((await rejection(m.reviewRequest({ uri: 'carekey:request/v1/%%%%%%%%%%', imageBase64: null }))).code).toBe('bad_document');
  });

  it('shares only what was chosen, never longer than asked, and only with confirmed nodes', async () => {
    const m = new MockBackend({ scenario: 'unlocked' });
    const uri = 'carekey:request/v1/unpinned-node-request';
    const base = { uri, recordIds: [], resourceTypes: ['Condition'], durationSecs: null, confirmNodes: false };
    expect((await rejection(m.share(base))).code).toBe('unconfirmed_nodes');
    expect((await rejection(m.share({ ...base, confirmNodes: true, resourceTypes: [] }))).code).toBe('empty_share');
    expect((await rejection(m.share({ ...base, confirmNodes: true, durationSecs: 400 * 86400 }))).code).toBe('bad_duration');
    const r = await m.share({ ...base, confirmNodes: true, durationSecs: 86400 });
    expect(r.records).toBe(1);
    const grants = await m.listGrants();
    expect(grants[0]).toMatchObject({ id: r.grantId, status: 'active', notAfter: r.notAfter });
  });

  it('revokes once; erases records, grants and everything with honest receipts', async () => {
    const m = new MockBackend({ scenario: 'unlocked' });
    const active = (await m.listGrants()).find((g) => g.status === 'active');
    expect(active).toBeDefined();
    expect((await m.revoke({ grantId: active!.id })).rekeyed).toBe(active!.records.length);
    expect((await rejection(m.revoke({ grantId: active!.id }))).code).toBe('grant_not_active');
    const rec = (await m.listRecords())[0];
    const receipt = await m.eraseRecord({ id: rec.id });
    expect(receipt.limits.join(' ')).toMatch(/already downloaded and decrypted/);
    expect(JSON.parse(receipt.json).format).toBe('carekey-erasure-receipt/v1');
    expect((await m.listRecords()).some((r) => r.id === rec.id)).toBe(false);
    expect((await m.eraseGrant({ grantId: active!.id })).subject).toContain(active!.id);
    await m.eraseAll();
    expect(await m.appStatus()).toMatchObject({ walletExists: false, unlocked: false });
  });

  it('reports an unreachable node without an alarm, and a split view as an alarm with evidence', async () => {
    const m = new MockBackend({ scenario: 'unlocked', fail: ['unreachable'] });
    const s = await m.sync();
    const bad = s.nodes.find((n) => n.url === UNREACHABLE_NODE);
    expect(bad).toMatchObject({ alarm: false, verifiedSize: null });
    expect(bad!.problem).toMatch(/unreachable/);
    expect(s.outboxPending).toBeGreaterThan(0);
    m.setFailure('alarm', true);
    const s2 = await m.sync();
    expect(s2.nodes.some((n) => n.alarm)).toBe(true);
    expect((await m.settings()).nodes.some((n) => n.evidence)).toBe(true);
  });

  it('validates added nodes', async () => {
    const m = new MockBackend({ scenario: 'unlocked' });
    const logKey = 'ledger.example.org+1a2b3c4d+AQm7qJ2Xh4kQ0wTfQd1N3xJx4j1b5c8d9e0f1a2b3c4d5e6f';
    expect((await rejection(m.addNode({ url: 'ftp://x', logKey, witnessKeys: [], quorum: 0 }))).code).toBe('bad_node_url');
    expect((await rejection(m.addNode({ url: 'https://ledger.example.org', logKey: 'nope', witnessKeys: [], quorum: 0 }))).code).toBe('bad_log_key');
    expect((await rejection(m.addNode({ url: 'https://ledger.example.org', logKey, witnessKeys: [], quorum: 1 }))).code).toBe('bad_quorum');
    await m.addNode({ url: 'https://ledger.example.org', logKey, witnessKeys: ['w+1+k'], quorum: 1 });
    expect((await m.settings()).nodes.map((n) => n.url)).toContain('https://ledger.example.org');
  });

  it('issue 8: a remote node needs a witness unless the patient opts out; without one no freshness is claimed', async () => {
    const m = new MockBackend({ scenario: 'unlocked' });
    const logKey = 'ledger.example.org+1a2b3c4d+AQm7qJ2Xh4kQ0wTfQd1N3xJx4j1b5c8d9e0f1a2b3c4d5e6f';
    const refused = await rejection(m.addNode({ url: 'https://ledger.example.org', logKey, witnessKeys: [], quorum: 0 }));
    expect(refused.code).toBe('needs_witness');
    expect(refused.message).toMatch(/witness/);
    await m.addNode({ url: 'https://ledger.example.org', logKey, witnessKeys: [], quorum: 0, noWitness: true });
    await m.addNode({ url: 'http://127.0.0.1:7000', logKey, witnessKeys: [], quorum: 0 });
    const s = await m.sync();
    const remote = s.nodes.find((n) => n.url === 'https://ledger.example.org')!;
    expect(remote).toMatchObject({ independentlyChecked: false, freshAsOf: null, failed: false });
    const embedded = s.nodes.find((n) => n.url === EMBEDDED_NODE)!;
    expect(embedded.independentlyChecked).toBe(true);
    expect(embedded.freshAsOf).not.toBeNull();
    expect(s.failed).toBe(false);
  });

  it('issue 8: a source that fails verification fails the sync; a fork is an alarm', async () => {
    const m = new MockBackend({ scenario: 'unlocked', fail: ['tampered'] });
    const s = await m.sync();
    expect(s.failed).toBe(true);
    expect(s.nodes.find((n) => n.url === EMBEDDED_NODE)).toMatchObject({ failed: true, alarm: false, verifiedSize: null });
    m.setFailure('tampered', false);
    m.setFailure('alarm', true);
    const s2 = await m.sync();
    expect(s2.failed).toBe(true);
    expect(s2.nodes.find((n) => n.alarm)!.problem).toMatch(/split view/);
  });

  it('can be told to fail the next call', async () => {
    const m = new MockBackend({ scenario: 'unlocked' });
    m.failNext('myQr', 'io', 'disk on fire');
    expect((await rejection(m.myQr())).message).toBe('disk on fire');
    expect((await m.myQr()).uri).toMatch(/^carekey:patient\/v1\//);
  });

  it('restores from 24 kit words only', async () => {
    const m = new MockBackend();
    const kit = await new MockBackend().createWallet({ passphrase: 'orbit lantern walnut glacier', keyring: false });
    expect((await rejection(m.restoreWallet({ words: kit.words.slice(1), backupPath: '/b', passphrase: 'x' }))).code).toBe('crypto');
    expect((await rejection(m.restoreWallet({ words: [...kit.words.slice(1), 'zebra'], backupPath: '/b', passphrase: 'x' }))).code).toBe('crypto');
    await m.restoreWallet({ words: kit.words, backupPath: '/media/usb/carekey-backup.ckb', passphrase: 'new pass phrase words' });
    expect((await m.appStatus()).unlocked).toBe(true);
  });

  it('issue 11: cards from a trusted issuer are checked, others kept unchecked, bad ones refused with the reason', async () => {
    const m = new MockBackend({ scenario: 'unlocked' });
    const before = (await m.listRecords()).length;
    // Untrusted: kept, not checked.
    const [card] = await m.importCard({ text: shcQrText('mock.valid.signature') });
    expect(card).toMatchObject({ issuer: MOCK_ISSUER, check: 'not_verified', keyId: null });
    // A tampered card from an untrusted issuer is not checked either: kept, unchecked.
    expect((await m.importCard({ path: '/home/patient/tampered.smart-health-card' }))[0].check).toBe('not_verified');
    expect((await m.listRecords()).length).toBe(before + 2);
    expect((await m.listRecords()).find((r) => r.id === card.record)?.category).toBe('health cards');
    // Trusted: the same card again is the same record, now checked.
    expect((await rejection(m.addIssuer({ url: 'http://vaccines.example.org' }))).code).toBe('bad_issuer');
    expect(await m.addIssuer({ url: `${MOCK_ISSUER}/` })).toMatchObject({ url: MOCK_ISSUER });
    const [again] = await m.importCard({ path: '/home/patient/vaccination.png' });
    expect(again).toMatchObject({ record: card.record, check: 'verified' });
    expect((await m.listRecords()).length).toBe(before + 2);
    // Refused, saying why and whose; nothing kept.
    for (const [file, reason] of [['expired.smart-health-card', 'expired'], ['revoked.png', 'revoked']]) {
      const e = await rejection(m.importCard({ path: file }));
      expect([e.code, e.reason, e.issuer]).toEqual(['card_refused', reason, MOCK_ISSUER]);
    }
    expect((await m.listCards()).length).toBe(2);
    // Another issuer's card: unchecked; not a card; no QR code in the picture.
    expect((await m.importCard({ text: shcQrText('mock.other.signature') }))[0]).toMatchObject({ issuer: OTHER_ISSUER, check: 'not_verified' });
    expect((await rejection(m.importCard({ text: 'carekey:request/v1/AbCdEfGh' }))).code).toBe('not_a_card');
    expect((await rejection(m.importCard({ path: 'letter.pdf' }))).code).toBe('not_a_card');
    expect((await rejection(m.importCard({ path: 'noqr.png' }))).code).toBe('bad_qr');
    expect((await rejection(m.importCard({}))).code).toBe('bad_input');
    // Erasing a card's record forgets the card; removing an issuer twice is not_found.
    await m.eraseRecord({ id: card.record });
    expect((await m.listCards()).map((c) => c.record)).not.toContain(card.record);
    await m.removeIssuer({ url: MOCK_ISSUER });
    expect(await m.listIssuers()).toEqual([]);
    expect((await rejection(m.removeIssuer({ url: MOCK_ISSUER }))).code).toBe('not_found');
  });

  it('issue 11: the patient summary needs a Patient record; required sections always, empty ones say so', async () => {
    const m = new MockBackend({ scenario: 'unlocked' });
    expect((await rejection(m.patientSummary())).code).toBe('no_patient_record');
    await m.importFiles({ paths: ['/home/patient/patient-details.json'] });
    const summary = await m.patientSummary();
    expect(summary.patientName).toBe('Maria Schmidt');
    expect(summary.passesCheck).toBe(true);
    expect(summary.sections.map((s) => s.code)).toEqual(['11450-4', '48765-2', '10160-0', '11369-6', '30954-2', '47519-4']);
    expect(summary.sections[1].entries.map((e) => e.title)).toEqual(['Penicillin allergy', 'Peanut allergy']);
    const before = (await m.listRecords()).length;
    const saved = await m.savePatientSummary();
    expect(saved).toMatchObject({ category: 'documents', resourceType: 'Bundle' });
    expect((await m.listRecords()).length).toBe(before + 1);
    expect((await rejection(m.exportPatientSummary({ path: ' ' }))).code).toBe('bad_input');
    expect(await m.exportPatientSummary({ path: 'summary.json' })).toBeGreaterThan(0);
    expect(m.files.has('/home/patient/summary.json')).toBe(true);

    const empty = new MockBackend({ scenario: 'unlocked', patient: true, grants: 'none' });
    for (const r of await empty.listRecords()) if (r.resourceType === 'AllergyIntolerance') await empty.eraseRecord({ id: r.id });
    const allergies = (await empty.patientSummary()).sections.find((s) => s.code === '48765-2');
    expect(allergies).toMatchObject({ entries: [], emptyReason: 'Unavailable' });
  });
});
