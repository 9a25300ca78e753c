/**
 * A grant's own page (`#/grants/:id`): what was shared, with whom (checked or not, and why),
 * when, every access under it, and the ways to end it: on an earlier date (once), now, or by
 * deleting what was shared. After it ended: when, and nothing to do.
 */
import type { AccessView } from '../../bindings/AccessView';
import type { GrantDetailView } from '../../bindings/GrantDetailView';
import type { GrantView } from '../../bindings/GrantView';
import { t } from '../../i18n';
import { h, replace, uid, type Child } from '../../lib/dom';
import {
  accessSeverity, agoPhrase, categoryLabel, formatDate, formatDateTime, resourceTypeLabel, timeLeft,
} from '../../lib/format';
import type { Ctx, Screen } from '../context';
import { Notice, busy, button, confirmDialog, textInput } from '../ui';

/** Technical details, folded: shown only to those who open them. */
export function technical(rows: [string, Child][]): HTMLElement {
  return h('details', { class: 'technical' },
    h('summary', null, t('common.technicalDetails')),
    h('dl', { class: 'facts compact' }, ...rows.map(([k, v]) => [h('dt', null, k), h('dd', null, v)])));
}

/**
 * "Stop sharing": asks first, revokes, and says the result in plain words in `notice`.
 * Returns true when the grant was revoked (the screen then reloads).
 */
export async function stopSharing(ctx: Ctx, btn: HTMLButtonElement, notice: Notice, grantId: string, who: string): Promise<boolean> {
  const yes = await confirmDialog({
    title: t('grants.stop.title', { who }),
    body: h('div', null, h('p', null, t('grants.stop.body1')), h('p', null, t('grants.stop.body2'))),
    confirm: t('grants.stop'),
  });
  if (!yes) return false;
  const r = await busy(btn, notice, () => ctx.backend.revoke({ grantId }));
  if (!r) return false;
  const parts: Child[] = [
    r.waitingFor.length
      ? t('grants.stop.ending', { who, n: r.waitingFor.length })
      : t('grants.stop.done', { who }),
  ];
  if (r.rekeyed > 0) parts.push(' ', t('grants.stop.rekeyed', { n: r.rekeyed }));
  if (r.backupProblems.length) {
    parts.push(' ', t('grants.stop.backupProblems', { n: r.backupProblems.length }),
      technical(r.backupProblems.map((p, i) => [String(i + 1), p])));
  }
  if (r.waitingFor.length) parts.push(technical([[t('grants.tech.waitingFor'), r.waitingFor.join(', ')]]));
  // The notice is a polite live region: it announces the result itself. Still ending: not green yet.
  if (r.waitingFor.length) notice.info(...parts);
  else notice.ok(...parts);
  return true;
}

/** "Dr. Anna Berg read 3 records: HbA1c, …" (plain sentence of one access). */
export function accessSentence(a: AccessView, titles: Map<string, string>): string {
  const known = a.records.map((id) => titles.get(id)).filter((x): x is string => !!x);
  const records = t('common.records', { n: a.records.length });
  return known.length
    ? t('access.sentence', { who: a.providerName, records, titles: known.join(', ') })
    : t('access.sentenceNoTitles', { who: a.providerName, records });
}

/** Access node, log index and the rest, for those who want them. */
export function accessTechnical(a: AccessView): HTMLElement {
  return technical([
    [t('access.tech.node'), h('code', null, a.node)],
    [t('access.tech.index'), String(a.index)],
    [t('access.tech.grant'), h('code', { class: 'key' }, a.grantId)],
    [t('access.tech.providerKey'), h('code', { class: 'key' }, a.providerKey)],
    [t('access.tech.verification'), a.verification],
    [t('access.tech.witnessed'), a.independentlyChecked ? t('access.tech.yes') : t('access.tech.no')],
  ]);
}

/** When the grant stops: the earlier end the patient chose, or the end it was given for. */
export function endsAt(g: GrantView): number {
  return g.endsEarly === null ? g.notAfter : Math.min(g.endsEarly, g.notAfter);
}

