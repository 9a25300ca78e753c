import { describe, expect, it } from 'vitest';
import { LANGUAGES, catalogue, keys, setLanguage, t } from '../src/i18n';

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('the catalogues', () => {
  const en = catalogue('en');
  for (const { id } of LANGUAGES.filter((l) => l.id !== 'en')) {
    it(`${id} has every English key, and no other`, () => {
      const mine = new Set(keys(id));
      // Plural keys may have other CLDR forms in other languages; compare the base keys.
      const base = (k: string) => k.replace(/\.(zero|one|two|few|many|other)$/, '');
      expect([...new Set([...mine].map(base))].sort()).toEqual([...new Set(keys('en').map(base))].sort());
    });
    it(`${id} keeps every placeholder of the English text`, () => {
      const cat = catalogue(id);
      for (const [k, v] of Object.entries(cat)) {
        const english = en[k] ?? en[k.replace(/\.\w+$/, '.other')];
        expect(english, k).toBeDefined();
        expect(placeholders(v), k).toEqual(placeholders(english));
      }
    });
  }
  it('no text is empty', () => {
    for (const { id } of LANGUAGES) for (const [k, v] of Object.entries(catalogue(id))) expect(v.trim(), `${id} ${k}`).not.toBe('');
  });
  it('fills placeholders and picks plural forms', () => {
    setLanguage('en');
    expect(t('common.records', { n: 1 })).toBe('1 record');
    expect(t('common.records', { n: 3 })).toBe('3 records');
    setLanguage('de');
    expect(t('common.records', { n: 3 })).toBe('3 Einträge');
    setLanguage('en');
  });
});
