import type { Screen } from './context';
import { accessLog, grants } from './screens/grants';
import { grantPage } from './screens/grant';
import { home } from './screens/home';
import { linkPage, linksList, newLink } from './screens/links';
import { receiptPage } from './screens/receipt';
import { create, firstBackup, recoveryKit, restore, unlock, welcome } from './screens/onboarding';
import { recordDetail, records } from './screens/records';
import { settings } from './screens/settings';
import { summaryPage } from './screens/summary';
import { myQr, share, shareReview } from './screens/share';

export const ROUTES: [pattern: string, screen: Screen][] = [
  ['/welcome', welcome],
  ['/create', create],
  ['/recovery-kit', recoveryKit],
  ['/first-backup', firstBackup],
  ['/restore', restore],
  ['/unlock', unlock],
  ['/home', home],
  ['/records', records],
  ['/summary', summaryPage],
  ['/records/:id', recordDetail],
  ['/share', share],
  ['/share/review', shareReview],
  ['/my-qr', myQr],
  ['/grants', grants],
  ['/grants/:id', grantPage],
  ['/receipt', receiptPage],
  ['/access', accessLog],
  ['/links', linksList],
  ['/links/new', newLink],
  ['/links/:id', linkPage],
  ['/settings', settings],
];

/** The main navigation, once unlocked. */
export const NAV: [route: string, label: string][] = [
  ['/home', 'Home'],
  ['/records', 'Records'],
  ['/share', 'Share'],
  ['/access', 'Activity'],
  ['/settings', 'Settings'],
];

export function matchRoute(path: string): { screen: Screen; params: Record<string, string>; pattern: string } | null {
  for (const [pattern, screen] of ROUTES) {
    const p = pattern.split('/');
    const a = path.split('/');
    if (p.length !== a.length) continue;
    const params: Record<string, string> = {};
    if (p.every((seg, i) => (seg.startsWith(':') ? ((params[seg.slice(1)] = decodeURIComponent(a[i])), a[i] !== '') : seg === a[i]))) {
      return { screen, params, pattern };
    }
  }
  return null;
}
