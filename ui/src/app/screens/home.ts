/**
 * Home: "Who can see my records". The first screen after unlock: everyone who can see records
 * now (or whose access is ending), then what needs attention (backup, next end, latest access,
 * the ledger). It checks the ledger when it opens and redraws by itself after every background
 * check (`onLedgerUpdate`), so a provider's access shows without a click.
 */
import type { AccessHolderKind } from '../../bindings/AccessHolderKind';
import type { AccessHolderView } from '../../bindings/AccessHolderView';
import type { BackupStateView } from '../../bindings/BackupStateView';
import type { HomeView } from '../../bindings/HomeView';
import type { LedgerProblemView } from '../../bindings/LedgerProblemView';
import { t } from '../../i18n';
import { h, replace, uid, type Child } from '../../lib/dom';
import { agoPhrase, formatDate, resourceTypeLabel, timeLeft } from '../../lib/format';
import type { Ctx, Screen, Session } from '../context';
import { Notice, busy, button, loading, page } from '../ui';
import { stopSharing } from './grant';
import { homeLinksCard } from './links';
import { addRecordsButton } from './records';

/**
 * How each kind of access looks. Only grants exist today; links, caregivers and emergency access
 * get an entry here (and `home.kind.<kind>` in the catalogue) when the wallet adds them: the
 * `Record` type makes the compiler ask for it.
 */
const KINDS: Record<AccessHolderKind, { icon: string }> = {
  grant: { icon: '\u2695' }, // ⚕ a provider you shared with
};

/** Plain words for the worst ledger problem (the shell may use it for its banner too). */
export function ledgerProblemText(problem: LedgerProblemView): string {
  return t(`home.problem.${problem.kind}`, { n: problem.nodes });
}

/** The `aria-live` summary: "3 people can see your records". */
export function holdersSummary(holders: number): string {
  return holders === 0 ? t('home.summary.none') : t('home.summary', { n: holders });
}

/** "Checked 2 min ago" (or "Not checked yet"). */
export function checkedText(checkedAt: number | null, now: number): string {
  return checkedAt === null ? t('home.checked.never') : t('home.checked', { when: agoPhrase(checkedAt, now) });
}

/**
 * The "Checked 2 min ago · Check now" line (home and Activity). `after` runs once a check has
 * completed (the screen reloads what it shows).
 */
export function checkLine(ctx: Ctx, notice: Notice, after: () => void): { el: HTMLElement; set(checkedAt: number | null, now: number): void } {
  const text = h('span', { class: 'checked-text' });
  const btn = button(t('home.checkNow'), { class: 'btn secondary small', 'data-focus': 'check-now' });
  btn.addEventListener('click', async () => {
    const status = await busy(btn, notice, () => ctx.backend.checkNow());
    if (status) after();
  });
  return {
    el: h('div', { class: 'checkline' }, text, btn),
    set: (checkedAt, now) => { text.textContent = checkedText(checkedAt, now); },
  };
}

/** "Read 2 records yesterday" / "Has not opened anything yet". */
function lastAccessText(x: AccessHolderView, now: number): string {
  return x.lastAccessAt === null
    ? t('home.lastAccess.never')
    : t('home.lastAccess', { records: t('common.records', { n: x.lastAccessRecords }), when: agoPhrase(x.lastAccessAt, now) });
}

function grantHref(id: string): string {
  return `#/grants/${encodeURIComponent(id)}`;
}

