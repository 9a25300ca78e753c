/**
 * An in-memory wallet for browser tests and design work. Deterministic: fixed clock, fixed data,
 * no randomness. It behaves like the real commands where the UI depends on it (locked state,
 * wrong passphrase, unpinned-node confirmation, shorter durations only) and can be told to fail.
 */
import type { AccessView } from '../bindings/AccessView';
import type { AppStatus } from '../bindings/AppStatus';
import type { BackupView } from '../bindings/BackupView';
import type { AccessHolderView } from '../bindings/AccessHolderView';
import type { BackupPlaceView } from '../bindings/BackupPlaceView';
import type { BackupScheduleView } from '../bindings/BackupScheduleView';
import type { CardView } from '../bindings/CardView';
import type { CreateLinkArgs } from '../bindings/CreateLinkArgs';
import type { CreatedLinkView } from '../bindings/CreatedLinkView';
import type { DirectoryView } from '../bindings/DirectoryView';
import type { GrantDetailView } from '../bindings/GrantDetailView';
import type { GrantView } from '../bindings/GrantView';
import type { HealthLinkDetailView } from '../bindings/HealthLinkDetailView';
import type { HealthLinkOpenView } from '../bindings/HealthLinkOpenView';
import type { HealthLinkView } from '../bindings/HealthLinkView';
import type { HomeView } from '../bindings/HomeView';
import type { LedgerStatusView } from '../bindings/LedgerStatusView';
import type { ImportProgress } from '../bindings/ImportProgress';
import type { IssuerView } from '../bindings/IssuerView';
import type { MyQr } from '../bindings/MyQr';
import type { NodeRemovalView } from '../bindings/NodeRemovalView';
import type { NodeView } from '../bindings/NodeView';
import type { PatientSummaryView } from '../bindings/PatientSummaryView';
import type { SummarySectionView } from '../bindings/SummarySectionView';
import type { ReceiptView } from '../bindings/ReceiptView';
import type { RecordDetail } from '../bindings/RecordDetail';
import type { RecordView } from '../bindings/RecordView';
import type { RecoveryKitView } from '../bindings/RecoveryKitView';
import type { RequestView } from '../bindings/RequestView';
import type { RevokeResult } from '../bindings/RevokeResult';
import type { ShortenResult } from '../bindings/ShortenResult';
import type { SettingsView } from '../bindings/SettingsView';
import type { ShareResult } from '../bindings/ShareResult';
import type { SyncView } from '../bindings/SyncView';
import type { VerificationState } from '../bindings/VerificationState';
import { BackendError } from './errors';
import type {
  AddDirectoryArgs,
  BackupScheduleArgs,
  DirectoryKeyArgs,
  ImportCardArgs,
  IssuerArgs,
  LanguageArgs,
  LinkIdArgs,
  PathArgs,
  ShortenGrantArgs,
  AddNodeArgs,
  MoveNodeArgs,
  RemoveNodeArgs,
  WitnessPolicyArgs,
  Backend,
  BackupArgs,
  ChangePassphraseArgs,
  CreateWalletArgs,
  ExportRecordArgs,
  GrantIdArgs,
  ImportFilesArgs,
  RecordIdArgs,
  RestoreWalletArgs,
  ReviewRequestArgs,
  SaveTextArgs,
  SetKeyringUnlockArgs,
  ShareArgs,
  UnlockArgs,
  Unsubscribe,
} from './types';

/** The mock's "now": 2025-03-14 09:30 UTC. */
export const MOCK_NOW = 1741944600;
export const MOCK_PASSPHRASE = 'correct horse battery staple';
export const EMBEDDED_NODE = 'http://127.0.0.1:47311';
export const UNREACHABLE_NODE = 'https://ledger.northcare.example';
const DAY = 86400;

export type MockScenario = 'new' | 'locked' | 'unlocked';
/** Failure switches: `unreachable` adds a node that cannot be reached; `alarm` makes sync find a split view. */
export type MockFailure = 'unreachable' | 'alarm' | 'tampered' | 'restore';

export interface MockOptions {
  scenario?: MockScenario;
  fail?: MockFailure[];
  /** Artificial latency per call (ms) so busy states are visible; 0 in unit tests. */
  latencyMs?: number;
  /** Days since the seeded wallet's last backup (`backup=12`); none by default. */
  backupDaysAgo?: number | null;
  /** `many`: a dozen extra active grants; `none`: no grants at all. */
  grants?: 'seeded' | 'many' | 'none';
  /** A trusted provider directory is pinned (`directory=1`). */
  directory?: boolean;
  /** A Patient record (name, birth date) is among the seeded records (`patient=1`): the patient summary needs one. */
  patient?: boolean;
  /** The mock's card issuer is trusted (`issuers=1`). */
  issuers?: boolean;
  /** Decodes a QR image (base64) to its text; `null` when the image holds no QR code. */
  decodeImage?: (base64: string) => Promise<string | null>;
}

export function mockOptionsFromQuery(search: string): MockOptions {
  const q = new URLSearchParams(search);
  const scenario = q.get('scenario');
  const fail = (q.get('fail') ?? '').split(',').filter((f): f is MockFailure => f === 'unreachable' || f === 'alarm' || f === 'tampered' || f === 'restore');
  const latency = Number(q.get('latency') ?? '120');
  const backup = q.get('backup');
  const grants = q.get('grants');
  return {
    backupDaysAgo: backup !== null && Number.isFinite(Number(backup)) ? Number(backup) : null,
    grants: grants === 'many' || grants === 'none' ? grants : 'seeded',
    directory: q.get('directory') === '1',
    patient: q.get('patient') === '1',
    issuers: q.get('issuers') === '1',
    scenario: scenario === 'locked' || scenario === 'unlocked' || scenario === 'new' ? scenario : 'new',
    fail,
    latencyMs: Number.isFinite(latency) ? latency : 120,
  };
}

const WORDS = (
  'harbor velvet orbit maple quiet lantern cobalt meadow ripple saddle timber violin ' +
  'walnut ember fabric glacier hazel island jungle kernel ladder mosaic nectar oyster'
).split(' ');

function hexId(seed: string): string {
  // FNV-1a, repeated: a stable, id-shaped hex string (not a hash of anything real).
  let out = '';
  let h = 0x811c9dc5;
  for (let round = 0; out.length < 64; round++) {
    for (const c of `${seed}:${round}`) {
      h ^= c.charCodeAt(0);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    out += h.toString(16).padStart(8, '0');
  }
  return out.slice(0, 64);
}

/** A QR-looking SVG (the real backend draws a real QR code). */
/** Like the wallet's provider code: ten base32 characters of the key, grouped 4-4-2. */
export function providerCode(keyHex: string): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  let bits = '';
  for (const c of keyHex.slice(0, 14)) bits += parseInt(c, 16).toString(2).padStart(4, '0');
  let out = '';
  for (let i = 0; i < 10; i++) out += alphabet[parseInt(bits.slice(i * 5, i * 5 + 5), 2)];
  return `${out.slice(0, 4)}-${out.slice(4, 8)}-${out.slice(8)}`;
}

export function placeholderQrSvg(text: string, size = 29): string {
  const seed = hexId(text);
  const cells: string[] = [];
  const finder = (x: number, y: number) =>
    x < 7 && y < 7 ? (x === 0 || y === 0 || x === 6 || y === 6 || (x >= 2 && x <= 4 && y >= 2 && y <= 4)) : null;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const f = finder(x, y) ?? finder(size - 1 - x, y) ?? finder(x, size - 1 - y);
      const on = f ?? parseInt(seed[(x * 7 + y * 13) % 64], 16) % 2 === (x + y) % 2;
      if (on) cells.push(`M${x + 2} ${y + 2}h1v1h-1z`);
    }
  }
  const n = size + 4;
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${n} ${n}" shape-rendering="crispEdges"><rect width="${n}" height="${n}" fill="#fff"/><path fill="#000" d="${cells.join('')}"/></svg>`;
}

interface MockRecord { view: RecordView; json: string | null }

function fhir(resource: object): string {
  return JSON.stringify(resource, null, 2);
}

