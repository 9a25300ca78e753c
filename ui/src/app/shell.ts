/** The window: header, alarm banner, navigation, the routed main area, focus management. */
import type { AppStatus } from '../bindings/AppStatus';
import type { Backend } from '../backend/types';
import { h, replace } from '../lib/dom';
import type { Ctx, Screen, Session } from './context';
import { NAV, matchRoute } from './routes';
import { alarmText } from './screens/settings';
import { applyTheme, nextTheme, storedTheme } from './theme';
import { Notice, loading } from './ui';

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

export async function startApp(root: HTMLElement, backend: Backend): Promise<void> {
  let status = await backend.appStatus();
  const session: Session = {};
  let leaving: (() => void)[] = [];
  let alarmChecked = false;

  const announcer = h('div', { class: 'sr-only', 'aria-live': 'polite', id: 'announcer' });
  const alarm = h('div', { class: 'alarm-banner', role: 'alert', hidden: true });
  const main = h('main', { id: 'main', tabindex: '-1' });
  const navList = h('ul', null);
  const nav = h('nav', { 'aria-label': 'Main', class: 'nav' }, navList);
  const themeBtn = h('button', { type: 'button', class: 'btn ghost', id: 'theme-toggle' });
  const lockBtn = h('button', { type: 'button', class: 'btn ghost', id: 'lock' }, 'Lock');
  const skip = h('a', { class: 'skip', href: '#main' }, 'Skip to content');
  skip.addEventListener('click', (e) => { e.preventDefault(); main.focus(); });

  let theme = storedTheme();
  const showTheme = () => {
    const label = { system: 'System', light: 'Light', dark: 'Dark' }[theme];
    themeBtn.textContent = `Theme: ${label}`;
    themeBtn.setAttribute('aria-label', `Colour theme: ${label}. Change theme`);
  };
  applyTheme(theme);
  showTheme();
  themeBtn.addEventListener('click', () => {
    theme = nextTheme(theme);
    applyTheme(theme);
    showTheme();
  });

  const announce = (text: string) => {
    announcer.textContent = '';
    window.setTimeout(() => { announcer.textContent = text; }, 50);
  };
  const setAlarm = (text: string | null) => {
    alarm.hidden = text === null;
    replace(alarm, text ? [h('strong', { class: 'alarm-head' }, '⚠ Ledger alarm'), h('span', null, ` ${text} `), h('a', { href: '#/settings' }, 'Details in Settings')] : []);
  };
  lockBtn.addEventListener('click', async () => {
    try {
      await backend.lock();
    } catch (err) {
      new Notice().error(err);
    }
    status = await backend.appStatus();
    announce('Wallet locked.');
    location.hash = '#/unlock';
  });

  const drawChrome = (path: string) => {
    const unlocked = status.walletExists && status.unlocked;
    nav.hidden = !unlocked;
    lockBtn.hidden = !unlocked;
    replace(navList, ...NAV.map(([route, label]) => {
      const current = path === route || path.startsWith(`${route}/`);
      return h('li', null, h('a', { href: `#${route}`, 'aria-current': current ? 'page' : null }, label));
    }));
  };

  const checkAlarm = async () => {
    if (alarmChecked || !status.unlocked) return;
    alarmChecked = true;
    try {
      setAlarm(alarmText(await backend.settings(), null));
    } catch {
      alarmChecked = false;
    }
  };

  let generation = 0;
  const render = async () => {
    const gen = ++generation;
    for (const f of leaving) f();
    leaving = [];
    const path = location.hash.replace(/^#/, '') || '';
    const match = matchRoute(path);
    if (!match || !allowed(match.screen, status)) {
      const target = landing(status);
      if (path !== target) {
        location.replace(`#${target}`);
        return;
      }
    }
    if (!match) return;
    drawChrome(path);
    void checkAlarm();
    main.setAttribute('aria-busy', 'true');
    replace(main, loading());
    const ctx: Ctx = {
      backend, status, params: match.params, session, announce, setAlarm,
      go: (route) => { location.hash = route; },
      refreshStatus: async () => {
        status = await backend.appStatus();
        ctx.status = status;
        if (!status.unlocked) alarmChecked = false;
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
    document.title = `${heading?.textContent ?? match.screen.title} — Carekey`;
    // Focus the new heading so keyboard and screen-reader users start at the top of the new screen.
    (heading ?? main).focus();
    window.scrollTo(0, 0);
  };

  replace(root,
    skip,
    h('header', { class: 'topbar' },
      h('a', { class: 'brand', href: '#/records', 'aria-label': 'Carekey, home' }, h('span', { class: 'mark', 'aria-hidden': 'true' }), 'Carekey'),
      h('div', { class: 'top-actions' }, themeBtn, lockBtn)),
    alarm,
    h('div', { class: 'layout' }, nav, main),
    h('footer', { class: 'footer' },
      h('p', null, 'Records are encrypted on this device. ', backend.kind === 'mock' ? h('span', { class: 'badge info' }, 'Mock backend: test data') : null)),
    announcer);
  window.addEventListener('hashchange', () => void render());
  await render();
}
