import { describe, expect, it } from 'vitest';
import type { RecordView } from '../src/bindings/RecordView';
import { afterEach, beforeEach } from 'vitest';
import { setLanguage } from '../src/i18n';
import {
  accessSeverity, agoPhrase, categoryLabel, CATEGORIES, dayHeading, dueBy, formatBytes, formatClinicalDate, formatDate, formatDateTime,
  formatDuration, formatRelative, formatTime, groupByCategory, grantStatusLabel, groupedKey, requestSeverity, resourceTypeLabel, shortKey,
  timeLeft,
} from '../src/lib/format';

const T = 1741944600; // 2025-03-14 09:30 UTC (a Friday)
const H = 3600;
const D = 86400;
// Tests pin a time zone so they read the same on every machine; screens leave it out (local time).
const BERLIN = 'Europe/Berlin'; // UTC+1 in March 2025
const NY = 'America/New_York'; // UTC-4 after 9 March 2025

beforeEach(() => setLanguage('en'));
afterEach(() => setLanguage('en'));

describe('dates', () => {
  it('formats unix seconds in the time zone asked for', () => {
    expect(formatDate(T, 'UTC')).toBe('14 Mar 2025');
    expect(formatDateTime(T, 'UTC')).toBe('14 Mar 2025, 09:30 UTC');
    expect(formatDateTime(T, BERLIN)).toBe('14 Mar 2025, 10:30');
    expect(formatTime(T, NY)).toBe('05:30');
    // Late evening in New York is already the next day in Berlin.
    expect(formatDate(T + 14 * H, NY)).toBe('14 Mar 2025');
    expect(formatDate(T + 14 * H, BERLIN)).toBe('15 Mar 2025');
  });
  it('uses the local time zone when none is given', () => {
    const local = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', hour12: false }).format(T * 1000);
    expect(formatTime(T)).toBe(local);
    expect(formatDateTime(T)).not.toMatch(/UTC/);
  });
  it('speaks German in German', () => {
    setLanguage('de');
    expect(formatDate(T, 'UTC')).toBe('14. März 2025');
    expect(formatClinicalDate('2025-02-18')).toBe('18. Feb. 2025');
  });
  it('formats FHIR dates of every precision', () => {
    expect(formatClinicalDate('2025-02-18')).toBe('18 Feb 2025');
    expect(formatClinicalDate('2025-02-18T10:00:00Z')).toBe('18 Feb 2025');
    expect(formatClinicalDate('2025-02')).toBe('Feb 2025');
    expect(formatClinicalDate('2025')).toBe('2025');
    expect(formatClinicalDate(null)).toBe('');
    expect(formatClinicalDate('yesterday')).toBe('yesterday');
  });
});

describe('durations', () => {
  it.each([
    [3600, '1 hour'], [86400, '1 day'], [30 * 86400, '30 days'], [7 * 86400, '1 week'], [14 * 86400, '2 weeks'],
    [365 * 86400, '1 year'], [90 * 86400, '90 days'], [86400 + 6 * 3600, '1 day 6 hours'], [90, '1 minute 30 seconds'],
    [0, '0 seconds'], [-5, '0 seconds'],
  ])('%i s → %s', (secs, text) => {
    expect(formatDuration(secs)).toBe(text);
  });
  it('says relative times both ways', () => {
    expect(formatRelative(T + 25 * 86400, T)).toBe('in 25 days');
    expect(formatRelative(T - 3 * 3600, T)).toBe('3 hours ago');
    expect(formatRelative(T + 10, T)).toBe('in less than a minute');
  });
  it('says durations and relative times in German', () => {
    setLanguage('de');
    expect(formatDuration(30 * D)).toBe('30 Tage');
    expect(formatDuration(D + 6 * H)).toBe('1 Tag 6 Stunden');
    expect(formatRelative(T + 25 * D, T)).toBe('in 25 Tagen');
    expect(formatRelative(T - 3 * H, T)).toBe('vor 3 Stunden');
  });
});