function seedRecords(): MockRecord[] {
  const r = (
    name: string, category: string, title: string, detail: string | null, date: string | null,
    resourceType: string | null, resource: object | null, size?: number,
  ): MockRecord => {
    const json = resource ? fhir(resource) : null;
    return {
      view: {
        id: hexId(name + title), name, category, title, detail, date, resourceType,
        size: size ?? (json ? json.length : 0), version: 1,
      },
      json,
    };
  };
  return [
    r('summary.json', 'allergies', 'Penicillin allergy', 'High criticality · hives, shortness of breath', '2019-06-02', 'AllergyIntolerance', {
      resourceType: 'AllergyIntolerance', id: 'penicillin', clinicalStatus: { coding: [{ code: 'active' }] },
      criticality: 'high', code: { coding: [{ system: 'http://snomed.info/sct', code: '764146007', display: 'Penicillin' }], text: 'Penicillin' },
      reaction: [{ manifestation: [{ text: 'Hives' }, { text: 'Shortness of breath' }] }], recordedDate: '2019-06-02',
    }),
    r('summary.json', 'allergies', 'Peanut allergy', 'Low criticality', '2004-09-11', 'AllergyIntolerance', {
      resourceType: 'AllergyIntolerance', id: 'peanut', criticality: 'low', code: { text: 'Peanut' }, recordedDate: '2004-09-11',
    }),
    r('summary.json', 'medications', 'Metformin 500 mg', 'Twice daily with meals', '2023-02-10', 'MedicationStatement', {
      resourceType: 'MedicationStatement', id: 'metformin', status: 'active',
      medicationCodeableConcept: { text: 'Metformin 500 mg tablet' }, dosage: [{ text: 'Twice daily with meals' }], effectiveDateTime: '2023-02-10',
    }),
    r('summary.json', 'medications', 'Atorvastatin 20 mg', 'Once daily, evening', '2023-05-22', 'MedicationStatement', {
      resourceType: 'MedicationStatement', id: 'atorvastatin', status: 'active',
      medicationCodeableConcept: { text: 'Atorvastatin 20 mg tablet' }, dosage: [{ text: 'Once daily, evening' }], effectiveDateTime: '2023-05-22',
    }),
    r('summary.json', 'conditions', 'Type 2 diabetes mellitus', 'Active · onset 2023', '2023-02-10', 'Condition', {
      resourceType: 'Condition', id: 't2dm', clinicalStatus: { coding: [{ code: 'active' }] },
      code: { coding: [{ system: 'http://snomed.info/sct', code: '44054006', display: 'Type 2 diabetes mellitus' }] }, onsetDateTime: '2023-02-10',
    }),
    r('labs-2025-02.json', 'observations', 'HbA1c', '6.8 %', '2025-02-18', 'Observation', {
      resourceType: 'Observation', id: 'hba1c', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '4548-4', display: 'Hemoglobin A1c' }] },
      valueQuantity: { value: 6.8, unit: '%', system: 'http://unitsofmeasure.org', code: '%' }, effectiveDateTime: '2025-02-18',
    }),
    r('labs-2025-02.json', 'observations', 'Glucose (fasting)', '6.3 mmol/L', '2025-02-18', 'Observation', {
      resourceType: 'Observation', id: 'glucose', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '1558-6', display: 'Fasting glucose' }] },
      valueQuantity: { value: 6.3, unit: 'mmol/L', system: 'http://unitsofmeasure.org', code: 'mmol/L' }, effectiveDateTime: '2025-02-18',
    }),
    r('labs-2025-02.json', 'observations', 'Blood pressure', '128/82 mmHg', '2025-02-18', 'Observation', {
      resourceType: 'Observation', id: 'bp', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '85354-9', display: 'Blood pressure panel' }] },
      component: [
        { code: { text: 'Systolic' }, valueQuantity: { value: 128, unit: 'mmHg' } },
        { code: { text: 'Diastolic' }, valueQuantity: { value: 82, unit: 'mmHg' } },
      ], effectiveDateTime: '2025-02-18',
    }),
    r('summary.json', 'immunizations', 'Influenza vaccine', 'Season 2024/25', '2024-10-07', 'Immunization', {
      resourceType: 'Immunization', id: 'flu', status: 'completed', vaccineCode: { text: 'Influenza, seasonal' }, occurrenceDateTime: '2024-10-07',
    }),
    r('summary.json', 'procedures', 'Appendectomy', 'Laparoscopic', '2011-03-30', 'Procedure', {
      resourceType: 'Procedure', id: 'appendectomy', status: 'completed', code: { text: 'Laparoscopic appendectomy' }, performedDateTime: '2011-03-30',
    }),
    r('discharge-letter.pdf', 'documents', 'Discharge letter', 'PDF · St. Mary\u2019s Hospital', '2011-04-02', null, null, 184_320),
    r('knee-mri.dcm', 'file', 'knee-mri.dcm', 'DICOM image', null, null, null, 48_234_112),
  ];
}

function seedGrants(records: MockRecord[]): GrantView[] {
  const ids = (cat: string) => records.filter((r) => r.view.category === cat).map((r) => r.view.id);
  return [
    {
      id: hexId('grant-berg'), providerName: 'Dr. Anna Berg — Riverside Family Practice', providerKey: hexId('key-berg'),
      purpose: 'Diabetes follow-up', notBefore: MOCK_NOW - 5 * DAY, notAfter: MOCK_NOW + 25 * DAY, endsAs: null, endsEarly: null, waitingFor: [], status: 'active',
      records: [...ids('conditions'), ...ids('observations'), ...ids('medications')], resourceTypes: ['Condition', 'Observation', 'MedicationStatement'],
    },
    {
      id: hexId('grant-lab'), providerName: 'Northgate Laboratory', providerKey: hexId('key-lab'),
      purpose: 'Lab order 2025-0217', notBefore: MOCK_NOW - 30 * DAY, notAfter: MOCK_NOW - 23 * DAY, endsAs: null, endsEarly: null, waitingFor: [], status: 'expired',
      records: ids('conditions'), resourceTypes: ['Condition'],
    },
    {
      id: hexId('grant-pharmacy'), providerName: 'Lindenhof Pharmacy', providerKey: hexId('key-pharmacy'),
      purpose: 'Medication review', notBefore: MOCK_NOW - 60 * DAY, notAfter: MOCK_NOW + 30 * DAY, endsAs: null, endsEarly: null, waitingFor: [], status: 'revoked',
      records: [...ids('medications'), ...ids('allergies')], resourceTypes: ['MedicationStatement', 'AllergyIntolerance'],
    },
    {
      id: hexId('grant-clinic'), providerName: 'City Orthopaedics', providerKey: hexId('key-ortho'),
      purpose: 'Knee consultation', notBefore: MOCK_NOW - 200 * DAY, notAfter: MOCK_NOW - 170 * DAY, endsAs: null, endsEarly: null, waitingFor: [], status: 'erased',
      records: [], resourceTypes: [],
    },
  ];
}

function seedAccess(grants: GrantView[], records: MockRecord[]): AccessView[] {
  const [berg, lab] = grants;
  const title = (cat: string) => records.filter((r) => r.view.category === cat).map((r) => r.view.id);
  return [
    {
      servedAt: MOCK_NOW - 2 * DAY + 3600 * 5, providerName: berg.providerName, providerKey: berg.providerKey, grantId: berg.id,
      records: [...title('observations')], node: EMBEDDED_NODE, index: 1041, verification: 'verified', independentlyChecked: true,
    },
    {
      servedAt: MOCK_NOW - 4 * DAY + 600, providerName: berg.providerName, providerKey: berg.providerKey, grantId: berg.id,
      records: [...title('conditions'), ...title('medications')], node: EMBEDDED_NODE, index: 1017, verification: 'verified', independentlyChecked: true,
    },
    {
      servedAt: MOCK_NOW - 3 * DAY + 7200, providerName: 'Northgate Laboratory', providerKey: hexId('key-unknown'), grantId: lab.id,
      records: title('conditions'), node: EMBEDDED_NODE, index: 1029,
      verification: "FORGED: the request inside is not signed by the grant's provider", independentlyChecked: true,
    },
    {
      servedAt: MOCK_NOW - 27 * DAY, providerName: lab.providerName, providerKey: lab.providerKey, grantId: lab.id,
      records: title('conditions'), node: EMBEDDED_NODE, index: 902, verification: 'verified', independentlyChecked: true,
    },
  ];
}

interface RequestFixture {
  providerName: string; state: VerificationState; directory: string | null; listedName: string | null;
  purpose: string; resourceTypes: string[]; durationSecs: number; unpinned: string[];
}

function requestFixture(payload: string): RequestFixture {
  const base: RequestFixture = {
    providerName: 'Dr. Anna Berg — Riverside Family Practice', state: 'verified', directory: 'Regional Health Provider Directory',
    listedName: 'Dr. Anna Berg — Riverside Family Practice', purpose: 'Annual check-up',
    resourceTypes: ['AllergyIntolerance', 'MedicationStatement', 'Condition'], durationSecs: 30 * DAY, unpinned: [],
  };
  if (payload.includes('unlisted')) {
    return { ...base, providerName: 'QuickCare Online Clinic', state: 'unlisted', listedName: null, purpose: 'Online consultation',
      resourceTypes: ['AllergyIntolerance', 'MedicationStatement', 'Condition', 'Observation'], durationSecs: 365 * DAY,
      unpinned: ['https://ledger.quickcare.example'] };
  }
  if (payload.includes('mismatch')) {
    return { ...base, providerName: 'St. Mary\u2019s Hospital Cardiology', state: 'name_mismatch', listedName: 'Harbor Wellness Ltd.',
      purpose: 'Cardiology referral', resourceTypes: ['Observation', 'Condition'], durationSecs: 14 * DAY };
  }
  if (payload.includes('nodir')) {
    return { ...base, state: 'no_directory', directory: null, listedName: null };
  }
  if (payload.includes('unpinned')) {
    return { ...base, unpinned: ['https://ledger.riverside-health.example'] };
  }
  return base;
}

// ---- SMART Health Cards and the patient summary ----

/** The mock's card issuer (a vaccination service) and another one nobody trusts yet. */
export const MOCK_ISSUER = 'https://vaccines.example.org/shc';
export const OTHER_ISSUER = 'https://travel-clinic.example.net/issuer';
const OFFLINE_ISSUER = 'https://offline-issuer.example.org';

/**
 * What a mock card is: the word in its file name or in its (fake) signed content. `valid` and
 * `tampered`/`expired`/`revoked` come from MOCK_ISSUER; `other` from OTHER_ISSUER; `offline`
 * from an issuer that does not answer.
 */
export type CardKind = 'valid' | 'tampered' | 'expired' | 'revoked' | 'other' | 'offline';
const CARD_KINDS: CardKind[] = ['tampered', 'expired', 'revoked', 'other', 'offline'];

function cardKind(text: string): CardKind {
  return CARD_KINDS.find((k) => text.includes(k)) ?? 'valid';
}

function cardIssuer(kind: CardKind): string {
  return kind === 'other' ? OTHER_ISSUER : kind === 'offline' ? OFFLINE_ISSUER : MOCK_ISSUER;
}

/**
 * The `shc:/` numeric QR text of `content` (SMART Health Cards: each character as two digits,
 * its code minus 45). The mock's cards carry `mock.<kind>.signature` as their "JWS".
 */
export function shcQrText(content: string): string {
  return `shc:/${[...content].map((c) => String(c.charCodeAt(0) - 45).padStart(2, '0')).join('')}`;
}