function holderCard(ctx: Ctx, x: AccessHolderView, now: number, notice: Notice, reload: () => void): HTMLElement {
  const nameId = uid('holder');
  const ending = x.status === 'ending';
  let stop: HTMLButtonElement | null = null;
  if (x.status === 'active') {
    const btn = button(t('grants.stop'), { class: 'btn secondary', 'aria-describedby': nameId, 'data-focus': `stop-${x.id}` });
    btn.addEventListener('click', async () => {
      if (await stopSharing(ctx, btn, notice, x.id, x.who)) reload();
    });
    stop = btn;
  }
  const types = x.resourceTypes.map(resourceTypeLabel);
  return h('li', { class: `holder card kind-${x.kind} status-${x.status}` },
    h('div', { class: 'holder-head' },
      h('span', { class: 'holder-icon', 'aria-hidden': 'true' }, KINDS[x.kind]?.icon ?? '\u2022'),
      h('div', { class: 'holder-id' },
        h('p', { class: 'holder-kind' }, t(`home.kind.${x.kind}`)),
        h('h2', { id: nameId, class: 'holder-who' }, h('a', { href: grantHref(x.id), 'data-focus': `open-${x.id}` }, x.who)),
        x.verified
          ? h('p', { class: 'holder-check ok' }, h('span', { 'aria-hidden': 'true' }, '\u2713 '), t('home.verified'))
          : h('p', { class: 'holder-check' }, t('home.notVerified')))),
    h('ul', { class: 'holder-facts' },
      h('li', null, h('span', { class: 'fact-label' }, t('home.canSee')), ' ',
        types.length ? `${types.join(', ')} \u00b7 ` : '', t('common.records', { n: x.recordCount })),
      ending
        ? h('li', { class: 'pending' }, t('home.ending', { n: x.waitingFor }))
        : h('li', { class: 'time-left' }, h('strong', null, timeLeft(x.notAfter, now)), ' \u00b7 ', t(x.shortened ? 'home.untilShortened' : 'home.until', { date: formatDate(x.notAfter) })),
      h('li', { class: x.lastAccessAt === null ? 'muted' : null }, lastAccessText(x, now))),
    h('div', { class: 'actions' },
      stop,
      h('a', { href: grantHref(x.id), class: 'details-link', 'aria-describedby': nameId }, t('home.details'))));
}

function backupBanner(b: BackupStateView, now: number): HTMLElement | null {
  if (!b.due) return null;
  const text = b.lastAt === null ? t('home.backup.none') : t('home.backup.old', { when: agoPhrase(b.lastAt, now) });
  return h('a', { class: 'banner warning', href: '#/settings#backup', 'data-focus': 'backup-banner', id: 'backup-banner' },
    h('span', { class: 'banner-mark', 'aria-hidden': 'true' }, '!'),
    h('span', null, h('strong', null, text), ' \u2014 ', t('home.backup.now')));
}

function problemBanner(v: HomeView): HTMLElement | null {
  const p = v.ledger.problem;
  if (!p) return null;
  const loud = p.kind !== 'unreachable';
  return h('div', { class: `banner ${loud ? 'alarm' : 'warning'}`, role: loud ? 'alert' : null, id: 'ledger-problem' },
    h('span', { class: 'banner-mark', 'aria-hidden': 'true' }, '!'),
    h('span', null, ledgerProblemText(p), ' ', h('a', { href: '#/settings', 'data-focus': 'problem-link' }, t('home.problem.link'))));
}

function accessAlarm(v: HomeView): HTMLElement | null {
  const a = v.latestAccess;
  if (!a || a.genuine) return null;
  return h('div', { class: 'banner alarm', role: 'alert', id: 'access-alarm' },
    h('span', { class: 'banner-mark', 'aria-hidden': 'true' }, '!'),
    h('span', null, h('strong', null, t('home.latest.alarmHead')), ' ',
      t('home.latest.alarm', { who: a.who, when: agoPhrase(a.at, v.now) }), ' ',
      h('a', { href: '#/access', 'data-focus': 'alarm-link' }, t('home.latest.alarmLink'))));
}

