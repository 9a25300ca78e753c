import type { AccessView } from '../../bindings/AccessView';
import type { GrantView } from '../../bindings/GrantView';
import { h, replace } from '../../lib/dom';
import { accessSeverity, formatDate, formatDateTime, grantStatusLabel, resourceTypeLabel, shortKey } from '../../lib/format';
import type { Ctx, Screen } from '../context';
import { Notice, badge, busy, button, confirmDialog, loading, page } from '../ui';

const ORDER = ['active', 'ending', 'expired', 'revoked', 'erased'];

/** Plain words for ledger nodes that have not yet confirmed the end of a grant. */
export function waitingText(nodes: string[]): string {
  const n = nodes.length;
  return `waiting for ${n} ledger node${n === 1 ? '' : 's'} to confirm (${nodes.join(', ')}); until then ${n === 1 ? 'it' : 'they'} may still hand out the records. Carekey keeps trying.`;
}

function grantCard(ctx: Ctx, g: GrantView, notice: Notice, reload: () => void): HTMLElement {
  const revoke = g.status === 'active' ? button('Revoke', { class: 'btn danger', 'aria-label': `Revoke access for ${g.providerName}` }) : null;
  revoke?.addEventListener('click', async () => {
    const yes = await confirmDialog({
      title: `Revoke access for ${g.providerName}?`,
      body: h('div', null,
        h('p', null, 'Ledger nodes refuse this grant from the moment the revocation is logged, and your records are re-keyed so later versions are unreadable to this provider.'),
        h('p', null, 'Records the provider has already downloaded stay with them.')),
      confirm: 'Revoke access',
      danger: true,
    });
    if (!yes) return;
    const r = await busy(revoke, notice, () => ctx.backend.revoke({ grantId: g.id }));
    if (r) {
      const rekeyed = `${r.rekeyed} record${r.rekeyed === 1 ? '' : 's'} re-keyed.`;
      notice.ok(r.waitingFor.length
        ? `Access for ${g.providerName} is ending: ${waitingText(r.waitingFor)} ${rekeyed}`
        : `Access for ${g.providerName} revoked. ${rekeyed}`);
      for (const p of r.backupProblems) notice.error(p);
      reload();
    }
  });
  return h('li', { class: `grant card status-${g.status}` },
    h('div', { class: 'grant-head' }, h('h3', null, g.providerName), badge(grantStatusLabel(g.status), g.status)),
    h('p', { class: 'muted' }, g.purpose),
    g.status === 'ending'
      ? h('p', { class: 'pending', role: 'status' }, `${g.endsAs === 'erased' ? 'Erased' : 'Revoked'} on this device; ${waitingText(g.waitingFor)}`)
      : null,
    h('dl', { class: 'facts compact' },
      h('dt', null, 'Valid'), h('dd', null, `${formatDate(g.notBefore)} – ${formatDate(g.notAfter)}`),
      h('dt', null, 'Shares'), h('dd', null, `${g.records.length} record${g.records.length === 1 ? '' : 's'}`,
        g.resourceTypes.length ? ` · ${g.resourceTypes.map(resourceTypeLabel).join(', ')}` : ''),
      h('dt', null, 'Grant'), h('dd', null, h('code', null, shortKey(g.id, 8, 4)))),
    revoke ? h('div', { class: 'actions' }, revoke) : null);
}

export const grants: Screen = {
  title: 'Grants',
  needs: 'unlocked',
  render: (ctx) => {
    const notice = new Notice();
    const area = h('div', { 'aria-live': 'polite' }, loading('Loading grants…'));
    const load = async () => {
      try {
        const list = await ctx.backend.listGrants();
        if (list.length === 0) {
          replace(area, h('div', { class: 'empty' }, h('p', null, 'You have not shared anything yet.'), h('a', { class: 'btn primary', href: '#/share' }, 'Share with a provider')));
          return;
        }
        const statuses = [...ORDER, ...new Set(list.map((g) => g.status).filter((s) => !ORDER.includes(s)))];
        replace(area, ...statuses.map((s) => {
          const group = list.filter((g) => g.status === s);
          if (group.length === 0) return null;
          return h('section', { class: 'group', 'aria-labelledby': `grants-${s}` },
            h('h2', { id: `grants-${s}` }, grantStatusLabel(s), h('span', { class: 'count' }, ` ${group.length}`)),
            h('ul', { class: 'grants' }, ...group.map((g) => grantCard(ctx, g, notice, () => void load()))));
        }));
      } catch (err) {
        notice.error(err);
        replace(area);
      }
    };
    void load();
    return page('Grants', 'Who may read which of your records, and until when.', notice.el, area);
  },
};

function accessItem(a: AccessView, titles: Map<string, string>): HTMLElement {
  const severity = accessSeverity(a.verification);
  const names = a.records.map((id) => titles.get(id) ?? `record ${shortKey(id, 6, 0)}`);
  return h('li', { class: `event ${severity}` },
    h('div', { class: 'event-when' }, h('time', { datetime: new Date(a.servedAt * 1000).toISOString() }, formatDateTime(a.servedAt))),
    h('div', { class: 'event-body' },
      h('p', { class: 'event-who' }, h('strong', null, a.providerName), ` read ${names.length} record${names.length === 1 ? '' : 's'}`),
      h('p', { class: 'event-what' }, names.join(', ')),
      h('p', { class: 'muted small' }, 'Grant ', h('code', null, shortKey(a.grantId, 8, 4)), ` · log entry ${a.index} on `, h('code', null, a.node),
        a.independentlyChecked ? null : ' · not independently checked (the node has no witnesses)'),
      severity === 'ok'
        ? h('p', { class: 'verification ok' }, h('span', { 'aria-hidden': 'true' }, '✓ '), 'Verified on the ledger')
        : h('p', { class: `verification ${severity}`, role: severity === 'alarm' ? 'alert' : null },
          h('span', { class: 'verdict-mark', 'aria-hidden': 'true' }, '!'), h('strong', null, severity === 'alarm' ? 'Not genuine: ' : 'Not verified: '), a.verification)));
}

export const accessLog: Screen = {
  title: 'Access log',
  needs: 'unlocked',
  render: (ctx) => {
    const notice = new Notice();
    const area = h('div', { 'aria-live': 'polite' }, loading('Loading the access log…'));
    void (async () => {
      try {
        const [events, records] = await Promise.all([ctx.backend.accessLog(), ctx.backend.listRecords()]);
        const titles = new Map(records.map((r) => [r.id, r.title]));
        if (events.length === 0) {
          replace(area, h('div', { class: 'empty' }, h('p', null, 'No provider has read any of your records yet.')));
          return;
        }
        const sorted = [...events].sort((a, b) => b.servedAt - a.servedAt);
        const alarms = sorted.filter((e) => accessSeverity(e.verification) === 'alarm').length;
        replace(area,
          alarms ? h('div', { class: 'verdict alarm', role: 'alert' }, h('span', { class: 'verdict-mark', 'aria-hidden': 'true' }, '!'),
            h('div', null, h('strong', { class: 'verdict-head' }, `${alarms} access event${alarms === 1 ? '' : 's'} could not be verified`),
              h('p', null, 'Someone presented a grant that does not check out. Consider revoking the grant concerned and contacting the provider.'))) : null,
          h('ol', { class: 'timeline' }, ...sorted.map((e) => accessItem(e, titles))));
      } catch (err) {
        notice.error(err);
        replace(area);
      }
    })();
    return page('Access log', 'Every time a provider read your records, as recorded on the ledger and checked by this device.', notice.el, area);
  },
};