/** The content of `shc:/` numeric text, or `null` when it is not (as the wallet reads a QR). */
function fromShcQr(text: string): string | null {
  const m = /^shc:\/(?:\d+\/\d+\/)?(\d+)$/i.exec(text.trim());
  if (!m || m[1].length % 2 !== 0) return null;
  let out = '';
  for (let i = 0; i < m[1].length; i += 2) {
    const code = Number(m[1].slice(i, i + 2)) + 45;
    if (code > 122) return null;
    out += String.fromCharCode(code);
  }
  return out;
}

const CARD_BUNDLE = {
  resourceType: 'Bundle', type: 'collection', entry: [
    { fullUrl: 'resource:0', resource: { resourceType: 'Patient', name: [{ family: 'Schmidt', given: ['Maria'] }], birthDate: '1961-05-12' } },
    { fullUrl: 'resource:1', resource: {
      resourceType: 'Immunization', status: 'completed', vaccineCode: { coding: [{ system: 'http://hl7.org/fhir/sid/cvx', code: '207' }] },
      patient: { reference: 'resource:0' }, occurrenceDateTime: '2025-02-01', lotNumber: '0000001',
    } },
  ],
};

/** The wallet's words for a card record's detail (`cards.rs` `detail_of`). */
function cardDetail(issuer: string, verified: boolean): string {
  return verified ? `issued by ${issuer}, verified` : `says it was issued by ${issuer}, not verified (not a trusted issuer)`;
}

/** Why a trusted issuer's card is refused, as the wallet says it (message, reason). */
function refusal(kind: CardKind): { message: string; reason: string } | null {
  switch (kind) {
    case 'tampered': return { message: 'the signature does not verify: the card was altered or not made by this issuer', reason: 'altered' };
    case 'expired': return { message: `the card expired at ${MOCK_NOW - DAY} (now ${MOCK_NOW})`, reason: 'expired' };
    case 'revoked': return { message: 'the issuer revoked this card (rid r3v0ked)', reason: 'revoked' };
    default: return null;
  }
}

function patientRecord(): MockRecord {
  const resource = { resourceType: 'Patient', id: 'maria', name: [{ given: ['Maria'], family: 'Schmidt' }], birthDate: '1961-05-12', gender: 'female' };
  const json = fhir(resource);
  return {
    view: {
      id: hexId('patient.jsonMaria Schmidt'), name: 'patient.json', category: 'patient', title: 'Maria Schmidt', detail: 'born 1961-05-12',
      date: null, resourceType: 'Patient', size: json.length, version: 1,
    },
    json,
  };
}

/** The IPS sections the mock fills, in the wallet's order: the three required ones always. */
const SUMMARY_SECTIONS: { code: string; title: string; types: string[]; required: boolean }[] = [
  { code: '11450-4', title: 'Problems', types: ['Condition'], required: true },
  { code: '48765-2', title: 'Allergies and intolerances', types: ['AllergyIntolerance'], required: true },
  { code: '10160-0', title: 'Medication summary', types: ['MedicationStatement', 'MedicationRequest'], required: true },
  { code: '11369-6', title: 'Immunizations', types: ['Immunization'], required: false },
  { code: '30954-2', title: 'Results', types: ['Observation'], required: false },
  { code: '47519-4', title: 'Procedures', types: ['Procedure'], required: false },
];

// ---- SMART Health Links (issue 11) ----

/** As the wallet (carekey-model `shl`): a label is at most 80 characters, attempts 1 to 100. */
export const MAX_LINK_LABEL = 80;
const MAX_LINK_ATTEMPTS = 100;
const DEFAULT_LINK_ATTEMPTS = 10;

interface MockLink { view: HealthLinkView; uri: string; attempts: number | null }

