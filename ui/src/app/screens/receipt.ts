import type { GrantView } from '../../bindings/GrantView';
import type { ReceiptView } from '../../bindings/ReceiptView';
import { h } from '../../lib/dom';
import { formatDateTime } from '../../lib/format';
import { t } from '../../i18n';
import type { Ctx, Screen } from '../context';
import { Notice, busy, button, page, section, textInput, withPathChooser } from '../ui';

/**
 * The erasure receipt as a readable page (issue 10): shows `ctx.session.receipt`, prints and
 * saves as PDF, keeps the JSON attached. Every erasure (a record, a grant, everything) goes here.
 */

/** Plain titles the screen that erased something knows (a record's title is gone from the wallet after). */
const titles = new WeakMap<ReceiptView, string>();

/** Tells the receipt page what the patient called the erased thing ("Penicillin allergy", "Dr. Berg"). */
export function rememberReceiptTitle(receipt: ReceiptView, title: string): void {
  titles.set(receipt, title);
}

type Kind = 'record' | 'grant' | 'wallet' | 'other';

function kindOf(r: ReceiptView): { kind: Kind; id: string | null; title: string | null } {
  if (r.subject === 'wallet') return { kind: 'wallet', id: null, title: null };
  // The wallet says "record <id> (<title>)" or "record <id>"; "grant <id>".
  const m = /^(record|grant)\s+(\S+)(?:\s+\((.*)\))?$/.exec(r.subject);
  if (m) return { kind: m[1] as Kind, id: m[2], title: m[3] ?? null };
  return { kind: 'other', id: null, title: null };
}

async function subjectText(ctx: Ctx, r: ReceiptView): Promise<string> {
  const { kind, id, title } = kindOf(r);
  const known = titles.get(r) ?? title;
  switch (kind) {
    case 'wallet':
      return t('receipt.subject.wallet');
    case 'record':
      return known ? t('receipt.subject.record', { title: known }) : t('receipt.subject.recordUnknown');
    case 'grant': {
      let name = known;
      if (!name && ctx.status.unlocked) {
        const grants: GrantView[] = await ctx.backend.listGrants().catch(() => []);
        name = grants.find((g) => g.id === id)?.providerName ?? null;
      }
      return name ? t('receipt.subject.grant', { name }) : t('receipt.subject.grantUnknown');
    }
    default:
      return r.subject;
  }
}

function destroyedLines(kind: Kind): string[] {
  switch (kind) {
    case 'record': return ['record.key', 'record.file', 'record.backups'].map((k) => t(`receipt.destroyed.${k}`));
    case 'grant': return ['grant.keys', 'grant.copy'].map((k) => t(`receipt.destroyed.${k}`));
    case 'wallet': return ['wallet.keys', 'wallet.device', 'wallet.shares'].map((k) => t(`receipt.destroyed.${k}`));
    default: return [];
  }
}

/** Backups the wallet could not delete: the patient has to act ("… could not be deleted (…): delete it yourself"). */
function deleteYourself(pending: readonly string[]): string[] {
  return pending.flatMap((line) => {
    const m = /^backup (.+?) could not be deleted\b/.exec(line);
    return m ? [t('receipt.pending.deleteYourself', { path: m[1] })] : [];
  });
}

function list(items: readonly string[], cls?: string): HTMLElement {
  return h('ul', { class: cls ?? null }, ...items.map((d) => h('li', null, d)));
}

function saver(ctx: Ctx, r: ReceiptView): HTMLElement {
  const notice = new Notice();
  const day = new Date(r.erasedAt * 1000).toISOString().slice(0, 10);
  const path = withPathChooser(ctx.backend, textInput(t('receipt.saveField'), { value: `carekey-erasure-receipt-${day}.json`, autocomplete: 'off' }),
    'save', t('receipt.saveDialog'));
  const save = button(t('receipt.save'), { class: 'btn primary', id: 'save-receipt' });
  save.addEventListener('click', async () => {
    const target = path.input.value.trim();
    if (!target) {
      notice.problem(t('receipt.saveMissing'));
      path.input.focus();
      return;
    }
    const ok = await busy(save, notice, async () => { await ctx.backend.saveText({ path: target, text: r.json }); return true; });
    if (ok) notice.ok(t('receipt.saved', { path: target }));
  });
  return section(t('receipt.saveHead'), h('p', null, t('receipt.saveText')), h('div', { class: 'row' }, path.wrap, save), notice.el);
}

