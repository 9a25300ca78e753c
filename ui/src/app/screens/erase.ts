import type { ReceiptView } from '../../bindings/ReceiptView';
import { h, replace, uid } from '../../lib/dom';
import { formatDateTime, grantStatusLabel } from '../../lib/format';
import type { Ctx, Screen } from '../context';
import { Notice, busy, button, confirmDialog, loading, page, section, textInput, withPathChooser } from '../ui';

function receiptView(ctx: Ctx, r: ReceiptView, after?: HTMLElement): HTMLElement {
  const notice = new Notice();
  const path = withPathChooser(ctx.backend, textInput('Save the receipt to', { value: `carekey-erasure-receipt-${r.erasedAt}.json`, autocomplete: 'off' }), 'save', 'Save the erasure receipt');
  const save = button('Save receipt', { class: 'btn primary' });
  save.addEventListener('click', async () => {
    const ok = await busy(save, notice, async () => { await ctx.backend.saveText({ path: path.input.value.trim(), text: r.json }); return true; });
    if (ok) notice.ok(`Receipt saved to ${path.input.value.trim()}.`);
  });
  const headId = uid('receipt');
  return h('section', { class: 'card receipt', 'aria-labelledby': headId, tabindex: '-1' },
    h('h2', { id: headId }, 'Erasure receipt'),
    h('dl', { class: 'facts' },
      h('dt', null, 'Erased'), h('dd', null, r.subject),
      h('dt', null, 'When'), h('dd', null, formatDateTime(r.erasedAt)),
      h('dt', null, 'Logged on'), h('dd', null, r.ledgerNodes.length ? r.ledgerNodes.map((n) => h('code', { class: 'block' }, n)) : 'No node yet: waiting in the outbox')),
    h('h3', null, 'What was destroyed'),
    h('ul', null, ...r.destroyed.map((d) => h('li', null, d))),
    r.pending.length ? h('h3', null, 'Still to do (Carekey keeps trying)') : null,
    r.pending.length ? h('ul', { class: 'pending', role: 'status' }, ...r.pending.map((d) => h('li', null, d))) : null,
    h('h3', null, 'What this cannot reach'),
    h('ul', { class: 'limits' }, ...r.limits.map((d) => h('li', null, d))),
    h('details', null, h('summary', null, 'Show the full receipt (JSON)'),
      h('pre', { class: 'json', tabindex: '0', 'aria-label': 'Erasure receipt JSON' }, h('code', null, r.json))),
    h('div', { class: 'row' }, path.wrap, save), notice.el, after ?? null);
}

