import { afterEach, describe, expect, it } from 'vitest';
import { BackendError, ERROR_CODES, explainError } from '../src/backend/errors';
import { LANGUAGES, catalogue, setLanguage } from '../src/i18n';

/** The plain-words rule (issue 10): what a patient reads outside "Technical details". */
export const NOT_PLAIN = [/[0-9a-f]{16,}/i, /https?:\/\//i, /carekey:/i, /checkpoint/i, /cosignature/i, /epoch/i, /log key/i];

describe('error sentences', () => {
  afterEach(() => setLanguage('en'));

  it('lists each code once', () => {
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length);
    for (const code of ['locked', 'no_wallet', 'bad_input', 'io', 'internal', 'unknown']) expect(ERROR_CODES).toContain(code);
  });

  for (const { id } of LANGUAGES) {
    it(`every code has a ${id} sentence: not the raw message, in plain words, saying what to do`, () => {
      setLanguage(id);
      const cat = catalogue(id);
      for (const code of ERROR_CODES) {
        const raw = `${code}: raw wallet message 0123456789abcdef0123 https://node.example`;
        expect(cat[`errors.${code}`], `${id} errors.${code}`).toBeTruthy();
        const sentence = explainError(new BackendError(code, raw));
        expect(sentence, code).toBe(cat[`errors.${code}`]);
        expect(sentence, code).not.toContain(raw);
        if (code.includes('_')) expect(sentence, code).not.toContain(code);
        for (const bad of NOT_PLAIN) expect(sentence, `${id} ${code}`).not.toMatch(bad);
        // A full sentence, starting with a capital letter and ending with a full stop.
        expect(sentence, `${id} ${code}`).toMatch(/^\p{Lu}.*\.$/u);
      }
    });
  }

  it('the catalogues hold no error sentence for a code that is not listed', () => {
    for (const { id } of LANGUAGES) {
      const listed = new Set(ERROR_CODES.map((c) => `errors.${c}`));
      expect(Object.keys(catalogue(id)).filter((k) => k.startsWith('errors.') && !listed.has(k)), id).toEqual([]);
    }
  });

  it('an unknown code reads as "unknown"', () => {
    expect(explainError(new BackendError('something_new', 'x'))).toBe(catalogue('en')['errors.unknown']);
  });
});

describe('the shell and common words are plain', () => {
  it('no hex, URL or ledger jargon in the shell, common and errors areas', () => {
    for (const { id } of LANGUAGES) {
      for (const [k, v] of Object.entries(catalogue(id))) {
        if (!/^(shell|common|errors)\./.test(k)) continue;
        for (const bad of NOT_PLAIN) expect(v, `${id} ${k}`).not.toMatch(bad);
      }
    }
  });
});