/** The one-time result of what the patient just did (the first backup, a share), at the top. */
function flashNotice(f: NonNullable<Session['flash']>): HTMLElement {
  let problem: HTMLElement | null = null;
  if (f.error !== undefined) {
    const n = new Notice();
    n.error(f.error);
    problem = n.el;
  }
  return h('div', { class: 'home-flash', id: 'home-flash' },
    h('div', { class: `verdict ${f.kind}`, role: 'status' },
      h('span', { class: 'verdict-mark', 'aria-hidden': 'true' }, f.kind === 'ok' ? '\u2713' : '!'),
      h('div', null,
        f.head ? h('strong', { class: 'verdict-head' }, f.head) : null,
        h('p', null, f.text))),
    problem);
}

/**
 * Nobody has access. With no records yet either, adding them comes first ("Add records" opens the
 * same chooser as on Records, then Records shows what was added).
 */
function emptyState(noRecords: boolean, add: () => HTMLButtonElement): HTMLElement {
  const share = h('a', { class: `btn ${noRecords ? 'secondary' : 'primary'}`, href: '#/share', 'data-focus': 'share' }, t('home.empty.share'));
  return h('div', { class: 'empty home-empty' },
    h('p', { class: 'empty-head' }, t('home.empty.head')),
    h('p', null, t('home.empty.body')),
    noRecords ? h('p', null, t('home.empty.noRecords')) : null,
    noRecords ? h('div', { class: 'actions' }, add(), share) : share);
}

function glance(v: HomeView): HTMLElement {
  const headId = uid('glance');
  const rows: [string, Child][] = [];
  const b = v.backup;
  rows.push([t('home.glance.backup'), h('span', null,
    b.lastAt === null ? t('home.glance.backupNone') : t('home.glance.backupLast', { when: agoPhrase(b.lastAt, v.now) }),
    b.sharePending ? [' ', t('home.glance.backupSharePending')] : null,
    ' ', h('a', { href: '#/settings#backup', 'data-focus': 'glance-backup' }, t('home.glance.backupLink')))]);
  const next = v.nextExpiry === null ? null : v.holders.find((x) => x.status === 'active' && x.notAfter === v.nextExpiry);
  rows.push([t('home.glance.nextEnd'), v.nextExpiry === null
    ? t('home.glance.nextEndNone')
    : t('home.glance.nextEndText', { who: next?.who ?? '', when: timeLeft(v.nextExpiry, v.now), date: formatDate(v.nextExpiry) })]);
  const a = v.latestAccess;
  rows.push([t('home.glance.latest'), a === null
    ? t('home.glance.latestNone')
    : h('span', { class: a.genuine ? null : 'alarm-text' },
      a.genuine
        ? t('home.glance.latestText', { who: a.who, records: t('common.records', { n: a.records }), when: agoPhrase(a.at, v.now) })
        : t('home.latest.alarm', { who: a.who, when: agoPhrase(a.at, v.now) }),
      ' ', h('a', { href: a.genuine ? grantHref(a.holderId) : '#/access', 'data-focus': 'glance-latest' }, t('home.glance.latestLink')))]);
  rows.push([t('home.glance.ledger'), v.ledger.problem
    ? h('span', null, h('span', { class: v.ledger.problem.kind === 'unreachable' ? 'warn-text' : 'alarm-text' }, t('home.glance.ledgerProblem')),
      ' ', h('a', { href: '#/settings', 'data-focus': 'glance-ledger' }, t('home.problem.link')))
    : t('home.glance.ledgerOk')]);
  return h('section', { class: 'card glance', 'aria-labelledby': headId },
    h('h2', { id: headId }, t('home.glance.title')),
    h('dl', { class: 'facts' }, ...rows.map(([k, val]) => [h('dt', null, k), h('dd', null, val)])));
}