const DAY = 86_400;

/** `yyyy-mm-dd` of a unix time in the local zone (the form a date input speaks). */
function isoDay(secs: number): string {
  const d = new Date(secs * 1000);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** The last second of a chosen last day, local time (unix seconds). */
function endOfDay(value: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) return null;
  const next = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + 1);
  return Math.floor(next.getTime() / 1000) - 1;
}

/**
 * "End on an earlier date": the patient picks the last day the provider can see what was shared;
 * the ledger refuses them from the midnight after, even with this device switched off.
 */
async function shorten(ctx: Ctx, btn: HTMLButtonElement, notice: Notice, d: GrantDetailView): Promise<boolean> {
  const g = d.grant;
  // The last day can be today up to the day before the current end.
  const field = textInput(t('grants.shorten.label'), {
    type: 'date', id: 'shorten-date', required: true,
    min: isoDay(d.now), max: isoDay(g.notAfter - DAY), value: isoDay(Math.min(d.now + 7 * DAY, g.notAfter - DAY)),
  });
  const yes = await confirmDialog({
    title: t('grants.shorten.title', { who: g.providerName }),
    body: h('div', null, h('p', null, t('grants.shorten.body', { who: g.providerName, date: formatDate(g.notAfter) })), field.wrap),
    confirm: t('grants.shorten.confirm'),
  });
  if (!yes) return false;
  const ends = endOfDay(field.input.value);
  if (ends === null) {
    notice.error(t('grants.shorten.noDate'));
    return false;
  }
  const r = await busy(btn, notice, () => ctx.backend.shortenGrant({ grantId: g.id, endsAt: Math.min(ends, g.notAfter - 1) }));
  if (!r) return false;
  // The notice sits outside the part the reload redraws, and announces itself (polite).
  if (r.waitingFor.length) {
    notice.info(t('grants.shorten.waiting', { who: g.providerName, date: formatDate(r.endsAt), n: r.waitingFor.length }));
  } else {
    notice.ok(t('grants.shorten.done', { who: g.providerName, date: formatDate(r.endsAt) }));
  }
  return true;
}

function statusLead(d: GrantDetailView): string {
  const g = d.grant;
  switch (g.status) {
    case 'active': return t('grants.lead.active', { when: timeLeft(endsAt(g), d.now), date: formatDate(endsAt(g)) });
    case 'ending': return t('grants.lead.ending', { n: g.waitingFor.length });
    case 'expired': return t('grants.lead.expired', { date: formatDate(g.notAfter) });
    case 'revoked': return d.endedAt === null ? t('grants.lead.revokedNoDate') : t('grants.lead.revoked', { date: formatDate(d.endedAt) });
    case 'erased': return d.endedAt === null ? t('grants.lead.erasedNoDate') : t('grants.lead.erased', { date: formatDate(d.endedAt) });
  }
}

/** A sentence with the provider's code set in as an element where `{code}` stands. */
function withCode(text: string, code: () => HTMLElement): Child[] {
  return text.split('{code}').flatMap((part, i) => (i === 0 ? [part] : [code(), part]));
}

function withWhom(d: GrantDetailView): HTMLElement {
  const v = d.verification;
  const code = () => h('code', { class: 'provider-code' }, d.providerCode);
  let check: HTMLElement;
  switch (v.state) {
    case 'verified':
      check = h('p', { class: 'holder-check ok' }, h('span', { 'aria-hidden': 'true' }, '\u2713 '),
        t('grants.who.verified', { directory: v.directory ?? '' }));
      break;
    case 'name_mismatch':
      check = h('p', { class: 'banner alarm', role: 'alert' }, h('span', { class: 'banner-mark', 'aria-hidden': 'true' }, '!'),
        h('span', null, t('grants.who.mismatch', { directory: v.directory ?? '', listed: v.listedName ?? '' })));
      break;
    case 'unlisted':
      check = h('p', null, t('grants.who.unlisted'), ' ', withCode(t('grants.who.compared'), code));
      break;
    case 'no_directory':
      check = h('p', null, t('grants.who.noDirectory'), ' ', withCode(t('grants.who.compared'), code), ' ',
        h('a', { href: '#/settings' }, t('grants.who.addDirectory')));
      break;
  }
  const headId = uid('who');
  return h('section', { class: 'card', 'aria-labelledby': headId },
    h('h2', { id: headId }, t('grants.who.title')),
    h('p', { class: 'provider-name' }, d.grant.providerName),
    check,
    v.state === 'verified' ? h('p', { class: 'muted small' }, withCode(t('grants.who.code'), code)) : null);
}

