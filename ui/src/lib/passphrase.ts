/** Passphrase strength as the patient sees it while typing. Pure: no I/O, no randomness. */
import { t } from '../i18n';

export type StrengthLabel = 'empty' | 'very weak' | 'weak' | 'fair' | 'strong' | 'very strong';

export interface PassphraseStrength {
  /** 0 (very weak) … 4 (very strong). */
  score: 0 | 1 | 2 | 3 | 4;
  /** A stable id; `strengthWords(label)` is what the patient reads. */
  label: StrengthLabel;
  /** A rough guessing-entropy estimate, in bits. */
  bits: number;
  /** Good enough to protect a health wallet (score ≥ 3). */
  acceptable: boolean;
  /** What would make it stronger, in plain words (in the current language). */
  hints: string[];
}

/** Passwords and words that attackers try first (a short, representative list). */
const COMMON = new Set([
  'password', 'passw0rd', 'qwerty', 'qwertyuiop', 'letmein', 'welcome', 'iloveyou', 'admin', 'dragon', 'monkey',
  'football', 'baseball', 'sunshine', 'princess', 'trustno1', 'abc123', 'master', 'shadow', 'superman', 'michael',
  'carekey', 'health', 'doctor', 'hospital', 'secret', 'changeme', 'whatever', 'starwars', 'computer', 'summer',
  'winter', 'spring', 'autumn', 'login', 'hello', 'freedom', 'passphrase', 'mypassword',
]);

const SEQUENCES = ['abcdefghijklmnopqrstuvwxyz', 'qwertyuiopasdfghjklzxcvbnm', '01234567890'];

function poolSize(p: string): number {
  let pool = 0;
  if (/[a-z]/.test(p)) pool += 26;
  if (/[A-Z]/.test(p)) pool += 26;
  if (/[0-9]/.test(p)) pool += 10;
  if (/[^a-zA-Z0-9\s]/.test(p)) pool += 33;
  if (/\s/.test(p)) pool += 1;
  return pool;
}

/**
 * Characters that add little: repeats of the previous character and steps of a keyboard or
 * alphabet sequence count a quarter each.
 */
function effectiveLength(p: string): number {
  const lower = p.toLowerCase();
  let length = 0;
  for (let i = 0; i < lower.length; i++) {
    const prev = lower[i - 1];
    const c = lower[i];
    const repeat = prev === c;
    const sequential = prev !== undefined && SEQUENCES.some((s) => {
      const at = s.indexOf(prev);
      return at >= 0 && (s[at + 1] === c || s[at - 1] === c);
    });
    length += repeat || sequential ? 0.25 : 1;
  }
  return length;
}

/** A common password with decoration ("Password123!") is still a common password. */
function isCommon(p: string): boolean {
  const core = p.toLowerCase().replace(/[^a-z]+$/g, '').replace(/^[^a-z]+/g, '')
    .replace(/0/g, 'o').replace(/1/g, 'i').replace(/3/g, 'e').replace(/4/g, 'a').replace(/5/g, 's').replace(/@/g, 'a');
  return COMMON.has(p.toLowerCase()) || COMMON.has(core);
}

export function passphraseStrength(p: string): PassphraseStrength {
  if (p.length === 0) return { score: 0, label: 'empty', bits: 0, acceptable: false, hints: [t('common.hint.typeOne')] };
  const hints: string[] = [];
  const words = p.trim().split(/[\s\-_.]+/).filter((w) => w.length >= 3);
  let bits = effectiveLength(p) * Math.log2(Math.max(poolSize(p), 1));
  // Words are far more guessable than their letters suggest: credit at least a diceware word
  // (12.9 bits) each, or half of the character estimate, whichever is more, never more than the characters give.
  if (words.length >= 2) bits = Math.min(bits, Math.max(words.length * 12.9, bits * 0.5));
  if (isCommon(p)) {
    bits = Math.min(bits, 10);
    hints.push(t('common.hint.common'));
  }
  if (p.length < 12) hints.push(t('common.hint.length'));
  if (/^(.)\1*$/.test(p)) hints.push(t('common.hint.repeat'));
  if (words.length < 4 && p.length >= 12 && bits < 60) hints.push(t('common.hint.addWord'));
  bits = Math.round(bits);
  const score: PassphraseStrength['score'] = bits < 28 ? 0 : bits < 40 ? 1 : bits < 56 ? 2 : bits < 72 ? 3 : 4;
  const label: StrengthLabel = (['very weak', 'weak', 'fair', 'strong', 'very strong'] as const)[score];
  return { score, label, bits, acceptable: score >= 3, hints };
}

const LABEL_KEYS: Record<StrengthLabel, string> = {
  empty: 'common.strength.empty', 'very weak': 'common.strength.veryWeak', weak: 'common.strength.weak',
  fair: 'common.strength.fair', strong: 'common.strength.strong', 'very strong': 'common.strength.veryStrong',
};

/** "very weak" … "very strong", in the current language. */
export function strengthWords(label: StrengthLabel): string {
  return t(LABEL_KEYS[label]);
}
