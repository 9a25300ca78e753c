/**
 * How dates, durations, sizes, keys and FHIR categories read in the app. Pure functions of their
 * arguments and the current language (`locale()`); the words come from the catalogue.
 *
 * Times are shown in the patient's LOCAL time zone. Every function that turns an instant into
 * words takes an optional `timeZone` (an IANA name) so tests can pin one; leave it out in screens.
 */
import type { RecordView } from '../bindings/RecordView';
import { locale, t } from '../i18n';

const DAY = 86400;

/** "14 Mar 2025" in the local time zone. */
export function formatDate(unixSecs: number, timeZone?: string): string {
  return new Intl.DateTimeFormat(locale(), { day: 'numeric', month: 'short', year: 'numeric', timeZone }).format(unixSecs * 1000);
}

/** "14 Mar 2025, 09:30" in the local time zone ("… UTC" when UTC is asked for explicitly). */
export function formatDateTime(unixSecs: number, timeZone?: string): string {
  const d = new Intl.DateTimeFormat(locale(), {
    day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', hour12: false, timeZone,
  }).format(unixSecs * 1000);
  return timeZone === 'UTC' ? `${d} UTC` : d;
}

/** "09:30" (24-hour clock) in the local time zone. */
export function formatTime(unixSecs: number, timeZone?: string): string {
  return new Intl.DateTimeFormat(locale(), { hour: '2-digit', minute: '2-digit', hour12: false, timeZone }).format(unixSecs * 1000);
}