function whatShared(d: GrantDetailView): HTMLElement {
  const headId = uid('what');
  const g = d.grant;
  return h('section', { class: 'card', 'aria-labelledby': headId },
    h('h2', { id: headId }, t('grants.what.title')),
    g.purpose ? h('p', null, t('grants.what.purpose', { purpose: g.purpose })) : null,
    g.resourceTypes.length ? h('p', null, t('grants.what.types', { types: g.resourceTypes.map(resourceTypeLabel).join(', ') })) : null,
    d.records.length
      ? h('ul', { class: 'records shared-records' }, ...d.records.map((r) => h('li', { class: 'record' },
        h('a', { class: 'record-link', href: `#/records/${encodeURIComponent(r.id)}` },
          h('span', { class: 'record-title' }, r.title), h('span', { class: 'muted small' }, categoryLabel(r.category))))))
      : h('p', { class: 'muted' }, g.records.length ? t('grants.what.gone') : t('grants.what.none')));
}

function when(d: GrantDetailView): HTMLElement {
  const headId = uid('when');
  const g = d.grant;
  const rows: [string, string][] = [
    [t('grants.when.from'), `${formatDate(g.notBefore)} (${agoPhrase(g.notBefore, d.now)})`],
    g.endsEarly === null || d.endedAt !== null
      ? [t('grants.when.until'), `${formatDate(g.notAfter)} (${timeLeft(g.notAfter, d.now)})`]
      : [t('grants.when.until'), t('grants.when.shortened', {
        date: formatDate(endsAt(g)), left: timeLeft(endsAt(g), d.now), was: formatDate(g.notAfter),
      })],
  ];
  if (d.endedAt !== null) rows.push([t('grants.when.ended'), `${formatDateTime(d.endedAt)} (${agoPhrase(d.endedAt, d.now)})`]);
  return h('section', { class: 'card', 'aria-labelledby': headId },
    h('h2', { id: headId }, t('grants.when.title')),
    h('dl', { class: 'facts' }, ...rows.map(([k, v]) => [h('dt', null, k), h('dd', null, v)])));
}

function history(d: GrantDetailView, titles: Map<string, string>): HTMLElement {
  const headId = uid('hist');
  return h('section', { class: 'card', 'aria-labelledby': headId },
    h('h2', { id: headId }, t('grants.history.title')),
    d.accesses.length === 0
      ? h('p', { class: 'muted' }, t('grants.history.none'))
      : h('ol', { class: 'history' }, ...d.accesses.map((a) => {
        const severity = accessSeverity(a.verification);
        return h('li', { class: `history-item ${severity}` },
          h('p', null, h('time', { datetime: new Date(a.servedAt * 1000).toISOString() }, `${formatDateTime(a.servedAt)} \u00b7 ${agoPhrase(a.servedAt, d.now)}`)),
          h('p', null, accessSentence(a, titles)),
          severity === 'alarm' ? h('p', { class: 'alarm-text' }, h('strong', null, t('access.alarm.head')), ' ', t('access.alarm.body', { who: a.providerName })) : null,
          severity === 'warning' ? h('p', { class: 'warn-text' }, t('access.warning')) : null,
          accessTechnical(a));
      })));
}

