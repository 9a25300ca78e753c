/**
 * The window: header, alarm and "while locked" banners, navigation (a menu button at narrow
 * widths), the routed main area, focus management, the unseen-accesses badge, checks on window
 * focus, and auto-lock after idle.
 */
import type { AppStatus } from '../bindings/AppStatus';
import type { LedgerStatusView } from '../bindings/LedgerStatusView';
import type { Backend } from '../backend/types';
import { explainError, toBackendError } from '../backend/errors';
import { language, t } from '../i18n';
import { h, replace } from '../lib/dom';
import type { Ctx, Screen, Session } from './context';
import { AUTO_LOCK_EVENT, applyTextSize, storedAutoLock, storedTextSize, testClock } from './prefs';
import { NAV, matchRoute } from './routes';
import { THEME_EVENT, type Theme, nextTheme, applyTheme, setTheme, storedTheme } from './theme';
import { Notice, loading, technicalDetails } from './ui';

function landing(status: AppStatus): string {
  if (!status.walletExists) return '/welcome';
  return status.unlocked ? '/home' : '/unlock';
}

function allowed(screen: Screen, status: AppStatus): boolean {
  switch (screen.needs) {
    case 'nothing': return true;
    case 'no-wallet': return !status.walletExists;
    case 'locked': return status.walletExists && !status.unlocked;
    case 'unlocked': return status.walletExists && status.unlocked;
  }
}

/** The catalogue key of a navigation entry (`/access` → `shell.nav.access`). */
function navLabel(route: string, fallback: string): string {
  const key = `shell.nav.${route.replace(/^\//, '')}`;
  const text = t(key);
  return text === key ? fallback : text;
}

/** At most one focus-triggered check a minute. */
const CHECK_THROTTLE_MS = 60_000;
/**
 * Screens auto-lock leaves alone: the recovery kit is shown once, and writing 24 words on paper
 * can take longer than the idle time without a key being pressed.
 */
const NO_AUTO_LOCK = new Set(['/recovery-kit']);
/** Input that counts as "in use" for auto-lock. */
const INPUT_EVENTS = ['pointerdown', 'pointermove', 'keydown', 'wheel', 'touchstart', 'scroll'] as const;