function base64url(text: string): string {
  let bin = '';
  for (const b of new TextEncoder().encode(text)) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** A `shlink:/` payload shaped like the real one (the key and the manifest id are not secret here). */
function mockShlink(id: string, node: string, exp: number | null, passcode: boolean, longTerm: boolean, label: string | null): string {
  const flag = `${longTerm ? 'L' : ''}${passcode ? 'P' : ''}`;
  const payload: Record<string, unknown> = { url: `${node}/v1/links/${base64url(hexId(`manifest:${id}`)).slice(0, 43)}`, key: base64url(hexId(`key:${id}`)).slice(0, 43) };
  if (exp !== null) payload.exp = exp;
  if (flag) payload.flag = flag;
  if (label !== null) payload.label = label;
  payload.v = 1;
  return `shlink:/${base64url(JSON.stringify(payload))}`;
}

function seedLinks(records: MockRecord[]): { links: MockLink[]; opens: HealthLinkOpenView[] } {
  const ids = records.filter((r) => r.view.category === 'allergies' || r.view.category === 'medications').map((r) => r.view.id);
  const id = hexId('link-lakeside').slice(0, 43);
  const label = 'Allergies and medicines for Lakeside Clinic';
  const view: HealthLinkView = {
    id, label, node: EMBEDDED_NODE, createdAt: MOCK_NOW - 3 * DAY, expiresAt: MOCK_NOW + 6 * DAY, passcode: true, longTerm: false,
    recordCount: ids.length, records: ids, summary: false, state: 'active', endedAt: null, opens: 1, failedAttempts: 1,
  };
  const who = 'Dr. Jonas Weber, Lakeside Clinic';
  const opens: HealthLinkOpenView[] = [
    // Two days ago, an hour after Dr. Berg's read (the same day in Activity).
    { linkId: id, label, recipient: who, opened: true, remainingAttempts: null, at: MOCK_NOW - 2 * DAY + 6 * 3600, node: EMBEDDED_NODE, index: 1043 },
    { linkId: id, label, recipient: who, opened: false, remainingAttempts: 9, at: MOCK_NOW - 2 * DAY + 6 * 3600 - 90, node: EMBEDDED_NODE, index: 1042 },
  ];
  return { links: [{ view, uri: mockShlink(id, EMBEDDED_NODE, view.expiresAt, true, false, label), attempts: DEFAULT_LINK_ATTEMPTS }], opens };
}

const REQUEST_PREFIX = 'carekey:request/v1/';

export interface MockCall { method: string; args: unknown }

export class MockBackend implements Backend {
  readonly kind = 'mock' as const;
  /** Every call, in order, for tests to assert on. */
  readonly calls: MockCall[] = [];
  /** Files written by `saveText` / `backup` / `exportRecord`, by path. */
  readonly files = new Map<string, string>();

  private walletExists: boolean;
  private erasedWhileUnreachable = false;
  private unlocked: boolean;
  private passphrase = MOCK_PASSPHRASE;
  private keyringUnlock = false;
  private records: MockRecord[];
  private grants: GrantView[];
  private access: AccessView[];
  private nodes: NodeView[];
  private outboxPending = 0;
  private witnessPolicy: { witnessKeys: string[]; quorum: number } = { witnessKeys: [], quorum: 0 };
  private backups: string[] = [];
  private failures: Set<MockFailure>;
  private readonly latencyMs: number;
  private readonly decodeImage: (base64: string) => Promise<string | null>;
  private progressListeners = new Set<(p: ImportProgress) => void>();
  private dropListeners = new Set<(paths: string[]) => void>();
  private nextFailure = new Map<string, BackendError>();
  private grantCounter = 0;
  /** When each backup was written (the mock's clock). */
  private backupTimes = new Map<string, number>();
  private schedule: BackupScheduleView | null = null;
  private directories: DirectoryView[] = [];
  private issuers: IssuerView[] = [];
  /** Imported health cards by what they are (the wallet knows a card again by its signature). */
  private cards = new Map<CardKind, CardView>();
  /** How many access events the patient has looked at. */
  private accessesSeen = 0;
  private checkedAt: number | null = null;
  private newWhileLocked = false;
  private ledgerListeners = new Set<(s: LedgerStatusView) => void>();
  /** When each grant ended (revoked or erased). */
  private endedAt = new Map<string, number>();
  /** SMART Health Links and their logged opens (newest first). */
  private links: MockLink[] = [];
  private linkOpenLog: HealthLinkOpenView[] = [];
  private linkCounter = 0;

  constructor(options: MockOptions = {}) {
    const scenario = options.scenario ?? 'new';
    this.walletExists = scenario !== 'new';
    this.unlocked = scenario === 'unlocked';
    this.failures = new Set(options.fail ?? []);
    this.latencyMs = options.latencyMs ?? 0;
    this.decodeImage = options.decodeImage ?? (async () => null);
    this.records = scenario === 'new' ? [] : seedRecords();
    this.grants = scenario === 'new' ? [] : seedGrants(this.records);
    this.access = scenario === 'new' ? [] : seedAccess(this.grants, this.records);
    // The seeded pharmacy grant was stopped 10 days ago, the orthopaedics one deleted 160 days ago.
    for (const g of this.grants) if (g.status === 'revoked' || g.status === 'erased') this.endedAt.set(g.id, MOCK_NOW - (g.status === 'revoked' ? 10 : 160) * DAY);
    if (this.failures.has('unreachable')) this.outboxPending = 3;
    this.nodes = this.seedNodes();
    if (options.grants === 'none') {
      this.grants = [];
      this.access = [];
    } else if (options.grants === 'many' && scenario !== 'new') {
      const names = ['City Hospital Cardiology', 'Dr. Omar Haddad', 'Westside Physiotherapy', 'Dr. Mei Lin — Dermatology', 'Harbour Dental Care',
        'Northgate Laboratory', 'St. Mary\u2019s Hospital Emergency', 'Dr. Lukas Weber', 'Greenfield Eye Clinic', 'Sunrise Pharmacy', 'Dr. Sofia Rossi', 'Valley Radiology'];
      names.forEach((name, i) => this.grants.push({
        id: hexId(`grant-many-${i}`), providerName: name, providerKey: hexId(`key-many-${i}`), purpose: 'Follow-up', notBefore: MOCK_NOW - (i + 1) * DAY,
        notAfter: MOCK_NOW + (i * 5 + 1) * DAY, endsAs: null, endsEarly: null, waitingFor: [], status: 'active',
        records: this.records.slice(0, (i % 5) + 1).map((r) => r.view.id), resourceTypes: ['Observation'],
      }));
    }
    if (options.patient && scenario !== 'new') this.records.unshift(patientRecord());
    if (options.issuers) this.issuers = [{ url: MOCK_ISSUER, addedAt: MOCK_NOW - 20 * DAY }];
    if (scenario !== 'new' && options.grants !== 'none') ({ links: this.links, opens: this.linkOpenLog } = seedLinks(this.records));
    if (options.directory) this.directories = [{ key: hexId('directory-key'), name: 'Medical Council', providers: 412, signedAt: MOCK_NOW - 3 * DAY }];
    if (options.backupDaysAgo !== null && options.backupDaysAgo !== undefined && scenario !== 'new') {
      const path = '/media/patient/USB-STICK/carekey-backup.ckb';
      this.backups.push(path);
      this.backupTimes.set(path, MOCK_NOW - options.backupDaysAgo * DAY);
    }
  }

  // ---- test controls ----

  /** Makes the next call of `method` reject with `code`. */
  failNext(method: string, code: string, message: string): void {
    this.nextFailure.set(method, new BackendError(code, message));
  }

  setFailure(failure: MockFailure, on: boolean): void {
    if (on) this.failures.add(failure); else this.failures.delete(failure);
    this.nodes = this.seedNodes(this.nodes);
  }

  /** What a Tauri drag-and-drop of these paths would do. */
  simulateDrop(paths: string[]): void {
    for (const l of this.dropListeners) l(paths);
  }

  // ---- the commands ----

  async appStatus(): Promise<AppStatus> {
    await this.enter('appStatus', undefined, { needsWallet: false, needsUnlock: false });
    return {
      walletExists: this.walletExists, unlocked: this.unlocked, keyringUnlock: this.keyringUnlock,
      vaultDir: '/home/patient/.local/share/carekey', embeddedNode: EMBEDDED_NODE, secretStore: 'Secret Service (GNOME Keyring)',
      erasurePending: !this.walletExists && this.erasedWhileUnreachable
        ? this.nodes.filter((n) => n.url !== EMBEDDED_NODE).map((n) => `${n.url}: 2 change(s) still to send (connection refused)`)
        : [],
    };
  }

  async createWallet(args: CreateWalletArgs): Promise<RecoveryKitView> {
    await this.enter('createWallet', { ...args, passphrase: '[redacted]' }, { needsWallet: false, needsUnlock: false });
    if (this.walletExists) throw new BackendError('wallet_exists', 'A wallet already exists on this device.');
    if (args.passphrase.length < 8) throw new BackendError('weak_passphrase', 'the passphrase is too short: use at least 8 characters (a few random words are best)');
    this.walletExists = true;
    this.unlocked = true;
    this.passphrase = args.passphrase;
    this.keyringUnlock = args.keyring;
    this.records = [];
    return { words: [...WORDS], qrSvg: placeholderQrSvg(WORDS.join(' '), 33) };
  }

  async unlock(args: UnlockArgs): Promise<void> {
    await this.enter('unlock', { passphrase: args.passphrase === null ? null : '[redacted]' }, { needsUnlock: false });
    if (args.passphrase === null) {
      if (!this.keyringUnlock) throw new BackendError('vault', 'Keyring unlock is not enabled on this device.');
    } else if (args.passphrase !== this.passphrase) {
      throw new BackendError('wrong_passphrase', 'wrong passphrase');
    }
    this.unlocked = true;
  }

  async lock(): Promise<void> {
    await this.enter('lock', undefined, { needsUnlock: false });
    this.unlocked = false;
  }

  async changePassphrase(args: ChangePassphraseArgs): Promise<void> {
    await this.enter('changePassphrase', { newPassphrase: '[redacted]' });
    if (args.newPassphrase.length < 8) throw new BackendError('weak_passphrase', 'the passphrase is too short: use at least 8 characters (a few random words are best)');
    this.passphrase = args.newPassphrase;
  }

  async setKeyringUnlock(args: SetKeyringUnlockArgs): Promise<void> {
    await this.enter('setKeyringUnlock', args);
    this.keyringUnlock = args.enabled;
  }

  async backup(args: BackupArgs): Promise<BackupView> {
    await this.enter('backup', args);
    const path = this.absolute(args.path);
    this.files.set(path, 'carekey-backup');
    if (!this.backups.includes(path)) this.backups.push(path);
    this.backupTimes.set(path, MOCK_NOW);
    // Like the wallet: the key share goes to every remote node (not this device's own).
    const keyShareNodes = this.nodes.filter((n) => n.url !== EMBEDDED_NODE).map((n) => n.url);
    return { path, keyShareNodes, keySharePending: keyShareNodes.filter((u) => u === UNREACHABLE_NODE) };
  }

  async restoreWallet(args: RestoreWalletArgs): Promise<void> {
    await this.enter('restoreWallet', { ...args, words: ['[redacted]'], passphrase: '[redacted]' }, { needsWallet: false, needsUnlock: false });
    if (this.failures.has('restore')) throw new BackendError('backup_share_unreachable', 'the backup\u2019s key share is on https://ledger.northcare.example, which did not answer');
    if (args.words.length !== 24) throw new BackendError('crypto', `A recovery kit has 24 words, not ${args.words.length}.`);
    const unknown = args.words.find((w) => !WORDS.includes(w.toLowerCase()));
    if (unknown) throw new BackendError('crypto', `"${unknown}" is not a recovery word of this kit.`);
    if (!args.backupPath.trim()) throw new BackendError('bad_input', 'Choose the backup file to restore.');
    if (this.walletExists && !args.replaceExisting) throw new BackendError('wallet_exists', 'A wallet already exists on this device.');
    this.walletExists = true;
    this.unlocked = true;
    this.passphrase = args.passphrase;
    this.records = seedRecords();
    this.grants = seedGrants(this.records);
    this.access = seedAccess(this.grants, this.records);
  }

  async listRecords(): Promise<RecordView[]> {
    await this.enter('listRecords');
    return this.records.map((r) => ({ ...r.view }));
  }

  async importFiles(args: ImportFilesArgs): Promise<RecordView[]> {
    await this.enter('importFiles', args);
    if (args.paths.length === 0) throw new BackendError('bad_input', 'No files to import.');
    const added: RecordView[] = [];
    for (const path of args.paths) {
      const name = path.split(/[\\/]/).pop() ?? path;
      if (name.startsWith('missing')) throw new BackendError('io', `${path}: No such file or directory`);
      const large = /\.(dcm|zip|bam|vcf|mp4)$/i.test(name);
      const total = large ? 96 * 1024 * 1024 : 4096;
      if (large) {
        for (let done = 0; done <= total; done += total / 8) {
          this.emitProgress({ path, done, total });
          await this.sleep(Math.max(this.latencyMs / 2, 1));
        }
      } else {
        this.emitProgress({ path, done: total, total });
      }
      const isJson = name.endsWith('.json');
      if (isJson && name.startsWith('patient')) {
        const patient = patientRecord();
        patient.view.id = hexId(`import:${path}:${this.records.length}`);
        this.records.push(patient);
        added.push({ ...patient.view });
        continue;
      }
      const rec: MockRecord = {
        view: {
          id: hexId(`import:${path}:${this.records.length}`), name, category: isJson ? 'observations' : name.endsWith('.pdf') ? 'documents' : 'file',
          title: isJson ? 'Body weight' : name, detail: isJson ? '72.4 kg' : null, date: isJson ? '2025-03-12' : null,
          resourceType: isJson ? 'Observation' : null, size: total, version: 1,
        },
        json: isJson ? fhir({ resourceType: 'Observation', status: 'final', code: { text: 'Body weight' }, valueQuantity: { value: 72.4, unit: 'kg' }, effectiveDateTime: '2025-03-12' }) : null,
      };
      this.records.push(rec);
      added.push({ ...rec.view });
    }
    return added;
  }

  async recordDetail(args: RecordIdArgs): Promise<RecordDetail> {
    await this.enter('recordDetail', args);
    const rec = this.record(args.id);
    return { record: { ...rec.view }, json: rec.json };
  }

  async exportRecord(args: ExportRecordArgs): Promise<number> {
    await this.enter('exportRecord', args);
    const rec = this.record(args.id);
    if (!args.path.trim()) throw new BackendError('bad_input', 'Choose where to save the file.');
    this.files.set(this.absolute(args.path), rec.json ?? `[${rec.view.size} bytes]`);
    return rec.view.size;
  }

  async reviewRequest(args: ReviewRequestArgs): Promise<RequestView> {
    await this.enter('reviewRequest', { uri: args.uri, imageBase64: args.imageBase64 ? `[${args.imageBase64.length} chars]` : null });
    let uri = args.uri?.trim() ?? null;
    if (uri === null && args.imageBase64) {
      uri = await this.decodeImage(args.imageBase64);
      if (uri === null) throw new BackendError('bad_qr', 'no QR code found in the image');
    }
    if (!uri) throw new BackendError('bad_input', 'Give a carekey: link or an image of the QR code.');
    if (!uri.toLowerCase().startsWith(REQUEST_PREFIX)) {
      throw new BackendError('bad_document', 'this is not a Carekey access request (it does not start with carekey:request/v1/)');
    }
    const payload = uri.slice(REQUEST_PREFIX.length);
    if (payload.length < 8 || !/^[A-Za-z0-9_-]+$/.test(payload)) {
      throw new BackendError('bad_document', 'the request is damaged: its signature does not verify');
    }
    const fx = requestFixture(payload);
    const matching = this.records.filter((r) => r.view.resourceType !== null && fx.resourceTypes.includes(r.view.resourceType));
    return {
      uri, providerName: fx.providerName, providerKey: hexId(`provider:${fx.providerName}`),
      verification: { state: fx.state, directory: fx.directory, listedName: fx.listedName },
      providerCode: providerCode(hexId(`provider:${fx.providerName}`)),
      purpose: fx.purpose, resourceTypes: fx.resourceTypes, recordIds: [], durationSecs: fx.durationSecs,
      expiresAt: MOCK_NOW + 600, unpinnedNodes: fx.unpinned, matchingRecords: matching.map((r) => ({ ...r.view })),
    };
  }

  async share(args: ShareArgs): Promise<ShareResult> {
    const review = await this.reviewRequest({ uri: args.uri, imageBase64: null });
    this.calls.pop();
    await this.enter('share', args);
    if (review.unpinnedNodes.length > 0 && !args.confirmNodes) {
      throw new BackendError('unconfirmed_nodes', `confirm the unpinned nodes first: ${review.unpinnedNodes.join(', ')}`);
    }
    if (args.recordIds.length === 0 && args.resourceTypes.length === 0) throw new BackendError('empty_share', 'nothing chosen to share');
    if (args.durationSecs !== null && args.durationSecs > review.durationSecs) {
      throw new BackendError('bad_duration', 'a grant may not last longer than the request asks');
    }
    const ids = new Set(args.recordIds);
    for (const r of this.records) if (r.view.resourceType && args.resourceTypes.includes(r.view.resourceType)) ids.add(r.view.id);
    const duration = args.durationSecs ?? review.durationSecs;
    const grant: GrantView = {
      id: hexId(`grant:${args.uri}:${this.grantCounter++}`), providerName: review.providerName, providerKey: review.providerKey,
      purpose: review.purpose, notBefore: MOCK_NOW, notAfter: MOCK_NOW + duration, endsAs: null, endsEarly: null, waitingFor: [], status: 'active',
      records: [...ids], resourceTypes: [...args.resourceTypes],
    };
    this.grants.unshift(grant);
    if (this.failures.has('unreachable')) this.queueForUnreachable();
    return { grantId: grant.id, providerName: grant.providerName, notAfter: grant.notAfter, records: ids.size };
  }

  async myQr(): Promise<MyQr> {
    await this.enter('myQr');
    const uri = `carekey:patient/v1/${hexId('patient-sign').slice(0, 43)}/${hexId('patient-agree').slice(0, 43)}`;
    return { uri, svg: placeholderQrSvg(uri, 37) };
  }

  async listGrants(): Promise<GrantView[]> {
    await this.enter('listGrants');
    return this.grants.map((g) => ({ ...g }));
  }

  async revoke(args: GrantIdArgs): Promise<RevokeResult> {
    await this.enter('revoke', args);
    const grant = this.grant(args.grantId);
    if (grant.status !== 'active') throw new BackendError('grant_not_active', `the grant is already ${grant.status}`);
    if (this.failures.has('unreachable')) {
      // A node that cannot be reached has not confirmed the revocation yet: the grant is ending.
      grant.status = 'ending';
      grant.endsAs = 'revoked';
      grant.waitingFor = this.nodes.map((n) => n.url);
      this.queueForUnreachable();
    } else {
      grant.status = 'revoked';
    }
    this.endedAt.set(grant.id, MOCK_NOW);
    return { rekeyed: grant.records.length, waitingFor: [...grant.waitingFor], backupProblems: [] };
  }

  async accessLog(): Promise<AccessView[]> {
    await this.enter('accessLog');
    return this.access.map((a) => ({ ...a }));
  }

  async sync(): Promise<SyncView> {
    await this.enter('sync');
    await this.sleep(this.latencyMs * 3);
    const nodes = this.nodes.map((n) => {
      const checked = n.quorum > 0;
      const base = { url: n.url, independentlyChecked: checked, freshAsOf: null, failed: false, alarm: false };
      if (n.url === UNREACHABLE_NODE) {
        return { ...base, verifiedSize: null, problem: `node unreachable: connection refused (${UNREACHABLE_NODE})` };
      }
      if (this.failures.has('alarm') && n.url === EMBEDDED_NODE) {
        return {
          ...base, verifiedSize: null, alarm: true, failed: true,
          problem: 'split view: the node signed two different checkpoints of size 1042; both are kept as evidence',
        };
      }
      if (this.failures.has('tampered') && n.url === EMBEDDED_NODE) {
        return { ...base, verifiedSize: null, failed: true, problem: 'tile tile/entries/004.p/18 does not match the signed root' };
      }
      return { ...base, verifiedSize: n.verifiedSize, problem: null, freshAsOf: checked ? MOCK_NOW - 30 : null };
    });
    if (this.failures.has('alarm')) this.nodes = this.seedNodes(this.nodes);
    const failed = nodes.some((n) => n.alarm || n.failed);
    return { nodes, outboxPending: this.outboxPending, newAccessEvents: failed ? 0 : 1, failed };
  }

  async eraseRecord(args: RecordIdArgs): Promise<ReceiptView> {
    await this.enter('eraseRecord', args);
    const rec = this.record(args.id);
    this.records = this.records.filter((r) => r !== rec);
    for (const g of this.grants) g.records = g.records.filter((id) => id !== rec.view.id);
    // As the wallet: every link that carries the record (or a summary made from all) ends.
    for (const l of this.links) if (l.view.endedAt === null && (l.view.summary || l.view.records.includes(rec.view.id))) l.view.endedAt = MOCK_NOW;
    return this.receipt(`record ${rec.view.id}`, [`file key of record ${rec.view.id} (version ${rec.view.version})`, 'ciphertext on this device', 'ciphertext and key wraps on the nodes']);
  }

  async eraseGrant(args: GrantIdArgs): Promise<ReceiptView> {
    await this.enter('eraseGrant', args);
    const grant = this.grant(args.grantId);
    grant.status = 'erased';
    if (!this.endedAt.has(grant.id)) this.endedAt.set(grant.id, MOCK_NOW);
    return this.receipt(`grant ${grant.id}`, [`key wraps of grant ${grant.id}`, `the shared bundle on the nodes (${grant.records.length} records)`]);
  }

  async eraseAll(): Promise<ReceiptView> {
    await this.enter('eraseAll');
    const n = this.records.length;
    const receipt = this.receipt('wallet', [`file keys of ${n} records`, 'the key index and the device secret', 'every ciphertext and key wrap on the nodes']);
    this.records = [];
    this.grants = [];
    this.access = [];
    this.links = [];
    this.linkOpenLog = [];
    this.walletExists = false;
    this.unlocked = false;
    this.erasedWhileUnreachable = this.failures.has('unreachable');
    return receipt;
  }

  async saveText(args: SaveTextArgs): Promise<void> {
    await this.enter('saveText', { path: args.path, text: `[${args.text.length} chars]` });
    if (!args.path.trim()) throw new BackendError('bad_input', 'Choose a file name.');
    if (args.path.startsWith('/proc/') || args.path.startsWith('/readonly/')) throw new BackendError('io', `${args.path}: Permission denied`);
    this.files.set(this.absolute(args.path), args.text);
  }

  async settings(): Promise<SettingsView> {
    await this.enter('settings');
    return {
      nodes: this.nodes.map((n) => ({ ...n, witnessKeys: [...n.witnessKeys] })), outboxPending: this.outboxPending,
      witnessPolicy: { witnessKeys: [...this.witnessPolicy.witnessKeys], quorum: this.witnessPolicy.quorum },
      kdf: { memoryKib: 65536, iterations: 3, parallelism: 4 }, keyringUnlock: this.keyringUnlock,
      embeddedNode: EMBEDDED_NODE, vaultDir: '/home/patient/.local/share/carekey', backups: [...this.backups],
    };
  }

  async addNode(args: AddNodeArgs): Promise<void> {
    await this.enter('addNode', args);
    if (!/^https?:\/\/[^\s/]+/.test(args.url)) throw new BackendError('bad_node_url', `"${args.url}" is not an http(s) node URL`);
    if (!/^[^+\s]+\+[0-9a-f]{8}\+[A-Za-z0-9+/=]{40,}$/.test(args.logKey.trim())) {
      throw new BackendError('bad_log_key', 'the log key must be a note verifier key: NAME+HASH+KEY');
    }
    if (args.quorum > args.witnessKeys.length) throw new BackendError('bad_quorum', `a quorum of ${args.quorum} needs at least ${args.quorum} witness keys`);
    const loopback = /^https?:\/\/(localhost|127\.[0-9.]+|\[::1\])(:|\/|$)/.test(args.url);
    if (!args.noWitness && args.quorum === 0 && !loopback) {
      throw new BackendError('needs_witness', `${args.url} is a remote node: pin at least one witness (--witness KEY) so its log is independently checked, or pin it knowingly without witnesses (--no-witness)`);
    }
    if (this.nodes.some((n) => n.url === args.url)) throw new BackendError('node_url_taken', `${args.url} is already pinned`);
    const [witnessKeys, quorum] = args.noWitness ? [[], 0] : [[...args.witnessKeys], args.quorum];
    this.nodes.push({ url: args.url, logKey: args.logKey.trim(), witnessKeys, quorum, verifiedSize: null, evidence: false, outboxPending: 0, lastError: null });
  }

  async removeNode(args: RemoveNodeArgs): Promise<NodeRemovalView> {
    await this.enter('removeNode', args);
    const node = this.nodes.find((n) => n.url === args.url);
    if (!node) throw new BackendError('not_found', `no pinned node matches "${args.url}"`);
    this.nodes = this.nodes.filter((n) => n !== node);
    this.outboxPending -= node.outboxPending;
    return { url: node.url, droppedOutbox: node.outboxPending };
  }

  async moveNode(args: MoveNodeArgs): Promise<void> {
    await this.enter('moveNode', args);
    if (!/^https?:\/\/[^\s/]+/.test(args.to)) throw new BackendError('bad_node_url', `"${args.to}" is not an http(s) node URL`);
    const node = this.nodes.find((n) => n.url === args.from);
    if (!node) throw new BackendError('not_found', `no pinned node matches "${args.from}"`);
    if (args.from === args.to) return;
    if (this.nodes.some((n) => n.url === args.to)) throw new BackendError('node_url_taken', `${args.to} is already pinned for another log; remove it first`);
    node.url = args.to;
    node.lastError = null;
  }

  async setWitnessPolicy(args: WitnessPolicyArgs): Promise<void> {
    await this.enter('setWitnessPolicy', args);
    const bad = args.witnessKeys.find((k) => !/^[^+\s]+\+[0-9a-f]{8}\+[A-Za-z0-9+/=]{40,}$/.test(k));
    if (bad !== undefined) throw new BackendError('bad_witness_key', `witness key "${bad}" is not a note verifier key: NAME+HASH+KEY`);
    if (args.quorum > args.witnessKeys.length) throw new BackendError('bad_quorum', `a quorum of ${args.quorum} needs at least ${args.quorum} witness keys`);
    this.witnessPolicy = { witnessKeys: [...args.witnessKeys], quorum: args.quorum };
  }

  async home(): Promise<HomeView> {
    await this.enter('home');
    const live = this.grants.filter((g) => g.status === 'active' || g.status === 'ending');
    const holders: AccessHolderView[] = live
      .map((g) => {
        const mine = this.access.filter((a) => a.grantId === g.id).sort((a, b) => b.servedAt - a.servedAt);
        return {
          kind: 'grant' as const, id: g.id, who: g.providerName, verified: this.vouched(g.providerName),
          resourceTypes: [...g.resourceTypes], recordCount: g.records.length, since: g.notBefore,
          notAfter: g.endsEarly ?? g.notAfter, shortened: g.endsEarly !== null, status: g.status, waitingFor: g.waitingFor.length, lastAccessAt: mine[0]?.servedAt ?? null,
          lastAccessRecords: mine[0]?.records.length ?? 0, accesses: mine.length,
        };
      })
      .sort((a, b) => a.notAfter - b.notAfter);
    const latest = [...this.access].sort((a, b) => b.servedAt - a.servedAt)[0];
    const active = live.filter((g) => g.status === 'active' && g.notAfter > MOCK_NOW);
    return {
      now: MOCK_NOW,
      holders,
      nextExpiry: active.length ? Math.min(...active.map((g) => g.endsEarly ?? g.notAfter)) : null,
      latestAccess: latest
        ? { who: latest.providerName, holderId: latest.grantId, at: latest.servedAt, records: latest.records.length, genuine: latest.verification === 'verified' }
        : null,
      links: this.links.map((l) => this.linkView(l)).filter((l) => l.state === 'active').sort((a, b) => b.createdAt - a.createdAt),
      latestLinkOpen: this.linkOpenLog[0] ? { ...this.linkOpenLog[0] } : null,
      backup: this.backupState(),
      ledger: this.status(),
    };
  }

  async grantDetail(args: GrantIdArgs): Promise<GrantDetailView> {
    await this.enter('grantDetail', args);
    const g = this.grant(args.grantId);
    const listed = this.vouched(g.providerName);
    return {
      grant: { ...g },
      verification: listed
        ? { state: 'verified', directory: 'Medical Council', listedName: null }
        : { state: this.directories.length ? 'unlisted' : 'no_directory', directory: null, listedName: null },
      providerCode: providerCode(g.providerKey),
      records: this.records.filter((r) => g.records.includes(r.view.id)).map((r) => ({ ...r.view })),
      accesses: this.access.filter((a) => a.grantId === g.id).sort((a, b) => b.servedAt - a.servedAt).map((a) => ({ ...a })),
      endedAt: this.endedAt.get(g.id) ?? null,
      now: MOCK_NOW,
    };
  }

  async shortenGrant(args: ShortenGrantArgs): Promise<ShortenResult> {
    // As the wallet: once, active, between now and the current end.
    await this.enter('shortenGrant', args);
    const g = this.grant(args.grantId);
    if (g.status !== 'active') throw new BackendError('grant_not_active', `grant ${g.id} is ${g.status}`);
    if (g.endsEarly !== null) throw new BackendError('already_shortened', 'this sharing was already shortened; end it now to stop it sooner');
    if (args.endsAt <= MOCK_NOW || args.endsAt >= g.notAfter) throw new BackendError('bad_end', "the new end must be after now and before the sharing's current end");
    g.endsEarly = args.endsAt;
    return { endsAt: args.endsAt, waitingFor: [], backupProblems: [] };
  }

  async markAccessesSeen(): Promise<void> {
    await this.enter('markAccessesSeen');
    this.accessesSeen = this.access.length;
  }

  async ledgerStatus(): Promise<LedgerStatusView> {
    await this.enter('ledgerStatus', undefined, { needsUnlock: false });
    return this.status();
  }

  async checkNow(): Promise<LedgerStatusView> {
    await this.enter('checkNow', undefined, { needsUnlock: false });
    this.checkedAt = MOCK_NOW;
    const status = this.status();
    for (const l of this.ledgerListeners) l(status);
    return status;
  }

  async backupPlace(args: PathArgs): Promise<BackupPlaceView> {
    await this.enter('backupPlace', args, { needsUnlock: false });
    const path = this.absolute(args.path.trim());
    const removable = /^\/(media|run\/media|mnt)\//.test(path);
    return { writable: !path.includes('missing'), sameDiskAsWallet: !removable && !path.includes('Dropbox') && !path.includes('Nextcloud'), removable };
  }

  async setBackupSchedule(args: BackupScheduleArgs): Promise<void> {
    await this.enter('setBackupSchedule', args);
    if (args.folder === null) {
      this.schedule = null;
      return;
    }
    if (!args.folder.trim()) throw new BackendError('bad_input', 'Choose a folder for the backups.');
    if (args.everyDays < 1 || args.everyDays > 90) throw new BackendError('bad_input', 'Back up every 1 to 90 days.');
    this.schedule = { folder: this.absolute(args.folder.trim()), everyDays: args.everyDays, nextAt: MOCK_NOW + args.everyDays * DAY, lastProblem: null };
  }

  async listDirectories(): Promise<DirectoryView[]> {
    await this.enter('listDirectories');
    return this.directories.map((d) => ({ ...d }));
  }

  async addDirectory(args: AddDirectoryArgs): Promise<DirectoryView> {
    await this.enter('addDirectory', args);
    if (!/^[0-9a-f]{64}$/i.test(args.key.trim())) throw new BackendError('bad_key', 'a directory key is 64 hexadecimal characters');
    if (!args.path.trim()) throw new BackendError('bad_input', 'Choose the directory file.');
    if (args.path.includes('forged')) throw new BackendError('bad_document', 'the directory file is not signed by this key');
    const d: DirectoryView = { key: args.key.trim().toLowerCase(), name: 'Medical Council', providers: 412, signedAt: MOCK_NOW - 3 * DAY };
    this.directories = [...this.directories.filter((x) => x.key !== d.key), d];
    return { ...d };
  }

  async removeDirectory(args: DirectoryKeyArgs): Promise<void> {
    await this.enter('removeDirectory', args);
    if (!this.directories.some((d) => d.key === args.key)) throw new BackendError('not_found', `no directory ${args.key}`);
    this.directories = this.directories.filter((d) => d.key !== args.key);
  }

  async setLanguage(args: LanguageArgs): Promise<void> {
    await this.enter('setLanguage', args, { needsWallet: false, needsUnlock: false });
  }

  async importCard(args: ImportCardArgs): Promise<CardView[]> {
    await this.enter('importCard', args);
    // Read, as the wallet reads: a file (by its name here) or scanned text.
    let kind: CardKind;
    if (args.path !== undefined && args.path !== null) {
      const name = args.path.split(/[\\/]/).pop() ?? args.path;
      if (name.startsWith('missing')) throw new BackendError('io', `reading ${args.path}: No such file or directory`);
      if (/\.(png|jpe?g)$/i.test(name)) {
        if (name.includes('noqr')) throw new BackendError('bad_qr', 'no QR code found in the picture: no QR code found');
      } else if (!/\.smart-health-card$/i.test(name)) {
        throw new BackendError('not_a_card', 'not a SMART Health Card: the file is not a .smart-health-card file (JSON with verifiableCredential)');
      }
      kind = cardKind(name);
    } else if (args.text !== undefined && args.text !== null) {
      const content = fromShcQr(args.text);
      if (content === null || content.split('.').length !== 3) throw new BackendError('not_a_card', 'not a SMART Health Card: not shc:/ numeric QR text');
      kind = cardKind(content);
    } else {
      throw new BackendError('bad_input', 'give a card file, a picture of its QR code, or its shc:/ text');
    }
    // Check: only a trusted issuer is asked for its keys; anyone else's card is kept unchecked.
    const issuer = cardIssuer(kind);
    const trusted = this.issuers.some((i) => i.url === issuer);
    if (trusted) {
      if (kind === 'offline') {
        throw new BackendError('issuer_unreachable', `could not check the card with ${issuer}: connection refused`, { issuer });
      }
      const refused = refusal(kind);
      if (refused) throw new BackendError('card_refused', `the card from ${issuer} was refused: ${refused.message}`, { reason: refused.reason, issuer });
    }
    // Store: the same card again is the same record (verified now, if its issuer is trusted now).
    const known = this.cards.get(kind);
    if (known && this.records.some((r) => r.view.id === known.record)) {
      if (trusted && known.check !== 'verified') {
        known.check = 'verified';
        known.keyId = hexId(`kid:${issuer}`).slice(0, 43);
        const rec = this.record(known.record);
        rec.view.detail = cardDetail(issuer, true);
      }
      return [{ ...known }];
    }
    const json = fhir(CARD_BUNDLE);
    const rec: MockRecord = {
      view: {
        id: hexId(`card:${kind}`), name: 'health card', category: 'health cards', title: 'Health card: Immunization',
        detail: cardDetail(issuer, trusted), date: '2025-02-01', resourceType: 'Bundle', size: json.length, version: 1,
      },
      json,
    };
    this.records.push(rec);
    const card: CardView = {
      record: rec.view.id, issuer, check: trusted ? 'verified' : 'not_verified', keyId: trusted ? hexId(`kid:${issuer}`).slice(0, 43) : null,
      issuedAt: MOCK_NOW - 41 * DAY, expiresAt: null, importedAt: MOCK_NOW, title: rec.view.title,
    };
    this.cards.set(kind, card);
    return [{ ...card }];
  }

  async listCards(): Promise<CardView[]> {
    await this.enter('listCards');
    // Erasing a card's record forgets the card.
    return [...this.cards.values()]
      .filter((c) => this.records.some((r) => r.view.id === c.record))
      .sort((a, b) => b.importedAt - a.importedAt)
      .map((c) => ({ ...c }));
  }

  async listIssuers(): Promise<IssuerView[]> {
    await this.enter('listIssuers');
    return this.issuers.map((i) => ({ ...i }));
  }

  async addIssuer(args: IssuerArgs): Promise<IssuerView> {
    await this.enter('addIssuer', args);
    // As the wallet: https, or http only to this machine; a trailing slash dropped; once.
    const url = args.url.trim().replace(/\/+$/, '');
    const local = /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(\/|$)/i.test(url);
    if (!(/^https:\/\/[^\s/?#]+(\/[^\s?#]*)?$/i.test(url) || local)) {
      throw new BackendError('bad_issuer', `not an issuer URL: ${url || '(empty)'} is not https://…`);
    }
    const existing = this.issuers.find((i) => i.url === url);
    if (existing) return { ...existing };
    const issuer = { url, addedAt: MOCK_NOW };
    this.issuers.push(issuer);
    return { ...issuer };
  }

  async removeIssuer(args: IssuerArgs): Promise<void> {
    await this.enter('removeIssuer', args);
    const url = args.url.trim().replace(/\/+$/, '');
    if (!this.issuers.some((i) => i.url === url)) throw new BackendError('not_found', `${url} is not a trusted issuer`);
    this.issuers = this.issuers.filter((i) => i.url !== url);
  }

  async patientSummary(): Promise<PatientSummaryView> {
    await this.enter('patientSummary');
    return this.summary();
  }

  async savePatientSummary(): Promise<RecordView> {
    await this.enter('savePatientSummary');
    const summary = this.summary();
    const entries = summary.sections.reduce((n, sec) => n + sec.entries.length, 0);
    const json = fhir({ resourceType: 'Bundle', type: 'document', timestamp: new Date(MOCK_NOW * 1000).toISOString() });
    const rec: MockRecord = {
      view: {
        id: hexId(`summary:${this.records.length}`), name: 'patient-summary-2025-03-14.json', category: 'documents',
        title: 'International Patient Summary', detail: `${entries} entries in ${summary.sections.length} sections`,
        date: new Date(MOCK_NOW * 1000).toISOString().replace(/\.\d+Z$/, 'Z'), resourceType: 'Bundle', size: json.length, version: 1,
      },
      json,
    };
    this.records.push(rec);
    return { ...rec.view };
  }

  async exportPatientSummary(args: PathArgs): Promise<number> {
    await this.enter('exportPatientSummary', args);
    const summary = this.summary();
    if (!args.path.trim()) throw new BackendError('bad_input', 'choose where to save the summary');
    if (args.path.includes('missing')) throw new BackendError('io', `writing ${args.path}: No such file or directory`);
    const json = JSON.stringify({ resourceType: 'Bundle', type: 'document', sections: summary.sections.map((sec) => sec.code) }, null, 2);
    this.files.set(this.absolute(args.path.trim()), json);
    return json.length;
  }

  async createLink(args: CreateLinkArgs): Promise<CreatedLinkView> {
    // As create_link and HealthLinks::draft: the same checks in the same order, the same codes.
    await this.enter('createLink', { ...args, passcode: args.passcode === null ? null : '[redacted]' });
    const label = args.label !== null && args.label.trim() !== '' ? args.label : null;
    const passcode = args.passcode !== null && args.passcode !== '' ? args.passcode : null;
    if (args.recordIds.length === 0 && !args.summary) throw new BackendError('empty_share', 'nothing to share: choose records or the patient summary');
    if (label !== null && [...label].length > MAX_LINK_LABEL) throw new BackendError('bad_label', `the label is longer than ${MAX_LINK_LABEL} characters`);
    if (args.expiresAt !== null && args.expiresAt <= MOCK_NOW) throw new BackendError('bad_expiry', 'the link must expire in the future');
    const attempts = args.attempts ?? DEFAULT_LINK_ATTEMPTS;
    if (passcode !== null && (passcode.length > 256 || attempts < 1 || attempts > MAX_LINK_ATTEMPTS)) {
      throw new BackendError('bad_passcode', `a passcode is 1 to 256 characters with 1 to ${MAX_LINK_ATTEMPTS} attempts`);
    }
    const node = this.nodes[0]?.url;
    if (node === undefined) throw new BackendError('no_link_node', 'a link is served by a ledger node: pin one first (carekey node add)');
    const chosen = args.recordIds.map((id) => this.record(id));
    const notFhir = chosen.find((r) => r.json === null);
    if (notFhir) throw new BackendError('not_a_health_record', `record ${notFhir.view.id} is not a FHIR record; links carry FHIR records only`);
    this.linkCounter += 1;
    const id = hexId(`link-new-${this.linkCounter}`).slice(0, 43);
    const view: HealthLinkView = {
      id, label, node, createdAt: MOCK_NOW, expiresAt: args.expiresAt, passcode: passcode !== null, longTerm: args.longTerm,
      recordCount: chosen.length, records: chosen.map((r) => r.view.id), summary: args.summary, state: 'active', endedAt: null, opens: 0, failedAttempts: 0,
    };
    const uri = mockShlink(id, node, args.expiresAt, passcode !== null, args.longTerm, label);
    this.links.push({ view, uri, attempts: passcode === null ? null : attempts });
    return { link: this.linkView(this.links[this.links.length - 1]), uri, qrSvg: placeholderQrSvg(uri, 41), passcode };
  }

  async listLinks(): Promise<HealthLinkView[]> {
    await this.enter('listLinks');
    return this.links.map((l) => this.linkView(l)).sort((a, b) => b.createdAt - a.createdAt || a.id.localeCompare(b.id));
  }

  async linkDetail(args: LinkIdArgs): Promise<HealthLinkDetailView> {
    await this.enter('linkDetail', args);
    const l = this.link(args.linkId);
    const view = this.linkView(l);
    const working = view.state === 'active';
    return {
      link: view,
      uri: working ? l.uri : null,
      qrSvg: working ? placeholderQrSvg(l.uri, 41) : null,
      opens: this.linkOpenLog.filter((o) => o.linkId === l.view.id).map((o) => ({ ...o })),
      now: MOCK_NOW,
    };
  }

  async linkOpens(): Promise<HealthLinkOpenView[]> {
    await this.enter('linkOpens');
    return this.linkOpenLog.map((o) => ({ ...o }));
  }

  async updateLink(args: LinkIdArgs): Promise<HealthLinkView> {
    await this.enter('updateLink', args);
    const l = this.link(args.linkId);
    if (l.view.endedAt !== null) throw new BackendError('link_ended', 'this link has ended');
    if (!l.view.longTerm) throw new BackendError('not_long_term', 'only a long-term link can be updated; make a new link instead');
    l.view.records = l.view.records.filter((id) => this.records.some((r) => r.view.id === id));
    l.view.recordCount = l.view.records.length;
    return this.linkView(l);
  }

  async endLink(args: LinkIdArgs): Promise<HealthLinkView> {
    await this.enter('endLink', args);
    const l = this.link(args.linkId);
    if (l.view.endedAt === null) l.view.endedAt = MOCK_NOW;
    return this.linkView(l);
  }

  /**
   * Tests: a clinic's viewer asks for a link (as the node would log it), then the background
   * check runs. `passcode` false: a wrong passcode.
   */
  simulateLinkOpen(recipient = 'Dr. Jonas Weber, Lakeside Clinic', passcode = true): void {
    const l = this.links.find((x) => this.linkView(x).state === 'active');
    if (l) {
      const failed = this.linkOpenLog.filter((o) => o.linkId === l.view.id && !o.opened).length + (passcode ? 0 : 1);
      this.linkOpenLog.unshift({
        linkId: l.view.id, label: l.view.label, recipient, opened: passcode,
        remainingAttempts: passcode || l.attempts === null ? null : Math.max(0, l.attempts - failed),
        at: MOCK_NOW - 30, node: l.view.node, index: 1044 + this.access.length + this.linkOpenLog.length,
      });
    }
    this.checkedAt = MOCK_NOW;
    const status = this.status();
    for (const listener of this.ledgerListeners) listener(status);
  }

  async onLedgerUpdate(listener: (status: LedgerStatusView) => void): Promise<Unsubscribe> {
    this.ledgerListeners.add(listener);
    return () => this.ledgerListeners.delete(listener);
  }

  /**
   * Tests: a provider reads records in the background (as a node would log it), then the
   * background check runs and emits `ledger-update`, as the app's timer does.
   */
  simulateBackgroundAccess(providerName = 'Dr. Anna Berg — Riverside Family Practice'): void {
    const g = this.grants.find((x) => x.providerName === providerName && x.status === 'active') ?? this.grants.find((x) => x.status === 'active');
    if (g) {
      this.access.push({
        servedAt: MOCK_NOW - 60, providerName: g.providerName, providerKey: g.providerKey, grantId: g.id, records: g.records.slice(0, 2),
        node: EMBEDDED_NODE, index: 1044 + this.access.length, verification: 'verified', independentlyChecked: true,
      });
    }
    if (!this.unlocked) this.newWhileLocked = true;
    this.checkedAt = MOCK_NOW;
    const status = this.status();
    for (const l of this.ledgerListeners) l(status);
  }

  async onImportProgress(listener: (progress: ImportProgress) => void): Promise<Unsubscribe> {
    this.progressListeners.add(listener);
    return () => this.progressListeners.delete(listener);
  }

  async onFileDrop(listener: (paths: string[]) => void): Promise<Unsubscribe> {
    this.dropListeners.add(listener);
    return () => this.dropListeners.delete(listener);
  }

  async chooseFiles(): Promise<string[] | null> {
    return null;
  }

  async chooseSavePath(): Promise<string | null> {
    return null;
  }

  async chooseFolder(): Promise<string | null> {
    return null;
  }

  pathsOfFiles(files: readonly File[]): string[] {
    return files.map((f) => f.name);
  }

  // ---- helpers ----

  /** The patient summary as the wallet makes it: the last Patient record, Bundles left out. */
  private summary(): PatientSummaryView {
    const fhirRecords = this.records.filter((r) => r.view.resourceType !== null);
    const patients = fhirRecords.filter((r) => r.view.resourceType === 'Patient');
    const patient = patients[patients.length - 1];
    if (!patient) throw new BackendError('no_patient_record', 'no record is a FHIR Patient resource: import one with your name and birth date first');
    const sections: SummarySectionView[] = [];
    let included = 0;
    for (const spec of SUMMARY_SECTIONS) {
      const entries = fhirRecords
        .filter((r) => r.view.resourceType !== null && spec.types.includes(r.view.resourceType))
        .map((r) => ({ resourceType: r.view.resourceType ?? '', title: r.view.title, detail: r.view.detail, date: r.view.date }));
      included += entries.length;
      if (entries.length === 0 && !spec.required) continue;
      sections.push({ title: spec.title, code: spec.code, entries, emptyReason: entries.length === 0 ? 'Unavailable' : null });
    }
    return {
      patientName: patient.view.title, patientDetail: patient.view.detail, madeAt: MOCK_NOW, sections, passesCheck: true, problems: [],
      included, leftOut: fhirRecords.length - included - 1,
    };
  }

  private vouched(providerName: string): boolean {
    return this.directories.length > 0 && /Berg|Riverside/.test(providerName);
  }

  private status(): LedgerStatusView {
    if (!this.unlocked) {
      return { locked: true, checkedAt: this.checkedAt, unseenAccesses: 0, expiringSoon: 0, problem: null, newWhileLocked: this.newWhileLocked };
    }
    this.newWhileLocked = false;
    const alarm = this.failures.has('alarm') || this.nodes.some((n) => n.evidence);
    const tampered = this.failures.has('tampered');
    const waiting = this.nodes.filter((n) => n.outboxPending > 0 || n.lastError).length;
    return {
      locked: false,
      checkedAt: this.checkedAt,
      unseenAccesses: Math.max(0, this.access.length - this.accessesSeen),
      expiringSoon: this.grants.filter((g) => g.status === 'active' && g.notAfter > MOCK_NOW && g.notAfter - MOCK_NOW <= 3 * DAY).length,
      problem: alarm ? { kind: 'alarm', nodes: 1 } : tampered ? { kind: 'unverified', nodes: 1 } : waiting ? { kind: 'unreachable', nodes: waiting } : null,
      newWhileLocked: false,
    };
  }

  private backupState() {
    const times = [...this.backupTimes.entries()].sort((a, b) => b[1] - a[1]);
    const last = times[0];
    const lastAt = last ? last[1] : null;
    const every = (this.schedule?.everyDays ?? 30) * DAY;
    return {
      lastAt,
      lastPlace: last ? last[0].replace(/[\\/][^\\/]*$/, '') || '/' : null,
      schedule: this.schedule ? { ...this.schedule } : null,
      due: lastAt === null || MOCK_NOW - lastAt >= every,
      sharePending: this.failures.has('unreachable') && this.backups.length > 0,
    };
  }

  /** A ledger write the unreachable node did not take: it waits in the outbox. */
  private queueForUnreachable(): void {
    const node = this.nodes.find((n) => n.url === UNREACHABLE_NODE);
    if (!node) return;
    node.outboxPending += 1;
    this.outboxPending += 1;
  }

  private seedNodes(previous?: NodeView[]): NodeView[] {
    const nodes: NodeView[] = previous?.filter((n) => n.url !== UNREACHABLE_NODE && n.url !== EMBEDDED_NODE) ?? [];
    const alarm = this.failures.has('alarm');
    nodes.unshift({
      url: EMBEDDED_NODE, logKey: 'carekey.local/log+8c1a2f3e+AQm7qJ2Xh4kQ0wTfQd1N3xJx4j1b5c8d9e0f1a2b3c4d5e6f',
      witnessKeys: ['carekey.local/witness+51d0e2aa+AV2b8kq0yq7mP3r9s1t2u3v4w5x6y7z8a9b0c1d2e3f4g5h'], quorum: 1,
      verifiedSize: alarm ? 1041 : 1042, evidence: alarm, outboxPending: 0, lastError: null,
    });
    if (this.failures.has('unreachable')) {
      nodes.push({
        url: UNREACHABLE_NODE, logKey: 'ledger.northcare.example+0b7e4c11+AT3k9xq2m8n7b6v5c4x3z2l1k0j9h8g7f6d5s4a3p2o1i0u',
        witnessKeys: [], quorum: 0, verifiedSize: 977, evidence: false,
        outboxPending: this.outboxPending, lastError: 'node unreachable: connection refused',
      });
    }
    return nodes;
  }

  private receipt(subject: string, destroyed: string[]): ReceiptView {
    const limits = [
      'Copies a provider already downloaded and decrypted are out of reach.',
      'Files you exported by hand are not erased; a backup copied by hand stops opening once the ledger nodes delete its key share.',
      'The ledger keeps the erasure entry itself (no personal data, no key material) forever.',
    ];
    const ledgerNodes = this.failures.has('unreachable') ? [EMBEDDED_NODE] : this.nodes.map((n) => n.url);
    if (this.failures.has('unreachable')) this.queueForUnreachable();
    const body = {
      format: 'carekey-erasure-receipt/v1', subject, erasedAt: MOCK_NOW, patientKey: hexId('patient-sign'),
      tombstone: `${hexId(`tomb:${subject}`)}${hexId(`tomb2:${subject}`)}`, destroyed, limits,
      ledger: ledgerNodes.map((node, i) => ({ node, index: 1043 + i, receipt: `${node}\n1044\n${hexId(`root:${node}`)}` })),
      ledgerPending: this.failures.has('unreachable') ? 1 : 0,
    };
    const pending = this.failures.has('unreachable')
      ? this.nodes.map((n) => `${n.url}: 1 ledger write(s) still queued (connection refused); retried on every sync`)
      : [];
    return { subject, erasedAt: MOCK_NOW, destroyed, pending, limits, ledgerNodes, json: JSON.stringify(body, null, 2) };
  }

  private record(id: string): MockRecord {
    const rec = this.records.find((r) => r.view.id === id);
    if (!rec) throw new BackendError('not_found', `no record ${id}`);
    return rec;
  }

  private link(id: string): MockLink {
    const matches = this.links.filter((l) => id !== '' && l.view.id.startsWith(id));
    if (matches.length === 0) throw new BackendError('not_found', `no link matches "${id}"`);
    if (matches.length > 1) throw new BackendError('ambiguous', `"${id}" matches more than one link`);
    return matches[0];
  }

  /** The link as the wallet shows it at the mock's "now": opens counted, state worked out. */
  private linkView(l: MockLink): HealthLinkView {
    const mine = this.linkOpenLog.filter((o) => o.linkId === l.view.id);
    const state = l.view.endedAt !== null ? 'ended' : l.view.expiresAt !== null && MOCK_NOW >= l.view.expiresAt ? 'expired' : 'active';
    return {
      ...l.view, records: [...l.view.records], state,
      opens: mine.filter((o) => o.opened).length, failedAttempts: mine.filter((o) => !o.opened).length,
    };
  }

  private grant(id: string): GrantView {
    const grant = this.grants.find((g) => g.id === id);
    if (!grant) throw new BackendError('not_found', `no grant ${id}`);
    return grant;
  }

  private absolute(path: string): string {
    return path.startsWith('/') ? path : `/home/patient/${path}`;
  }

  private emitProgress(p: ImportProgress): void {
    for (const l of this.progressListeners) l(p);
  }

  private sleep(ms: number): Promise<void> {
    return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
  }

  private async enter(method: string, args?: unknown, need: { needsWallet?: boolean; needsUnlock?: boolean } = {}): Promise<void> {
    this.calls.push({ method, args });
    await this.sleep(this.latencyMs);
    const failure = this.nextFailure.get(method);
    if (failure) {
      this.nextFailure.delete(method);
      throw failure;
    }
    if ((need.needsWallet ?? true) && !this.walletExists) throw new BackendError('no_wallet', 'no wallet on this device');
    if ((need.needsUnlock ?? true) && !this.unlocked) throw new BackendError('locked', 'the wallet is locked');
  }
}
