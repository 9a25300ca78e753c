import { describe, expect, it } from 'vitest';
import { passphraseStrength } from '../src/lib/passphrase';

describe('passphraseStrength', () => {
  it('rates the empty passphrase as empty and unacceptable', () => {
    const s = passphraseStrength('');
    expect(s).toMatchObject({ score: 0, label: 'empty', bits: 0, acceptable: false });
  });

  it('rates common passwords very weak, decorated or not', () => {
    for (const p of ['password', 'Password123!', 'P@ssw0rd', 'qwertyuiop', 'letmein']) {
      const s = passphraseStrength(p);
      expect(s.score, p).toBe(0);
      expect(s.acceptable, p).toBe(false);
    }
    expect(passphraseStrength('Password123!').hints.join(' ')).toMatch(/first passwords an attacker tries/);
  });

  it('discounts repeats and keyboard or alphabet runs', () => {
    expect(passphraseStrength('aaaaaaaaaaaaaaaa').score).toBeLessThanOrEqual(1);
    expect(passphraseStrength('abcdefghijklmnop').score).toBeLessThanOrEqual(1);
    expect(passphraseStrength('1234567890123').score).toBeLessThanOrEqual(1);
    expect(passphraseStrength('aaaaaaaaaaaaaaaa').hints).toContain('Avoid repeating one character.');
  });

  it('asks for length on short passphrases', () => {
    const s = passphraseStrength('Tr0ub4d&');
    expect(s.acceptable).toBe(false);
    expect(s.hints.some((h) => h.includes('12 characters'))).toBe(true);
  });

  it('accepts four or more unrelated words', () => {
    const s = passphraseStrength('orbit lantern walnut glacier');
    expect(s.score).toBeGreaterThanOrEqual(3);
    expect(s.acceptable).toBe(true);
    expect(passphraseStrength('orbit lantern walnut glacier mosaic ripple').score).toBe(4);
  });

  it('grows monotonically as unrelated words are added', () => {
    const words = ['quiet', 'harbor', 'velvet', 'timber', 'nectar', 'island'];
    let last = -1;
    for (let n = 1; n <= words.length; n++) {
      const bits = passphraseStrength(words.slice(0, n).join(' ')).bits;
      expect(bits).toBeGreaterThan(last);
      last = bits;
    }
  });

  it('is deterministic and pure', () => {
    expect(passphraseStrength('Blue-Kettle-47-Sings')).toEqual(passphraseStrength('Blue-Kettle-47-Sings'));
  });
});