/** FHIR date strings ("2025-02-18", "2025-02", "2025-02-18T10:00:00Z") as "18 Feb 2025". */
export function formatClinicalDate(date: string | null): string {
  if (!date) return '';
  const m = /^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?/.exec(date);
  if (!m) return date;
  const [, y, mo, d] = m;
  if (!mo) return y;
  const at = Date.UTC(Number(y), Number(mo) - 1, d ? Number(d) : 1);
  return new Intl.DateTimeFormat(locale(), d
    ? { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' }
    : { month: 'short', year: 'numeric', timeZone: 'UTC' }).format(at);
}

const UNITS: [number, string][] = [
  [365 * DAY, 'year'], [30 * DAY, 'month'], [7 * DAY, 'week'], [DAY, 'day'], [3600, 'hour'], [60, 'minute'], [1, 'second'],
];

/** "30 days", "1 hour", "2 weeks", "1 day 6 hours": the largest unit that divides, then one more. */
export function formatDuration(secs: number): string {
  if (!Number.isFinite(secs) || secs <= 0) return t('common.unit.second', { n: 0 });
  const parts: string[] = [];
  let rest = Math.round(secs);
  for (const [size, name] of UNITS) {
    if (parts.length === 2) break;
    // Months and weeks only when exact: "30 days" reads better than "1 month" for a grant.
    if ((name === 'month' || name === 'week') && rest % size !== 0) continue;
    if (name === 'month' && rest % (365 * DAY) !== 0 && rest < 365 * DAY) continue;
    const n = Math.floor(rest / size);
    if (n > 0) {
      parts.push(t(`common.unit.${name}`, { n }));
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
  if (abs < 60) return t(delta >= 0 ? 'common.time.inLessThanMinute' : 'common.time.lessThanMinuteAgo');
  const [unit, size]: [Intl.RelativeTimeFormatUnit, number] = abs >= DAY ? ['day', DAY] : abs >= 3600 ? ['hour', 3600] : ['minute', 60];
  const n = Math.round(abs / size);
  return new Intl.RelativeTimeFormat(locale(), { numeric: 'always' }).format(delta >= 0 ? n : -n, unit);
}

/** The calendar day of an instant in a time zone, as a day count (for "today", "yesterday"). */
export function dayNumber(unixSecs: number, timeZone?: string): number {
  const parts = new Intl.DateTimeFormat('en-US', { year: 'numeric', month: 'numeric', day: 'numeric', timeZone }).formatToParts(unixSecs * 1000);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  return Math.round(Date.UTC(get('year'), get('month') - 1, get('day')) / (DAY * 1000));
}

/**
 * How long until a grant ends: "23 days left", "ends tomorrow at 09:00", "ends today at 17:08",
 * "ended". Counted in calendar days of the local time zone.
 */
export function timeLeft(notAfter: number, now: number, timeZone?: string): string {
  if (notAfter <= now) return t('common.time.ended');
  const days = dayNumber(notAfter, timeZone) - dayNumber(now, timeZone);
  const time = formatTime(notAfter, timeZone);
  if (days <= 0) return t('common.time.endsTodayAt', { time });
  if (days === 1) return t('common.time.endsTomorrowAt', { time });
  return t('common.time.daysLeft', { n: days });
}

/** When something happened: "just now", "2 min ago", "3 hours ago", "yesterday", "12 days ago", "on 14 Mar 2025". */
export function agoPhrase(at: number, now: number, timeZone?: string): string {
  const secs = now - at;
  if (secs < 60) return t('common.time.justNow');
  if (secs < 3600) return t('common.time.minutesAgo', { n: Math.floor(secs / 60) });
  const days = dayNumber(now, timeZone) - dayNumber(at, timeZone);
  if (days <= 0) return t('common.time.hoursAgo', { n: Math.floor(secs / 3600) });
  if (days === 1) return t('common.time.yesterday');
  if (days < 60) return t('common.time.daysAgo', { n: days });
  return t('common.time.onDate', { date: formatDate(at, timeZone) });
}

/** A deadline, as a sentence: "Respond by 17:08 today.", "Respond by 09:00 tomorrow.", "Respond by 20 Mar 2025, 09:00." */
export function dueBy(at: number, now: number, timeZone?: string): string {
  if (at <= now) return t('common.time.respondPassed');
  const days = dayNumber(at, timeZone) - dayNumber(now, timeZone);
  const time = formatTime(at, timeZone);
  if (days <= 0) return t('common.time.respondByToday', { time });
  if (days === 1) return t('common.time.respondByTomorrow', { time });
  return t('common.time.respondByDate', { date: formatDateTime(at, timeZone) });
}

/** A heading for a day of events: "Today", "Yesterday", "Wednesday 12 March 2025". */
export function dayHeading(at: number, now: number, timeZone?: string): string {
  const days = dayNumber(now, timeZone) - dayNumber(at, timeZone);
  if (days === 0) return t('common.day.today');
  if (days === 1) return t('common.day.yesterday');
  return new Intl.DateTimeFormat(locale(), { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric', timeZone }).format(at * 1000);
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
  return `${value >= 100 ? Math.round(value) : new Intl.NumberFormat(locale(), { minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(value)} ${units[unit]}`;
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

const CATEGORY_IDS = ['allergies', 'medications', 'conditions', 'observations', 'immunizations', 'procedures', 'documents', 'patient', 'other', 'file'];

function category(id: string): Category {
  return {
    id,
    // Read from the catalogue each time, so a language change shows at once.
    get label() { return t(`common.category.${id}`); },
    get description() { return CATEGORY_IDS.includes(id) ? t(`common.category.${id}.description`) : ''; },
  };
}

/** The wallet's categories, in the order a clinician reads a patient summary. */
export const CATEGORIES: Category[] = CATEGORY_IDS.map(category);

export function categoryLabel(id: string): string {
  return CATEGORY_IDS.includes(id) ? t(`common.category.${id}`) : (id ? id[0].toUpperCase() + id.slice(1) : t('common.category.other'));
}

/** Records grouped by category, categories in clinical order, records newest first within each. */
export function groupByCategory(records: readonly RecordView[]): { category: Category; records: RecordView[] }[] {
  const known = new Map(CATEGORY_IDS.map((c, i) => [c, i]));
  const groups = new Map<string, RecordView[]>();
  for (const r of records) {
    const list = groups.get(r.category) ?? [];
    list.push(r);
    groups.set(r.category, list);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => (known.get(a) ?? 99) - (known.get(b) ?? 99) || a.localeCompare(b))
    .map(([id, list]) => ({
      category: known.has(id) ? CATEGORIES[known.get(id)!] : { id, label: categoryLabel(id), description: '' },
      records: [...list].sort((x, y) => (y.date ?? '').localeCompare(x.date ?? '') || x.title.localeCompare(y.title)),
    }));
}

const RESOURCE_TYPES = [
  'AllergyIntolerance', 'MedicationStatement', 'MedicationRequest', 'Medication', 'Condition', 'Observation', 'Immunization',
  'Procedure', 'DocumentReference', 'DiagnosticReport', 'Patient', 'Encounter', 'CarePlan',
];

/** "AllergyIntolerance" → "Allergies & intolerances"; unknown types are split into words. */
export function resourceTypeLabel(type: string): string {
  return RESOURCE_TYPES.includes(type) ? t(`common.resourceType.${type}`) : type.replace(/([a-z])([A-Z])/g, '$1 $2');
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

const GRANT_STATUSES = ['active', 'expired', 'ending', 'revoked', 'erased'];

export function grantStatusLabel(status: string): string {
  return GRANT_STATUSES.includes(status) ? t(`common.grantStatus.${status}`) : status;
}
