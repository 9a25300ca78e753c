/**
 * Display preferences kept on this device (localStorage): text size and auto-lock. They are
 * comfort settings, not wallet rules; the language lives in i18n, the theme in theme.ts.
 */
export type TextSize = 'normal' | 'large' | 'larger';
export const TEXT_SIZES: TextSize[] = ['normal', 'large', 'larger'];
/** Minutes without input before the shell locks the wallet; 0: never. */
export const AUTO_LOCK_CHOICES = [0, 5, 15, 30] as const;
export type AutoLock = (typeof AUTO_LOCK_CHOICES)[number];
export const AUTO_LOCK_DEFAULT: AutoLock = 15;

const SIZE_KEY = 'carekey-text-size';
const LOCK_KEY = 'carekey-auto-lock';
/** Fired on `window` when auto-lock changed (the shell re-arms its idle clock). */
export const AUTO_LOCK_EVENT = 'carekey-auto-lock';

function read(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function write(key: string, value: string): void {
  try {
    localStorage.setItem(key, value);
  } catch {
    // Storage may be unavailable; the choice then lasts for this session.
  }
}

export function storedTextSize(): TextSize {
  const v = read(SIZE_KEY);
  return v === 'large' || v === 'larger' ? v : 'normal';
}

/** A class on `<html>` scales the root font size; every length in the CSS is in rem or em. */
export function applyTextSize(size: TextSize): void {
  const root = document.documentElement;
  root.classList.remove('text-large', 'text-larger');
  if (size !== 'normal') root.classList.add(`text-${size}`);
}

export function setTextSize(size: TextSize): void {
  applyTextSize(size);
  write(SIZE_KEY, size);
}

export function storedAutoLock(): AutoLock {
  const v = read(LOCK_KEY);
  const n = v === null ? NaN : Number(v);
  return (AUTO_LOCK_CHOICES as readonly number[]).includes(n) ? (n as AutoLock) : AUTO_LOCK_DEFAULT;
}

export function setAutoLock(minutes: AutoLock): void {
  write(LOCK_KEY, String(minutes));
  window.dispatchEvent(new CustomEvent(AUTO_LOCK_EVENT, { detail: minutes }));
}

/**
 * Browser tests only (the mock backend): `localStorage['carekey-test-<name>']` in milliseconds
 * replaces a clock the tests cannot wait for (`idle-ms`: the auto-lock delay; `check-ms`: the
 * focus-check throttle). Ignored by the real app.
 */
export function testClock(backendKind: 'tauri' | 'mock', name: 'idle-ms' | 'check-ms', fallback: number): number {
  if (backendKind !== 'mock') return fallback;
  const v = Number(read(`carekey-test-${name}`));
  return Number.isFinite(v) && v > 0 ? v : fallback;
}