export const erase: Screen = {
  title: 'Erase',
  needs: 'unlocked',
  render: async (ctx) => {
    const notice = new Notice();
    const result = h('div', { class: 'receipt-area' });
    const show = (r: ReceiptView, after?: HTMLElement) => {
      ctx.session.receipt = r;
      replace(result, receiptView(ctx, r, after));
      (result.firstElementChild as HTMLElement).focus();
      ctx.announce(`Erased ${r.subject}. Receipt ready.`);
    };
    const forms = h('div', { class: 'grid3' }, loading());

    const load = async () => {
      const [records, grants] = await Promise.all([ctx.backend.listRecords(), ctx.backend.listGrants()]);
      const recId = uid('er');
      const recSelect = h('select', { id: recId }, ...records.map((r) => h('option', { value: r.id }, `${r.title}${r.detail ? ` (${r.detail})` : ''}`)));
      const recBtn = button('Erase record', { class: 'btn danger', disabled: records.length === 0 });
      recBtn.addEventListener('click', async () => {
        const title = recSelect.selectedOptions[0]?.textContent ?? 'this record';
        if (!(await confirmDialog({ title: `Erase “${title}”?`, body: 'Its key is destroyed on this device and its copies are deleted from the ledger nodes. This cannot be undone.', confirm: 'Erase record', danger: true }))) return;
        const r = await busy(recBtn, notice, () => ctx.backend.eraseRecord({ id: recSelect.value }));
        if (r) { show(r); void load(); }
      });

      const shareable = grants.filter((g) => g.status !== 'erased');
      const grantId = uid('eg');
      const grantSelect = h('select', { id: grantId }, ...shareable.map((g) => h('option', { value: g.id }, `${g.providerName} · ${grantStatusLabel(g.status)}`)));
      const grantBtn = button('Erase shared copy', { class: 'btn danger', disabled: shareable.length === 0 });
      grantBtn.addEventListener('click', async () => {
        const name = grantSelect.selectedOptions[0]?.textContent ?? 'this grant';
        if (!(await confirmDialog({ title: `Erase what you shared with ${name}?`, body: 'The key wraps and the shared copies on the nodes are destroyed; the provider can no longer fetch anything under this grant. Your own records stay.', confirm: 'Erase shared copy', danger: true }))) return;
        const r = await busy(grantBtn, notice, () => ctx.backend.eraseGrant({ grantId: grantSelect.value }));
        if (r) { show(r); void load(); }
      });

      const typed = textInput('Type ERASE to confirm', { autocomplete: 'off', spellcheck: 'false' });
      const allBtn = button('Erase everything', { class: 'btn danger' });
      allBtn.addEventListener('click', async () => {
        if (typed.input.value.trim() !== 'ERASE') {
          notice.problem('Type ERASE in capitals to erase the whole wallet.');
          typed.input.focus();
          return;
        }
        if (!(await confirmDialog({ title: 'Erase the whole wallet?', body: 'Every record key, every grant and the wallet itself are destroyed on this device and on the nodes. Only the receipt remains. This cannot be undone.', confirm: 'Erase everything', danger: true }))) return;
        const r = await busy(allBtn, notice, () => ctx.backend.eraseAll());
        if (r) {
          const finish = h('a', { class: 'btn primary', href: '#/welcome' }, 'Finish');
          replace(forms);
          show(r, h('div', { class: 'actions' }, h('p', null, 'Save the receipt now: the wallet is gone.'), finish));
          await ctx.refreshStatus();
        }
      });

      replace(forms,
        section('One record',
          records.length ? h('div', { class: 'field' }, h('label', { for: recId }, 'Record'), recSelect) : h('p', { class: 'muted' }, 'No records.'),
          h('div', { class: 'actions' }, recBtn)),
        section('One grant’s shared copy',
          shareable.length ? h('div', { class: 'field' }, h('label', { for: grantId }, 'Grant'), grantSelect) : h('p', { class: 'muted' }, 'No grants.'),
          h('div', { class: 'actions' }, grantBtn)),
        section('Everything', h('p', null, 'The whole wallet: all records, grants and keys.'), typed.wrap, h('div', { class: 'actions' }, allBtn)));
    };
    load().catch((err) => { notice.error(err); replace(forms); });

    return page('Erase', 'Crypto-erasure: Carekey destroys the keys, so every copy it made becomes unreadable, and you get a receipt as proof.',
      h('section', { class: 'card explain', 'aria-labelledby': 'erase-honest' },
        h('h2', { id: 'erase-honest' }, 'What erasure can and cannot reach'),
        h('div', { class: 'two' },
          h('div', null, h('h3', null, 'Erased'), h('ul', null,
            h('li', null, 'The record keys on this device: key index, keyring, caches.'),
            h('li', null, 'The encrypted copies and key wraps held by your ledger nodes.'),
            h('li', null, 'Backups this wallet wrote are re-written, so neither they nor your recovery kit bring an erased key back.'),
            h('li', null, 'Older copies of a backup, even ones you made by hand, stop opening: their key share on your remote ledger nodes is deleted.'),
            h('li', null, 'A signed erasure entry goes on the ledger; your receipt proves it is there.'))),
          h('div', null, h('h3', null, 'Out of reach'), h('ul', { class: 'limits' },
            h('li', null, 'Copies a provider already downloaded and decrypted.'),
            h('li', null, 'Files you exported by hand (Export on a record).'),
            h('li', null, 'Backup files you copied by hand while no remote ledger node was pinned (only this device’s built-in node): delete those yourself.'))))),
      notice.el, forms, result);
  },
};
