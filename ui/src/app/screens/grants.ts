/**
 * "All sharing" (`#/grants`): every grant, now / ending / ended, each linking to its own page
 * (where it can be stopped). And "Activity" (`#/access`): who looked at the records, as plain
 * sentences grouped by day, alarms first.
 */
import type { AccessView } from '../../bindings/AccessView';
import type { GrantView } from '../../bindings/GrantView';
import type { HealthLinkOpenView } from '../../bindings/HealthLinkOpenView';
import { t } from '../../i18n';
import { h, replace, uid } from '../../lib/dom';
import { accessSeverity, dayHeading, dayNumber, formatDate, formatDateTime, formatTime, resourceTypeLabel, timeLeft } from '../../lib/format';
import type { Ctx, Screen } from '../context';
import { Notice, loading, page } from '../ui';
import { accessSentence, accessTechnical } from './grant';
import { checkLine } from './home';
import { linkOpenItem } from './links';

const GROUPS: { id: string; statuses: string[] }[] = [
  { id: 'active', statuses: ['active'] },
  { id: 'ending', statuses: ['ending'] },
  { id: 'ended', statuses: ['expired', 'revoked', 'erased'] },
];

/** One line on where a grant stands, in plain words. */
function standing(g: GrantView, now: number): string {
  switch (g.status) {
    case 'active': return t('grants.list.active', { when: timeLeft(g.notAfter, now), date: formatDate(g.notAfter) });
    case 'ending': return t('grants.list.ending', { n: g.waitingFor.length });
    case 'expired': return t('grants.list.expired', { date: formatDate(g.notAfter) });
    case 'revoked': return t('grants.list.revoked');
    case 'erased': return t('grants.list.erased');
  }
}

function grantItem(g: GrantView, now: number): HTMLElement {
  const types = g.resourceTypes.map(resourceTypeLabel);
  return h('li', { class: `grant card status-${g.status}` },
    h('h3', null, h('a', { href: `#/grants/${encodeURIComponent(g.id)}` }, g.providerName)),
    h('p', { class: 'grant-standing' }, standing(g, now)),
    h('p', { class: 'muted small' }, types.length ? `${types.join(', ')} \u00b7 ` : '', t('common.records', { n: g.records.length })));
}

export const grants: Screen = {
  get title() { return t('grants.list.title'); },
  needs: 'unlocked',
  render: (ctx) => {
    const notice = new Notice();
    const area = h('div', { class: 'grant-groups' }, loading(t('grants.list.loading')));
    void (async () => {
      try {
        // The wallet's clock comes with the home view (the mock's clock is fixed in the past).
        const [list, view] = await Promise.all([ctx.backend.listGrants(), ctx.backend.home()]);
        if (list.length === 0) {
          replace(area, h('div', { class: 'empty' }, h('p', null, t('grants.list.empty')),
            h('a', { class: 'btn primary', href: '#/share' }, t('home.empty.share'))));
          ctx.announce(t('grants.list.empty'));
          return;
        }
        replace(area, ...GROUPS.map((grp) => {
          const group = list.filter((g) => grp.statuses.includes(g.status))
            .sort((a, b) => (grp.id === 'ended' ? b.notAfter - a.notAfter : a.notAfter - b.notAfter));
          if (group.length === 0) return null;
          const id = uid(`grants-${grp.id}`);
          return h('section', { class: `group group-${grp.id}`, 'aria-labelledby': id },
            h('h2', { id }, t(`grants.list.group.${grp.id}`), h('span', { class: 'count' }, ` ${group.length}`)),
            h('ul', { class: 'grants' }, ...group.map((g) => grantItem(g, view.now))));
        }));
        ctx.announce(t('grants.list.summary', { n: list.length }));
      } catch (err) {
        notice.error(err);
        replace(area);
      }
    })();
    return page(t('grants.list.title'), t('grants.list.lead'), notice.el, area);
  },
};

function accessItem(a: AccessView, titles: Map<string, string>, withDay = false): HTMLElement {
  const severity = accessSeverity(a.verification);
  return h('li', { class: `event ${severity}` },
    h('div', { class: 'event-when' }, h('time', { datetime: new Date(a.servedAt * 1000).toISOString() }, withDay ? formatDateTime(a.servedAt) : formatTime(a.servedAt))),
    h('div', { class: 'event-body' },
      h('p', { class: 'event-who' }, accessSentence(a, titles)),
      severity === 'alarm'
        ? h('p', { class: 'verification alarm' }, h('span', { class: 'verdict-mark', 'aria-hidden': 'true' }, '!'),
          h('span', null, h('strong', null, t('access.alarm.head')), ' ', t('access.alarm.body', { who: a.providerName })))
        : severity === 'warning'
          ? h('p', { class: 'verification warning' }, h('span', { class: 'verdict-mark', 'aria-hidden': 'true' }, '?'), t('access.warning'))
          : h('p', { class: 'verification ok' }, h('span', { 'aria-hidden': 'true' }, '\u2713 '), t('access.verified')),
      a.independentlyChecked ? null : h('p', { class: 'muted small' }, t('access.notIndependent')),
      h('p', { class: 'small' }, h('a', { href: `#/grants/${encodeURIComponent(a.grantId)}` }, t('access.seeSharing', { who: a.providerName }))),
      accessTechnical(a)));
}

