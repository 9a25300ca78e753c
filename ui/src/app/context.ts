import type { AppStatus } from '../bindings/AppStatus';
import type { ReceiptView } from '../bindings/ReceiptView';
import type { RecoveryKitView } from '../bindings/RecoveryKitView';
import type { RequestView } from '../bindings/RequestView';
import type { Backend } from '../backend/types';

/** What a screen gets: the backend, navigation, and the little state that outlives one screen. */
export interface Ctx {
  backend: Backend;
  status: AppStatus;
  /** Route parameters (`#/records/:id` → `{ id }`). */
  params: Record<string, string>;
  go(route: string): void;
  refreshStatus(): Promise<AppStatus>;
  /** Polite screen-reader announcement. */
  announce(text: string): void;
  /**
   * The loud ledger alarm banner. The shell words it plainly; `text` (technical: nodes, URLs)
   * goes under its "Technical details". `null` hides it unless the ledger status still reports
   * an alarm.
   */
  setAlarm(text: string | null): void;
  /**
   * Re-reads the ledger status (unseen-accesses badge, alarm). The shell already does this after
   * every screen, after `markAccessesSeen`, `sync` and `checkNow`, and on `ledger-update`.
   */
  refreshLedger(): void;
  /** Draws the whole window again (after a language change); focus stays on the same control. */
  rerender(): void;
  /** Called when the screen is left (stop cameras, drop listeners). */
  onLeave(cleanup: () => void): void;
  session: Session;
}

export interface Session {
  /** Shown once after create_wallet, then forgotten. */
  recoveryKit?: RecoveryKitView;
  review?: RequestView;
  /**
   * A one-time result the next Home shows at the top, announces, then forgets (the first
   * backup, a share just made). `head` is its strong first sentence; `error` (the first backup's
   * schedule that could not be set) is shown below it through `Notice.error`.
   */
  flash?: { kind: 'ok' | 'warning'; head?: string; text: string; error?: unknown };
  receipt?: ReceiptView;
}

export interface Screen {
  title: string;
  /** Needs an unlocked wallet (otherwise the router sends the patient to unlock or onboarding). */
  needs: 'nothing' | 'no-wallet' | 'locked' | 'unlocked';
  render(ctx: Ctx): HTMLElement | Promise<HTMLElement>;
}
