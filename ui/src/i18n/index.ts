/**
 * The app's words: one catalogue per language (`en/`, `de/`), one file per area of the app.
 * A translation is a set of files, never a code change: add `xx/` with the same keys, list it
 * in `LANGUAGES` and `CATALOGUES`. `ui/test/i18n.test.ts` checks every language has every key
 * with the same `{placeholders}`.
 *
 * Keys are `area.what` (`home.title`). A key with plural forms has `key.one` / `key.other`
 * (and any other CLDR category the language needs); `t(key, { n })` picks one with
 * `Intl.PluralRules`.
 */
import de from './de';
import en from './en';

export type Catalogue = Record<string, string>;
export type Lang = 'en' | 'de';

export const LANGUAGES: { id: Lang; name: string; locale: string }[] = [
  { id: 'en', name: 'English', locale: 'en-GB' },
  { id: 'de', name: 'Deutsch', locale: 'de-DE' },
];

const CATALOGUES: Record<Lang, Catalogue> = { en, de };
const KEY = 'carekey-language';

function stored(): Lang | null {
  try {
    const v = localStorage.getItem(KEY);
    return v === 'en' || v === 'de' ? v : null;
  } catch {
    return null;
  }
}

function fromBrowser(): Lang {
  const langs = typeof navigator === 'undefined' ? [] : [...(navigator.languages ?? []), navigator.language];
  return langs.some((l) => l?.toLowerCase().startsWith('de')) ? 'de' : 'en';
}

let current: Lang = stored() ?? fromBrowser();

export function language(): Lang {
  return current;
}

/** The BCP 47 locale for dates and numbers ("en-GB", "de-DE"). */
export function locale(): string {
  return LANGUAGES.find((l) => l.id === current)?.locale ?? 'en-GB';
}

/** Switches the language (remembered on this device) and sets `<html lang>`. */
export function setLanguage(lang: Lang): void {
  current = lang;
  try {
    localStorage.setItem(KEY, lang);
  } catch {
    // Storage may be unavailable; the choice then lasts for this session.
  }
  if (typeof document !== 'undefined') document.documentElement.lang = lang;
}

export type Params = Record<string, string | number>;

/**
 * The text for `key` in the current language, `{name}` placeholders filled from `params`.
 * A missing key falls back to English, then to the key itself (a test catches both).
 */
export function t(key: string, params: Params = {}): string {
  const cat = CATALOGUES[current];
  let text: string | undefined;
  if (typeof params.n === 'number') {
    const form = new Intl.PluralRules(locale()).select(params.n);
    text = cat[`${key}.${form}`] ?? cat[`${key}.other`] ?? en[`${key}.${form}`] ?? en[`${key}.other`];
  }
  text ??= cat[key] ?? en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (m, name: string) => (name in params ? String(params[name]) : m));
}

/** Every key of a language (tests). */
export function keys(lang: Lang): string[] {
  return Object.keys(CATALOGUES[lang]);
}

export function catalogue(lang: Lang): Catalogue {
  return CATALOGUES[lang];
}
