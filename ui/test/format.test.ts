import { describe, expect, it } from 'vitest';
import type { RecordView } from '../src/bindings/RecordView';
import {
  accessSeverity, categoryLabel, formatBytes, formatClinicalDate, formatDate, formatDateTime, formatDuration, formatRelative,
  groupByCategory, grantStatusLabel, groupedKey, requestSeverity, resourceTypeLabel, shortKey,
} from '../src/lib/format';

const T = 1741944600; // 2025-03-14 09:30 UTC

describe('dates', () => {
  it('formats unix seconds in UTC', () => {
    expect(formatDate(T)).toBe('14 Mar 2025');
    expect(formatDateTime(T)).toBe('14 Mar 2025, 09:30 UTC');
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
    expect(['active', 'expired', 'revoked', 'erased', 'odd'].map(grantStatusLabel)).toEqual(['Active', 'Expired', 'Revoked', 'Erased', 'odd']);
  });
});