export const receiptPage: Screen = {
  get title() { return t('receipt.title'); },
  needs: 'nothing',
  render: async (ctx) => {
    const r = ctx.session.receipt;
    if (!r) {
      return page(t('receipt.title'), null, h('div', { class: 'card' },
        h('p', null, t('receipt.none')),
        h('a', { class: 'btn primary', href: ctx.status.unlocked ? '#/home' : '#/' }, t('receipt.home'))));
    }
    const status = await ctx.refreshStatus().catch(() => ctx.status);
    const { kind } = kindOf(r);
    const subject = await subjectText(ctx, r);
    const gone = !status.walletExists;
    const yourself = deleteYourself(r.pending);
    const waiting = r.pending.length - yourself.length;

    const printBtn = button(t('receipt.print'), { class: 'btn secondary', id: 'print-receipt', 'aria-describedby': 'print-hint' });
    printBtn.addEventListener('click', () => window.print());
    ctx.announce(t('receipt.announce'));

    const sheet = h('article', { class: 'card receipt-sheet print-area', 'aria-labelledby': 'receipt-subject-head' },
      h('h2', { id: 'receipt-subject-head' }, t('receipt.what')),
      h('p', { class: 'receipt-subject' }, subject),
      h('h2', null, t('receipt.when')),
      h('p', null, h('time', { datetime: new Date(r.erasedAt * 1000).toISOString() }, formatDateTime(r.erasedAt))),
      h('h2', null, t('receipt.destroyed')),
      list(destroyedLines(kind)),
      h('p', null, r.ledgerNodes.length ? t('receipt.proof', { n: r.ledgerNodes.length }) : t('receipt.proof.none')),
      h('h2', null, t('receipt.pending')),
      r.pending.length === 0
        ? h('p', null, t('receipt.pending.none'))
        : h('div', { class: 'pending' },
          waiting > 0 ? h('p', null, t('receipt.pending.some', { n: waiting })) : null,
          yourself.length ? list(yourself) : null),
      h('h2', null, t('receipt.limits')),
      list(['downloaded', 'saved', 'handBackups'].map((k) => t(`receipt.limits.${k}`)), 'limits'),
      h('p', { class: 'print-only receipt-note' }, t('receipt.printNote')));

    return page(t('receipt.title'), t('receipt.lead'),
      sheet,
      h('div', { class: 'actions receipt-actions no-print' }, printBtn,
        h('p', { class: 'hint', id: 'print-hint' }, t('receipt.printHint'))),
      h('div', { class: 'no-print receipt-save' }, saver(ctx, r)),
      gone
        ? h('div', { class: 'card no-print receipt-finish' }, h('p', null, t('receipt.finishText')),
          h('div', { class: 'actions' }, h('a', { class: 'btn primary', href: '#/welcome', id: 'receipt-finish' }, t('receipt.finish'))))
        : null,
      h('details', { class: 'card tech no-print' },
        h('summary', null, t('common.technicalDetails')),
        h('dl', { class: 'facts' },
          h('dt', null, t('receipt.tech.subject')), h('dd', null, h('code', null, r.subject)),
          h('dt', null, t('receipt.tech.destroyed')), h('dd', null, list(r.destroyed)),
          r.pending.length ? [h('dt', null, t('receipt.tech.pending')), h('dd', null, list(r.pending))] : null,
          h('dt', null, t('receipt.tech.limits')), h('dd', null, list(r.limits)),
          h('dt', null, t('receipt.tech.nodes')), h('dd', null, list(r.ledgerNodes))),
        h('pre', { class: 'json', tabindex: '0', 'aria-label': t('receipt.tech.json') }, h('code', null, r.json))));
  },
};