export const home: Screen = {
  get title() { return t('home.title'); },
  needs: 'unlocked',
  render: (ctx) => {
    const notice = new Notice();
    // Shown once: the next visit to Home no longer has it.
    const flash = ctx.session.flash;
    ctx.session.flash = undefined;
    const area = h('div', { class: 'home-area' }, loading(t('home.loading')));
    let left = false;
    let seq = 0;
    let shown = '';
    let first = true;
    const check = checkLine(ctx, notice, () => void load(true));
    let adder: HTMLButtonElement | null = null;
    const addButton = () => {
      adder ??= (() => {
        const add = addRecordsButton(ctx, notice, {
          id: 'home-add-records',
          inputId: 'home-import-files',
          attrs: { 'data-focus': 'add-records' },
          onAdded: (_added, text) => {
            ctx.announce(text);
            ctx.go('#/records');
          },
        });
        area.after(add.input);
        return add.button;
      })();
      return adder;
    };

    const draw = (v: HomeView, noRecords: boolean) => {
      check.set(v.ledger.checkedAt, v.now);
      const key = JSON.stringify({ ...v, ledger: { ...v.ledger, checkedAt: null }, noRecords });
      if (key === shown) return;
      const before = shown ? (JSON.parse(shown) as HomeView) : null;
      shown = key;
      // Keep the patient's place: a redraw after a background check must not steal focus.
      const focused = (document.activeElement as HTMLElement | null)?.closest?.('[data-focus]')?.getAttribute('data-focus') ?? null;
      replace(area,
        h('div', { class: 'attention' }, problemBanner(v), accessAlarm(v), backupBanner(v.backup, v.now)),
        v.holders.length === 0
          ? emptyState(noRecords, addButton)
          : h('ul', { class: 'holders', 'aria-label': holdersSummary(v.holders.length) },
            ...v.holders.map((x) => holderCard(ctx, x, v.now, notice, () => void load(true)))),
        homeLinksCard(v),
        glance(v),
        h('p', { class: 'all-link' }, h('a', { href: '#/grants', 'data-focus': 'all' }, t('home.all'))));
      if (focused) (area.querySelector(`[data-focus="${CSS.escape(focused)}"]`) as HTMLElement | null)?.focus();
      if (first) {
        ctx.announce([flash?.head && `${flash.head}.`, flash?.text, holdersSummary(v.holders.length)].filter(Boolean).join(' '));
        first = false;
      } else if (before && v.latestAccess && (before.latestAccess?.at !== v.latestAccess.at || before.latestAccess?.who !== v.latestAccess.who)) {
        ctx.announce(t('home.announce.newAccess', { who: v.latestAccess.who, records: t('common.records', { n: v.latestAccess.records }) }));
      } else if (before && before.holders.length !== v.holders.length) {
        ctx.announce(holdersSummary(v.holders.length));
      }
    };

    /** Loads and draws the home; false when it could not. */
    const load = async (quiet: boolean): Promise<boolean> => {
      const mine = ++seq;
      try {
        const v = await ctx.backend.home();
        // "No records yet" only matters while nobody has access (the empty state offers to add them).
        const noRecords = v.holders.length === 0 && (await ctx.backend.listRecords()).length === 0;
        if (left || mine !== seq) return true;
        draw(v, noRecords);
        return true;
      } catch (err) {
        if (left || mine !== seq) return false;
        notice.error(err);
        if (!quiet || !shown) {
          const retry = button(t('home.retry'), { class: 'btn secondary' });
          retry.addEventListener('click', () => {
            notice.clear();
            replace(area, loading(t('home.loading')));
            void load(false);
          });
          replace(area, h('div', { class: 'actions' }, retry));
        }
        return false;
      }
    };

    ctx.onLeave(() => { left = true; });
    void ctx.backend.onLedgerUpdate(() => { if (!left) void load(true); }).then((unsubscribe) => {
      if (left) unsubscribe();
      else ctx.onLeave(unsubscribe);
    });
    void (async () => {
      if (!(await load(false)) || left) return;
      // Opening the home checks the ledger (the wallet also checks on a timer).
      try {
        await ctx.backend.checkNow();
        if (!left) await load(true);
      } catch (err) {
        if (!left) notice.error(err);
      }
    })();

    return page(t('home.title'), null, flash ? flashNotice(flash) : null, check.el, notice.el, area);
  },
};