function actions(ctx: Ctx, d: GrantDetailView, notice: Notice, reload: () => void): HTMLElement | null {
  const g = d.grant;
  if (g.status !== 'active') return null;
  const headId = uid('act');
  const stop = button(t('grants.stop'), { class: 'btn secondary', id: 'stop-sharing' });
  stop.addEventListener('click', async () => {
    if (await stopSharing(ctx, stop, notice, g.id, g.providerName)) reload();
  });
  // Once shortened, a grant is not shortened again: "Stop sharing" ends it sooner still.
  const earlier = g.endsEarly === null && g.notAfter - d.now > DAY
    ? button(t('grants.shorten.open'), { class: 'btn secondary', id: 'shorten-sharing' })
    : null;
  earlier?.addEventListener('click', async () => {
    if (await shorten(ctx, earlier, notice, d)) reload();
  });
  const erase = button(t('grants.erase.open'), { class: 'btn danger-outline', id: 'erase-shared' });
  erase.addEventListener('click', async () => {
    const yes = await confirmDialog({
      title: t('grants.erase.title', { who: g.providerName }),
      body: h('div', null, h('p', null, t('grants.erase.body1')), h('p', null, t('grants.erase.body2'))),
      confirm: t('grants.erase.confirm'),
      danger: true,
    });
    if (!yes) return;
    const receipt = await busy(erase, notice, () => ctx.backend.eraseGrant({ grantId: g.id }));
    if (receipt) {
      ctx.session.receipt = receipt;
      ctx.go('#/receipt');
    }
  });
  return h('section', { class: 'card grant-actions', 'aria-labelledby': headId },
    h('h2', { id: headId }, t('grants.actions.title')),
    h('div', { class: 'action-row' }, stop, h('p', { class: 'hint' }, t('grants.actions.stopHint'))),
    earlier ? h('div', { class: 'action-row' }, earlier, h('p', { class: 'hint' }, t('grants.actions.shortenHint'))) : null,
    h('div', { class: 'action-row' }, erase, h('p', { class: 'hint' }, t('grants.actions.eraseHint'))));
}

function grantTechnical(g: GrantView): HTMLElement {
  return technical([
    [t('grants.tech.id'), h('code', { class: 'key' }, g.id)],
    [t('grants.tech.providerKey'), h('code', { class: 'key' }, g.providerKey)],
    [t('grants.tech.purpose'), g.purpose],
    [t('grants.tech.status'), g.status + (g.endsAs ? ` (${g.endsAs})` : '')],
    ...(g.waitingFor.length ? [[t('grants.tech.waitingFor'), g.waitingFor.join(', ')] as [string, Child]] : []),
    ...(g.endsEarly !== null ? [[t('grants.tech.signedEnd'), formatDateTime(g.notAfter)] as [string, Child]] : []),
  ]);
}

export const grantPage: Screen = {
  get title() { return t('grants.page.title'); },
  needs: 'unlocked',
  render: async (ctx) => {
    const notice = new Notice();
    const id = ctx.params.id ?? '';
    const body = h('div', { class: 'grant-body' });
    const heading = h('h1', { tabindex: '-1' }, t('grants.page.title'));
    const lead = h('p', { class: 'lead' });
    const back = h('p', { class: 'back-links' },
      h('a', { class: 'back', href: '#/home' }, `\u2190 ${t('grants.page.backHome')}`), ' \u00b7 ',
      h('a', { class: 'back', href: '#/grants' }, t('grants.page.all')));
    const load = async (quiet: boolean) => {
      try {
        const [d, records] = await Promise.all([ctx.backend.grantDetail({ grantId: id }), ctx.backend.listRecords()]);
        const titles = new Map(records.map((r) => [r.id, r.title]));
        heading.textContent = d.grant.providerName;
        document.title = `${d.grant.providerName} \u2014 Carekey`;
        lead.textContent = statusLead(d);
        lead.className = `lead status-line status-${d.grant.status}`;
        replace(body,
          whatShared(d), withWhom(d), when(d),
          actions(ctx, d, notice, () => void load(true)),
          history(d, titles),
          grantTechnical(d.grant));
        if (quiet) heading.focus();
      } catch (err) {
        notice.error(err);
        replace(body);
      }
    };
    await load(false);
    return h('div', { class: 'page grant-page' },
      back,
      h('header', { class: 'page-head' }, heading, lead),
      notice.el, body);
  },
};