export async function startApp(root: HTMLElement, backend: Backend): Promise<void> {
  document.documentElement.lang = language();
  applyTextSize(storedTextSize());
  let theme: Theme = storedTheme();
  applyTheme(theme);
  backend.setLanguage({ language: language() }).catch(() => undefined);

  let status = await backend.appStatus();
  const session: Session = {};
  let leaving: (() => void)[] = [];

  // What the shell shows besides the screen.
  let unseen = 0;
  let ledgerAlarm = false;
  let screenAlarm: string | null = null;
  let newWhileLocked = false;
  /** Minutes, after an auto-lock: said once on the unlock screen. */
  let autoLocked: number | null = null;

  const announcer = h('div', { class: 'sr-only', 'aria-live': 'polite', id: 'announcer' });
  const alarm = h('div', { class: 'alarm-banner', role: 'alert', hidden: true, id: 'alarm-banner' });
  const note = h('div', { class: 'shell-note', role: 'status', id: 'shell-note' });
  const main = h('main', { id: 'main', tabindex: '-1' });
  const navList = h('ul', null);
  const nav = h('nav', { class: 'nav', id: 'main-nav' }, navList);
  const themeBtn = h('button', { type: 'button', class: 'btn ghost', id: 'theme-toggle' });
  const lockBtn = h('button', { type: 'button', class: 'btn ghost', id: 'lock' });
  const menuBtn = h('button', { type: 'button', class: 'btn ghost menu-btn', id: 'menu-toggle', 'aria-expanded': 'false', 'aria-controls': 'main-nav' });
  const skip = h('a', { class: 'skip', href: '#main' });
  const brand = h('a', { class: 'brand', href: '#/home' });
  const footerText = h('p', null);
  // `?mockbadge=off` (docs screenshots only, e2e/shots.mjs): no "Mock backend" badge.
  const showMockBadge = backend.kind === 'mock' && new URLSearchParams(location.search).get('mockbadge') !== 'off';
  skip.addEventListener('click', (e) => { e.preventDefault(); main.focus(); });

  const announce = (text: string) => {
    announcer.textContent = '';
    window.setTimeout(() => { announcer.textContent = text; }, 50);
  };

  // ---- header, navigation, banners ----

  const showTheme = () => {
    const name = t(`common.theme.${theme}`);
    themeBtn.textContent = t('shell.theme', { name });
    themeBtn.setAttribute('aria-label', t('shell.themeLabel', { name }));
  };
  themeBtn.addEventListener('click', () => setTheme(nextTheme(theme)));
  window.addEventListener(THEME_EVENT, (e) => {
    theme = (e as CustomEvent<Theme>).detail;
    showTheme();
  });

  /** The count as a badge: the number is shown, the words are read. */
  const badge = (n: number) => n > 0
    ? [h('span', { class: 'nav-badge', 'aria-hidden': 'true' }, String(n)), h('span', { class: 'sr-only' }, ` (${t('shell.unseen', { n })})`)]
    : [];

  const setMenu = (open: boolean) => {
    nav.classList.toggle('open', open);
    menuBtn.setAttribute('aria-expanded', String(open));
  };
  menuBtn.addEventListener('click', () => setMenu(menuBtn.getAttribute('aria-expanded') !== 'true'));
  nav.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && nav.classList.contains('open') && getComputedStyle(menuBtn).display !== 'none') {
      setMenu(false);
      menuBtn.focus();
    }
  });

  let currentPath = '';
  // The badges are updated in place, so a background check never moves the keyboard focus.
  const activityBadge = h('span', { class: 'badge-slot' });
  const menuBadge = h('span', { class: 'badge-slot' });
  const drawBadges = () => {
    replace(activityBadge, badge(unseen));
    replace(menuBadge, badge(unseen));
  };
  const drawNav = () => {
    const unlocked = status.walletExists && status.unlocked;
    nav.hidden = !unlocked;
    lockBtn.hidden = !unlocked;
    menuBtn.hidden = !unlocked;
    replace(navList, ...NAV.map(([route, label]) => {
      const current = currentPath === route || currentPath.startsWith(`${route}/`);
      return h('li', null, h('a', { href: `#${route}`, 'aria-current': current ? 'page' : null },
        h('span', { class: 'nav-label' }, navLabel(route, label)),
        route === '/access' ? activityBadge : null));
    }));
    replace(menuBtn, h('span', { class: 'menu-icon', 'aria-hidden': 'true' }), t('shell.menu'), menuBadge);
    drawBadges();
  };

  /** Every word of the chrome, in the current language (again after a language change). */
  const drawChrome = () => {
    nav.setAttribute('aria-label', t('shell.navLabel'));
    skip.textContent = t('shell.skip');
    replace(brand, h('span', { class: 'mark', 'aria-hidden': 'true' }), h('span', { class: 'brand-text' }, 'Carekey'));
    brand.setAttribute('aria-label', t('shell.brand'));
    lockBtn.textContent = t('shell.lock');
    replace(footerText, t('shell.footer'), ' ', showMockBadge ? h('span', { class: 'badge info' }, t('shell.mock')) : null);
    showTheme();
    drawNav();
    drawAlarm(true);
    drawNote();
  };

  let alarmKey = '';
  const drawAlarm = (force = false) => {
    const on = ledgerAlarm || screenAlarm !== null;
    const key = on ? `${language()}|${screenAlarm ?? ''}` : '';
    if (key === alarmKey && !force) return; // an unchanged alert is not announced again
    alarmKey = key;
    alarm.hidden = !on;
    replace(alarm, on ? [
      h('strong', { class: 'alarm-head' }, t('shell.alarm.title')), ' ',
      h('span', null, t('shell.alarm.text')), ' ',
      h('a', { href: '#/settings' }, t('shell.alarm.link')),
      screenAlarm ? technicalDetails(h('p', null, screenAlarm)) : null,
    ] : []);
  };

  /** Above main: what a locked window may say (no details), or why it locked. */
  const drawNote = () => {
    const locked = status.walletExists && !status.unlocked;
    const lines = [
      locked && newWhileLocked ? h('p', { class: 'note new', id: 'new-while-locked' }, h('span', { class: 'dot', 'aria-hidden': 'true' }), t('shell.newWhileLocked')) : null,
      locked && autoLocked !== null ? h('p', { class: 'note', id: 'auto-locked' }, t('shell.autoLocked', { n: autoLocked })) : null,
    ].filter((x): x is HTMLParagraphElement => x !== null);
    replace(note, ...lines);
    note.hidden = lines.length === 0;
  };

  // ---- the ledger status: badge, alarm, "something new" ----

  let ledgerSeq = 0;
  // The first status after start or unlock is the state of things, not news: the screen's own
  // summary is announced then, and only later changes are.
  let ledgerKnown = false;
  const applyLedger = (s: LedgerStatusView) => {
    const before = unseen;
    const news = ledgerKnown;
    ledgerKnown = !s.locked;
    const wasNew = newWhileLocked;
    if (s.locked && status.unlocked) {
      // Locked behind the window's back (another window, the tray): follow it.
      void backend.appStatus().then((st) => {
        if (st.unlocked || !status.unlocked) return; // a stale answer from before an unlock
        status = st;
        void render();
      }, () => undefined);
    }
    unseen = s.locked ? 0 : s.unseenAccesses;
    ledgerAlarm = !s.locked && s.problem?.kind === 'alarm';
    newWhileLocked = s.locked && s.newWhileLocked;
    if (unseen !== before) drawBadges();
    drawAlarm();
    if (newWhileLocked !== wasNew) drawNote();
    if (news && unseen > before) announce(t('shell.unseen', { n: unseen }));
    else if (newWhileLocked && !wasNew) announce(t('shell.newWhileLocked'));
  };

  const refreshLedger = async () => {
    if (!status.walletExists) return;
    const seq = ++ledgerSeq;
    try {
      const s = await backend.ledgerStatus();
      if (seq === ledgerSeq) applyLedger(s);
    } catch {
      // The badge keeps its last value; the next check or screen tries again.
    }
  };

  void backend.onLedgerUpdate((s) => {
    ledgerSeq++; // an event is newer than any status call still under way
    applyLedger(s);
  });

  // When the window comes back into view: check now, at most once a minute (the backend also
  // checks every few minutes by itself).
  let lastCheck = Date.now();
  const checkOnFocus = () => {
    if (!status.walletExists) return;
    const now = Date.now();
    if (now - lastCheck < testClock(backend.kind, 'check-ms', CHECK_THROTTLE_MS)) return;
    lastCheck = now;
    backend.checkNow().then((s) => { ledgerSeq++; applyLedger(s); }, () => undefined);
  };
  window.addEventListener('focus', checkOnFocus);
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') {
      checkOnFocus();
      checkIdle();
    }
  });

  /**
   * The backend the screens get: calls that change what the badge or the alarm shows refresh it
   * when they are done.
   */
  const refreshing = new Set(['markAccessesSeen', 'sync', 'checkNow']);
  const screenBackend = new Proxy(backend, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      const fn = value as (...args: unknown[]) => unknown;
      if (typeof prop === 'string' && refreshing.has(prop)) {
        return async (...args: unknown[]) => {
          const result = await fn.apply(target, args);
          void refreshLedger();
          return result;
        };
      }
      return fn.bind(target);
    },
  });

  // ---- locking: the button, and auto-lock after idle ----

  const lockNow = async (auto: number | null) => {
    // Close any open dialog as "cancel" so its screen's promise settles.
    for (const d of document.querySelectorAll('dialog[open]')) d.dispatchEvent(new Event('cancel', { cancelable: true }));
    try {
      await backend.lock();
    } catch (err) {
      announce(explainError(toBackendError(err)));
    }
    // Nothing from the unlocked session outlives the lock (a recovery kit, a request under review).
    for (const k of Object.keys(session)) delete session[k as keyof Session];
    status = await backend.appStatus();
    unseen = 0;
    ledgerAlarm = false;
    autoLocked = status.unlocked ? null : auto;
    announce(auto !== null ? t('shell.autoLocked', { n: auto }) : t('shell.locked'));
    if (location.hash === '#/unlock') void render();
    else location.hash = '#/unlock';
    void refreshLedger();
  };
  lockBtn.addEventListener('click', () => void lockNow(null));

  let lastInput = Date.now();
  let idleTimer = 0;
  const idleLimit = () => {
    const minutes = storedAutoLock();
    return minutes === 0 ? 0 : testClock(backend.kind, 'idle-ms', minutes * 60_000);
  };
  const armIdle = () => {
    window.clearTimeout(idleTimer);
    const limit = idleLimit();
    if (!limit || !status.unlocked) return;
    idleTimer = window.setTimeout(checkIdle, Math.max(0, lastInput + limit - Date.now()) + 20);
  };
  function checkIdle(): void {
    const limit = idleLimit();
    if (!limit || !status.unlocked || NO_AUTO_LOCK.has(currentPath)) return;
    if (Date.now() - lastInput < limit) return armIdle();
    // Never in the middle of an action: wait until the busy button or screen is done.
    if (document.querySelector('button[aria-busy="true"]')) {
      idleTimer = window.setTimeout(checkIdle, 1000);
      return;
    }
    void lockNow(storedAutoLock());
  }
  for (const ev of INPUT_EVENTS) window.addEventListener(ev, () => { lastInput = Date.now(); }, { passive: true, capture: true });
  window.addEventListener(AUTO_LOCK_EVENT, () => { lastInput = Date.now(); armIdle(); });

  // ---- the router ----

  let generation = 0;
  async function render(keepFocus = false): Promise<void> {
    const gen = ++generation;
    const focusId = keepFocus && document.activeElement instanceof HTMLElement ? document.activeElement.id : '';
    for (const f of leaving) f();
    leaving = [];
    setMenu(false);
    // `#/settings#backup`: the route, then a part of its screen to scroll to and focus.
    const [path, part = ''] = (location.hash.replace(/^#/, '') || '').split('#');
    const match = matchRoute(path);
    if (!match || !allowed(match.screen, status)) {
      const target = landing(status);
      if (path !== target) {
        location.replace(`#${target}`);
        return;
      }
    }
    if (!match) return;
    currentPath = path;
    if (status.unlocked) autoLocked = null;
    drawNav();
    drawNote();
    armIdle();
    main.setAttribute('aria-busy', 'true');
    replace(main, loading());
    const ctx: Ctx = {
      backend: screenBackend, status, params: match.params, session, announce,
      setAlarm: (text) => { screenAlarm = text; drawAlarm(); },
      refreshLedger: () => void refreshLedger(),
      rerender: () => { drawChrome(); void render(true); },
      go: (route) => { location.hash = route; },
      refreshStatus: async () => {
        status = await backend.appStatus();
        ctx.status = status;
        if (!status.unlocked) { ledgerAlarm = false; screenAlarm = null; drawAlarm(); }
        return status;
      },
      onLeave: (f) => { leaving.push(f); },
    };
    let el: HTMLElement;
    try {
      el = await match.screen.render(ctx);
    } catch (err) {
      const n = new Notice();
      n.error(err);
      el = h('div', { class: 'page' }, h('h1', { tabindex: '-1' }, match.screen.title), n.el);
    }
    if (gen !== generation) return;
    replace(main, el);
    main.removeAttribute('aria-busy');
    const heading = main.querySelector('h1');
    document.title = t('shell.pageTitle', { page: heading?.textContent ?? match.screen.title });
    // Focus the new heading so keyboard and screen-reader users start at the top of the new
    // screen; after a re-render in place (a language change), the control that was focused.
    const again = focusId ? document.getElementById(focusId) : null;
    (again ?? heading ?? main).focus();
    if (!again) window.scrollTo(0, 0);
    if (focusId && !again) refocusWhenDrawn(focusId, gen);
    else if (part && !again) refocusWhenDrawn(part, gen, 'start');
    void refreshLedger();
  }

  /** A screen that draws its content after loading: focus the control once it is back. */
  function refocusWhenDrawn(id: string, gen: number, block: ScrollLogicalPosition = 'center'): void {
    const placeholder = document.activeElement;
    const land = (el: HTMLElement): void => {
      el.focus({ preventScroll: true });
      el.scrollIntoView({ block });
    };
    const now = main.querySelector<HTMLElement>(`[id="${CSS.escape(id)}"]`);
    if (now) return land(now);
    const observer = new MutationObserver(() => {
      const el = main.querySelector<HTMLElement>(`[id="${CSS.escape(id)}"]`);
      if (gen !== generation || document.activeElement !== placeholder) observer.disconnect();
      else if (el) {
        observer.disconnect();
        land(el);
      }
    });
    observer.observe(main, { childList: true, subtree: true });
    window.setTimeout(() => observer.disconnect(), 5000);
  }

  replace(root,
    skip,
    h('header', { class: 'topbar' }, brand, h('div', { class: 'top-actions' }, themeBtn, lockBtn, menuBtn)),
    alarm,
    h('div', { class: 'layout' }, nav, h('div', { class: 'content' }, note, main)),
    h('footer', { class: 'footer' }, footerText),
    announcer);
  drawChrome();
  window.addEventListener('hashchange', () => void render());
  await render();
}
