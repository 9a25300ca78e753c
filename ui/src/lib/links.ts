/**
 * SMART Health Links in plain words (no DOM): where a link stands, its opens as the viewer's own
 * claim (never as checked), the expiry choices, a suggested passcode, the label's length.
 */
import type { HealthLinkOpenView } from '../bindings/HealthLinkOpenView';
import type { HealthLinkView } from '../bindings/HealthLinkView';
import { t } from '../i18n';
import { formatDate, timeLeft } from './format';

/** As the wallet (carekey-model `shl::MAX_LABEL_CHARS`). */
export const MAX_LABEL_CHARS = 80;
/** Wrong passcodes a link allows when the patient does not say (the wallet's default). */
export const DEFAULT_ATTEMPTS = 10;

const DAY = 86_400;
export const EXPIRY_CHOICES = ['day', 'week', 'month', 'noEnd'] as const;
export type ExpiryChoice = (typeof EXPIRY_CHOICES)[number];

/** When a link chosen to last `choice` stops working, from the wallet's `now`; `null`: no end date. */
export function expiryFor(choice: ExpiryChoice, now: number): number | null {
  switch (choice) {
    case 'day': return now + DAY;
    case 'week': return now + 7 * DAY;
    case 'month': return now + 30 * DAY;
    case 'noEnd': return null;
  }
}

/** Characters as the wallet counts them (Unicode scalar values, not UTF-16 units). */
export function labelLength(label: string): number {
  return [...label].length;
}

/** A random 6-digit passcode (leading zeros kept), from `random` (uint32s; a CSPRNG in the app). */
export function suggestPasscode(random: () => number = () => crypto.getRandomValues(new Uint32Array(1))[0]): string {
  // Rejection sampling: no digit string is likelier than another.
  const limit = Math.floor(0x1_0000_0000 / 1_000_000) * 1_000_000;
  for (;;) {
    const x = random();
    if (x < limit) return String(x % 1_000_000).padStart(6, '0');
  }
}

/** The link's name, or words for one without. */
export function linkName(l: Pick<HealthLinkView, 'label'>): string {
  return l.label?.trim() ? l.label : t('links.unnamed');
}

/** One sentence on where a link stands. */
export function linkStanding(l: HealthLinkView, now: number): string {
  switch (l.state) {
    case 'active':
      return l.expiresAt === null
        ? t('links.state.activeNoEnd')
        : t('links.state.active', { when: timeLeft(l.expiresAt, now), date: formatDate(l.expiresAt) });
    case 'expired': return t('links.state.expired', { date: formatDate(l.expiresAt ?? now) });
    case 'ending': return t('links.state.ending');
    case 'ended': return t('links.state.ended', { date: formatDate(l.endedAt ?? now) });
  }
}

/** "Opened 2 times · 1 wrong passcode" (the second part only when there was one). */
export function opensSummary(l: Pick<HealthLinkView, 'opens' | 'failedAttempts'>): string {
  const opened = l.opens === 0 ? t('links.openedNever') : t('links.opened', { n: l.opens });
  return l.failedAttempts === 0 ? opened : t('links.list.opens', { opens: opened, failed: t('links.failed', { n: l.failedAttempts }) });
}

/**
 * One logged request as the viewer's own claim: "Someone who says they are Dr X opened it" /
 * "… typed a wrong passcode (3 tries left)". `withLabel`: name the link (Activity, Home).
 */
export function openSentence(o: HealthLinkOpenView, withLabel = false): string {
  const who = o.recipient;
  if (o.opened) {
    if (!withLabel) return t('links.open.opened', { who });
    return o.label?.trim() ? t('links.open.openedLink', { who, label: o.label }) : t('links.open.openedUnnamed', { who });
  }
  if (o.remainingAttempts === null) return t('links.open.wrong', { who });
  if (o.remainingAttempts === 0) return t('links.open.wrongLast', { who });
  return t('links.open.wrongLeft', { who, n: o.remainingAttempts });
}
