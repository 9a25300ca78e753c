/** How dates, durations, sizes, keys and FHIR categories read in the app. Pure functions. */
import type { RecordView } from '../bindings/RecordView';
import { locale } from '../i18n';

const LOCALE = 'en-GB';

/** "14 Mar 2025" (UTC by default so every machine shows the same day for the same instant). */
export function formatDate(unixSecs: number, timeZone = 'UTC'): string {
  return new Intl.DateTimeFormat(LOCALE, { day: 'numeric', month: 'short', year: 'numeric', timeZone }).format(unixSecs * 1000);
}

/** "14 Mar 2025, 09:30 UTC". */
export function formatDateTime(unixSecs: number, timeZone = 'UTC'): string {
  const d = new Intl.DateTimeFormat(LOCALE, {
    day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', hour12: false, timeZone,
  }).format(unixSecs * 1000);
  return timeZone === 'UTC' ? `${d} UTC` : d;
}

/** FHIR date strings ("2025-02-18", "2025-02", "2025-02-18T10:00:00Z") as "18 Feb 2025". */
export function formatClinicalDate(date: string | null): string {
  if (!date) return '';
  const m = /^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?/.exec(date);
  if (!m) return date;
  const [, y, mo, d] = m;
  if (!mo) return y;
  const month = new Intl.DateTimeFormat(LOCALE, { month: 'short', timeZone: 'UTC' }).format(Date.UTC(Number(y), Number(mo) - 1, 1));
  return d ? `${Number(d)} ${month} ${y}` : `${month} ${y}`;
}

const UNITS: [number, string][] = [
  [365 * 86400, 'year'], [30 * 86400, 'month'], [7 * 86400, 'week'], [86400, 'day'], [3600, 'hour'], [60, 'minute'], [1, 'second'],
];

/** "30 days", "1 hour", "2 weeks", "1 day 6 hours": the largest unit that divides, then one more. */
export function formatDuration(secs: number): string {
  if (!Number.isFinite(secs) || secs <= 0) return '0 seconds';
  const parts: string[] = [];
  let rest = Math.round(secs);
  for (const [size, name] of UNITS) {
    if (parts.length === 2) break;
    // Months and weeks only when exact: "30 days" reads better than "1 month" for a grant.
    if ((name === 'month' || name === 'week') && rest % size !== 0) continue;
    if (name === 'month' && rest % (365 * 86400) !== 0 && rest < 365 * 86400) continue;
    const n = Math.floor(rest / size);
    if (n > 0) {
      parts.push(`${n} ${name}${n === 1 ? '' : 's'}`);
      rest -= n * size;
    } else if (parts.length > 0) {
      break;
    }
  }
  return parts.join(' ');
}

/** "in 25 days" / "3 days ago", relative to `now` (unix seconds). */
export function formatRelative(unixSecs: number, now: number): string {
  const delta = unixSecs - now;
  const abs = Math.abs(delta);
  const text = abs < 60 ? 'less than a minute' : formatDuration(abs >= 86400 ? Math.round(abs / 86400) * 86400 : abs >= 3600 ? Math.round(abs / 3600) * 3600 : Math.round(abs / 60) * 60);
  return delta >= 0 ? `in ${text}` : `${text} ago`;
}