describe('relative phrases', () => {
  it('time left on a grant, in calendar days of the time zone', () => {
    expect(timeLeft(T + 23 * D, T, 'UTC')).toBe('23 days left');
    expect(timeLeft(T + 7 * H + 38 * 60, T, 'UTC')).toBe('ends today at 17:08');
    expect(timeLeft(T + 20 * H, T, 'UTC')).toBe('ends tomorrow at 05:30');
    expect(timeLeft(T + 2 * D, T, 'UTC')).toBe('2 days left');
    expect(timeLeft(T, T, 'UTC')).toBe('ended');
    expect(timeLeft(T - D, T, 'UTC')).toBe('ended');
    // 14:30 UTC is still "today" in New York but the evening of the same day in Berlin too;
    // 23:30 UTC is tomorrow in Berlin, today in New York.
    expect(timeLeft(T + 14 * H, T, BERLIN)).toBe('ends tomorrow at 00:30');
    expect(timeLeft(T + 14 * H, T, NY)).toBe('ends today at 19:30');
  });
  it('how long ago', () => {
    expect(agoPhrase(T - 20, T, 'UTC')).toBe('just now');
    expect(agoPhrase(T - 2 * 60, T, 'UTC')).toBe('2 min ago');
    expect(agoPhrase(T - 3 * H, T, 'UTC')).toBe('3 hours ago');
    expect(agoPhrase(T - 12 * H, T, 'UTC')).toBe('yesterday');
    expect(agoPhrase(T - 12 * H, T, BERLIN)).toBe('yesterday');
    expect(agoPhrase(T - 12 * H, T, 'Asia/Tokyo')).toBe('12 hours ago');
    expect(agoPhrase(T - 12 * D, T, 'UTC')).toBe('12 days ago');
    expect(agoPhrase(T - 400 * D, T, 'UTC')).toBe('on 8 Feb 2024');
  });
  it('deadlines', () => {
    expect(dueBy(T + 7 * H + 38 * 60, T, 'UTC')).toBe('Respond by 17:08 today.');
    expect(dueBy(T + D, T, 'UTC')).toBe('Respond by 09:30 tomorrow.');
    expect(dueBy(T + 3 * D, T, 'UTC')).toBe('Respond by 17 Mar 2025, 09:30 UTC.');
    expect(dueBy(T - 1, T, 'UTC')).toBe('The time to respond has passed.');
  });
  it('day headings', () => {
    expect(dayHeading(T - H, T, 'UTC')).toBe('Today');
    expect(dayHeading(T - 10 * H, T, 'UTC')).toBe('Yesterday');
    expect(dayHeading(T - 3 * D, T, 'UTC')).toBe('Tuesday, 11 March 2025');
  });
  it('in German', () => {
    setLanguage('de');
    expect(timeLeft(T + 23 * D, T, 'UTC')).toBe('noch 23 Tage');
    expect(timeLeft(T + 7 * H + 38 * 60, T, 'UTC')).toBe('endet heute um 17:08 Uhr');
    expect(agoPhrase(T - 2 * 60, T, 'UTC')).toBe('vor 2 Min.');
    expect(agoPhrase(T - 12 * H, T, 'UTC')).toBe('gestern');
    expect(agoPhrase(T - 12 * D, T, 'UTC')).toBe('vor 12 Tagen');
    expect(dueBy(T + 7 * H + 38 * 60, T, 'UTC')).toBe('Bitte antworten Sie bis heute, 17:08 Uhr.');
    expect(dayHeading(T - 10 * H, T, 'UTC')).toBe('Gestern');
  });
});

describe('sizes and keys', () => {
  it('formats bytes in decimal units', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(184_320)).toBe('184 KB');
    expect(formatBytes(48_234_112)).toBe('48.2 MB');
    expect(formatBytes(2_500_000_000)).toBe('2.5 GB');
  });
  it('shortens and groups keys', () => {
    expect(shortKey('0123456789abcdef0123')).toBe('012345…0123');
    expect(shortKey('abcd')).toBe('abcd');
    expect(groupedKey('0123456789ab')).toBe('0123 4567 89ab');
  });
});

describe('FHIR categories', () => {
  const rec = (id: string, category: string, date: string | null, title = id): RecordView => ({
    id, name: 'x.json', category, title, detail: null, date, resourceType: null, size: 1, version: 1,
  });
  it('labels categories and resource types in human terms', () => {
    expect(categoryLabel('allergies')).toBe('Allergies & intolerances');
    expect(categoryLabel('observations')).toBe('Results & measurements');
    expect(categoryLabel('genomics')).toBe('Genomics');
    expect(resourceTypeLabel('AllergyIntolerance')).toBe('Allergies & intolerances');
    expect(resourceTypeLabel('FamilyMemberHistory')).toBe('Family Member History');
  });
  it('follows the language, also for the category list', () => {
    setLanguage('de');
    expect(categoryLabel('allergies')).toBe('Allergien & Unverträglichkeiten');
    expect(CATEGORIES[0].label).toBe('Allergien & Unverträglichkeiten');
    expect(resourceTypeLabel('Observation')).toBe('Befunde & Messwerte');
    setLanguage('en');
    expect(CATEGORIES[0].label).toBe('Allergies & intolerances');
  });
  it('groups in clinical order, newest first within a group', () => {
    const groups = groupByCategory([
      rec('a', 'observations', '2024-01-01'), rec('b', 'file', null), rec('c', 'allergies', '2019-06-02'),
      rec('d', 'observations', '2025-02-18'), rec('e', 'genomics', null), rec('f', 'medications', '2023-02-10'),
    ]);
    expect(groups.map((g) => g.category.id)).toEqual(['allergies', 'medications', 'observations', 'file', 'genomics']);
    expect(groups[2].records.map((r) => r.id)).toEqual(['d', 'a']);
  });
});

describe('severity', () => {
  it('makes forged access events an alarm', () => {
    expect(accessSeverity('verified')).toBe('ok');
    expect(accessSeverity("FORGED: the request inside is not signed by the grant's provider")).toBe('alarm');
    expect(accessSeverity('no signed request inside (older node)')).toBe('warning');
  });
  it('grades provider verification', () => {
    expect(requestSeverity('verified')).toBe('ok');
    expect(requestSeverity('name_mismatch')).toBe('alarm');
    expect(requestSeverity('unlisted')).toBe('warning');
    expect(requestSeverity('no_directory')).toBe('warning');
  });
  it('labels grant statuses', () => {
    expect(['active', 'expired', 'revoked', 'erased', 'odd'].map(grantStatusLabel)).toEqual(['Active', 'Expired', 'Stopped', 'Deleted', 'odd']);
  });
});