/** Grant accesses and link opens (issue 11), newest first, by day. */
function dayGroups(events: AccessView[], opens: HealthLinkOpenView[], titles: Map<string, string>, now: number): HTMLElement[] {
  const items = [
    ...events.map((e) => ({ at: e.servedAt, item: () => accessItem(e, titles) })),
    ...opens.map((o) => ({ at: o.at, item: () => linkOpenItem(o) })),
  ].sort((a, b) => b.at - a.at);
  const days = new Map<number, typeof items>();
  for (const e of items) {
    const d = dayNumber(e.at);
    days.set(d, [...(days.get(d) ?? []), e]);
  }
  return [...days.values()].map((list) => {
    const id = uid('day');
    return h('section', { class: 'day', 'aria-labelledby': id },
      h('h2', { id }, dayHeading(list[0].at, now)),
      h('ol', { class: 'timeline' }, ...list.map((e) => e.item())));
  });
}

export const accessLog: Screen = {
  get title() { return t('access.title'); },
  needs: 'unlocked',
  render: (ctx: Ctx) => {
    const notice = new Notice();
    const area = h('div', { class: 'activity' }, loading(t('access.loading')));
    let left = false;
    let seq = 0;
    let shown = '';
    const check = checkLine(ctx, notice, () => void load(true));
    const load = async (quiet: boolean): Promise<void> => {
      const mine = ++seq;
      try {
        const [events, records, view, opens] = await Promise.all([
          ctx.backend.accessLog(), ctx.backend.listRecords(), ctx.backend.home(), ctx.backend.linkOpens()]);
        if (left || mine !== seq) return;
        check.set(view.ledger.checkedAt, view.now);
        const key = JSON.stringify([events, opens]);
        if (quiet && key === shown) return;
        shown = key;
        const titles = new Map(records.map((r) => [r.id, r.title]));
        if (events.length === 0 && opens.length === 0) {
          replace(area, h('div', { class: 'empty' }, h('p', null, t('access.empty'))));
          if (!quiet) ctx.announce(t('access.empty'));
          return;
        }
        const sorted = [...events].sort((a, b) => b.servedAt - a.servedAt);
        const alarms = sorted.filter((e) => accessSeverity(e.verification) === 'alarm');
        const rest = sorted.filter((e) => accessSeverity(e.verification) !== 'alarm');
        const alarmId = uid('alarms');
        replace(area,
          alarms.length
            ? h('section', { class: 'alarms', 'aria-labelledby': alarmId },
              h('div', { class: 'verdict alarm', role: 'alert' }, h('span', { class: 'verdict-mark', 'aria-hidden': 'true' }, '!'),
                h('div', null, h('h2', { id: alarmId, class: 'verdict-head' }, t('access.alarms.head', { n: alarms.length })),
                  h('p', null, t('access.alarms.body')))),
              h('ol', { class: 'timeline' }, ...alarms.map((e) => accessItem(e, titles, true))))
            : null,
          ...dayGroups(rest, opens, titles, view.now));
        ctx.announce([
          alarms.length ? t('access.summaryAlarm', { n: sorted.length, alarms: alarms.length }) : t('access.summary', { n: sorted.length }),
          opens.length ? t('links.activity.summary', { n: opens.length }) : '',
        ].join(' ').trim());
      } catch (err) {
        if (left || mine !== seq) return;
        notice.error(err);
        if (!shown) replace(area);
      }
    };
    ctx.onLeave(() => { left = true; });
    let opened = false;
    void ctx.backend.onLedgerUpdate((status) => {
      if (left) return;
      // New accesses while the patient is looking at this list: show them, and they are seen.
      void load(true).then(() => {
        if (!left && opened && status.unseenAccesses > 0) void ctx.backend.markAccessesSeen().catch((err: unknown) => notice.error(err));
      });
    }).then((unsubscribe) => {
      if (left) unsubscribe();
      else ctx.onLeave(unsubscribe);
    });
    void (async () => {
      await load(false);
      if (left) return;
      try {
        // Opening the activity checks the ledger, then counts everything shown as seen.
        await ctx.backend.checkNow();
        if (left) return;
        await load(true);
        if (!left) await ctx.backend.markAccessesSeen();
        opened = true;
      } catch (err) {
        if (!left) notice.error(err);
      }
    })();
    return page(t('access.title'), t('access.lead'), check.el, notice.el, area);
  },
};