/** "184 KB", "46.0 MB" (decimal units, as file managers show). */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = -1;
  do {
    value /= 1000;
    unit++;
  } while (value >= 1000 && unit < units.length - 1);
  return `${value >= 100 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

/** "3f2a9c…e81b": enough of a key to compare by eye. */
export function shortKey(hex: string, head = 6, tail = 4): string {
  return hex.length <= head + tail + 1 ? hex : `${hex.slice(0, head)}…${hex.slice(-tail)}`;
}

/** "3f2a 9c1d 77e0 …": a key in groups of four, for reading aloud. */
export function groupedKey(hex: string): string {
  return hex.replace(/(.{4})(?=.)/g, '$1 ');
}

export interface Category { id: string; label: string; description: string }

/** The wallet's categories, in the order a clinician reads a patient summary. */
export const CATEGORIES: Category[] = [
  { id: 'allergies', label: 'Allergies & intolerances', description: 'What you react to' },
  { id: 'medications', label: 'Medications', description: 'What you take' },
  { id: 'conditions', label: 'Conditions', description: 'Diagnoses and problems' },
  { id: 'observations', label: 'Results & measurements', description: 'Lab values, vital signs' },
  { id: 'immunizations', label: 'Immunizations', description: 'Vaccines' },
  { id: 'procedures', label: 'Procedures', description: 'Operations and treatments' },
  { id: 'documents', label: 'Documents', description: 'Letters, reports, PDFs' },
  { id: 'patient', label: 'About you', description: 'Demographics' },
  { id: 'other', label: 'Other FHIR resources', description: '' },
  { id: 'file', label: 'Files', description: 'Images and other files' },
];

export function categoryLabel(id: string): string {
  return CATEGORIES.find((c) => c.id === id)?.label ?? (id ? id[0].toUpperCase() + id.slice(1) : 'Other');
}

/** Records grouped by category, categories in clinical order, records newest first within each. */
export function groupByCategory(records: readonly RecordView[]): { category: Category; records: RecordView[] }[] {
  const known = new Map(CATEGORIES.map((c, i) => [c.id, i]));
  const groups = new Map<string, RecordView[]>();
  for (const r of records) {
    const list = groups.get(r.category) ?? [];
    list.push(r);
    groups.set(r.category, list);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => (known.get(a) ?? 99) - (known.get(b) ?? 99) || a.localeCompare(b))
    .map(([id, list]) => ({
      category: CATEGORIES.find((c) => c.id === id) ?? { id, label: categoryLabel(id), description: '' },
      records: [...list].sort((x, y) => (y.date ?? '').localeCompare(x.date ?? '') || x.title.localeCompare(y.title)),
    }));
}

const RESOURCE_TYPES: Record<string, string> = {
  AllergyIntolerance: 'Allergies & intolerances',
  MedicationStatement: 'Medications (statements)',
  MedicationRequest: 'Prescriptions',
  Medication: 'Medications',
  Condition: 'Conditions',
  Observation: 'Results & measurements',
  Immunization: 'Immunizations',
  Procedure: 'Procedures',
  DocumentReference: 'Documents',
  DiagnosticReport: 'Diagnostic reports',
  Patient: 'About you',
  Encounter: 'Visits',
  CarePlan: 'Care plans',
};

/** "AllergyIntolerance" → "Allergies & intolerances"; unknown types are split into words. */
export function resourceTypeLabel(type: string): string {
  return RESOURCE_TYPES[type] ?? type.replace(/([a-z])([A-Z])/g, '$1 $2');
}

export type Severity = 'ok' | 'warning' | 'alarm';

/** How loudly to show an access event's verification string. */
export function accessSeverity(verification: string): Severity {
  if (verification === 'verified') return 'ok';
  if (/^forged/i.test(verification) || /split|rollback|tamper/i.test(verification)) return 'alarm';
  return 'warning';
}

/** How loudly to show a provider verification state of a request. */
export function requestSeverity(state: string): Severity {
  if (state === 'verified') return 'ok';
  if (state === 'name_mismatch') return 'alarm';
  return 'warning';
}

export function grantStatusLabel(status: string): string {
  return ({ active: 'Active', expired: 'Expired', ending: 'Ending', revoked: 'Revoked', erased: 'Erased' } as Record<string, string>)[status] ?? status;
}

// ---- Appended for the records, share and receipt screens (local time, the patient's language) ----

/** "14 March 2025 at 10:40" in the patient's language and time zone. */
export function formatLocalDateTime(unixSecs: number): string {
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'long', timeStyle: 'short' }).format(unixSecs * 1000);
}

/** "14 March 2025" in the patient's language and time zone. */
export function formatLocalDate(unixSecs: number): string {
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'long' }).format(unixSecs * 1000);
}

/**
 * A deadline as the parts of "by 17:08 today": the local time, and whether that is today,
 * tomorrow or another day (then `date`, e.g. "Sat 15 Mar").
 */
export function deadlineParts(unixSecs: number, nowSecs: number): { day: 'today' | 'tomorrow' | 'other'; time: string; date: string } {
  const key = (secs: number) => new Intl.DateTimeFormat('en-CA', { year: 'numeric', month: '2-digit', day: '2-digit' }).format(secs * 1000);
  const day = key(unixSecs) === key(nowSecs) ? 'today' : key(unixSecs) === key(nowSecs + 86400) ? 'tomorrow' : 'other';
  return {
    day,
    time: new Intl.DateTimeFormat(locale(), { hour: '2-digit', minute: '2-digit' }).format(unixSecs * 1000),
    date: new Intl.DateTimeFormat(locale(), { weekday: 'short', day: 'numeric', month: 'short' }).format(unixSecs * 1000),
  };
}

const SPAN_UNITS: [number, 'year' | 'month' | 'week' | 'day' | 'hour' | 'minute'][] = [
  [365 * 86400, 'year'], [30 * 86400, 'month'], [7 * 86400, 'week'], [86400, 'day'], [3600, 'hour'], [60, 'minute'],
];

/** "30 days", "2 weeks", "1 year" ("30 Tage" …) in the patient's language: like `formatDuration`. */
export function formatSpan(secs: number): string {
  const unit = (n: number, u: string) => new Intl.NumberFormat(locale(), { style: 'unit', unit: u, unitDisplay: 'long' }).format(n);
  if (!Number.isFinite(secs) || secs < 60) return unit(Math.max(0, Math.round(secs / 60)), 'minute');
  const parts: string[] = [];
  let rest = Math.round(secs);
  for (const [size, name] of SPAN_UNITS) {
    if (parts.length === 2) break;
    if ((name === 'month' || name === 'week') && rest % size !== 0) continue;
    if (name === 'month' && rest % (365 * 86400) !== 0 && rest < 365 * 86400) continue;
    const n = Math.floor(rest / size);
    if (n > 0) {
      parts.push(unit(n, name));
      rest -= n * size;
    } else if (parts.length > 0) {
      break;
    }
  }
  return new Intl.ListFormat(locale(), { style: 'long', type: 'unit' }).format(parts);
}
