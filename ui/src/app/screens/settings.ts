import type { NodeView } from '../../bindings/NodeView';
import type { SettingsView } from '../../bindings/SettingsView';
import type { SyncView } from '../../bindings/SyncView';
import { h, replace, uid } from '../../lib/dom';
import { formatDateTime } from '../../lib/format';
import { svgDataUrl } from '../../lib/qr';
import type { Ctx, Screen } from '../context';
import { comfortSection } from './comfort';
import { Notice, badge, busy, button, checkbox, confirmDialog, loading, page, passphraseFields, section, textInput, withPathChooser } from '../ui';

/** The banner text for a ledger alarm, or null. Used by the shell after unlock too. */
export function alarmText(settings: SettingsView | null, sync: SyncView | null): string | null {
  const nodes = [
    ...(settings?.nodes.filter((n) => n.evidence).map((n) => n.url) ?? []),
    ...(sync?.nodes.filter((n) => n.alarm).map((n) => n.url) ?? []),
  ];
  if (nodes.length === 0) return null;
  return `A ledger node was caught lying about its log — two different histories (a split view or a fork), or an acknowledged entry left out (${[...new Set(nodes)].join(', ')}). Carekey kept the node's signed statements as evidence. Do not trust this node until its operator explains it.`;
}

/** Words shown wherever the results of a node pinned without witnesses appear. */
export const NOT_INDEPENDENTLY_CHECKED = 'not independently checked';

/** Freshness only when a witness vouched for the view; never for a node without witnesses. */
function checkedText(n: SyncView['nodes'][number]): string {
  if (!n.independentlyChecked) return ` — ${NOT_INDEPENDENTLY_CHECKED} (no witnesses)`;
  return n.freshAsOf === null ? '' : `; up to date as of ${formatDateTime(n.freshAsOf)}`;
}

function syncResults(view: SyncView): HTMLElement {
  return h('ul', { class: 'sync-results' }, ...view.nodes.map((n) =>
    h('li', { class: n.alarm || n.failed ? 'alarm' : n.problem ? 'warning' : 'ok' },
      h('code', null, n.url), ' ',
      n.alarm ? h('strong', null, `ALARM: ${n.problem ?? 'split view'}`)
        : n.failed ? h('strong', null, `Failed verification: ${n.problem ?? 'unknown'}`)
        : n.problem ? h('span', null, `Could not check: ${n.problem}`)
        : h('span', null, `Verified: ${n.verifiedSize ?? 0} log entries, all checks passed${checkedText(n)}`))),
  h('li', null, `${view.newAccessEvents} new access event${view.newAccessEvents === 1 ? '' : 's'}; ${view.outboxPending} change${view.outboxPending === 1 ? '' : 's'} waiting to be published`));
}

function nodesSection(ctx: Ctx, s: SettingsView, reload: () => void): HTMLElement {
  const notice = new Notice();
  const results = h('div', { class: 'sync-area' });
  const syncBtn = button('Sync now', { class: 'btn primary' });
  const verifiedCells = new Map<string, HTMLElement>();
  const verifiedCell = (url: string, size: number | null): HTMLElement => {
    const dd = h('dd', null, size === null ? 'not yet verified' : `${size} entries`);
    verifiedCells.set(url, dd);
    return dd;
  };
  syncBtn.addEventListener('click', async () => {
    const view = await busy(syncBtn, notice, () => ctx.backend.sync(), results);
    if (!view) return;
    replace(results, syncResults(view));
    // Keep the node cards in step with what this sync verified.
    for (const n of view.nodes) {
      const dd = verifiedCells.get(n.url);
      if (dd && n.verifiedSize !== null) dd.textContent = `${n.verifiedSize} entries`;
    }
    const alarm = alarmText(null, view);
    if (alarm) ctx.setAlarm(alarm);
    const failed = view.nodes.filter((n) => n.alarm || n.failed).length;
    const problems = view.nodes.filter((n) => n.problem).length;
    if (view.failed) notice.problem(`Sync failed: ${failed} of ${view.nodes.length} nodes served a log that does not verify. Nothing they served was accepted.`);
    else if (problems) notice.problem(`${problems} of ${view.nodes.length} nodes could not be reached. Changes wait in the outbox and are retried.`);
    else notice.ok('Sync complete: every node verified.');
  });
  return section('Ledger nodes and witnesses',
    h('p', null, 'Your wallet publishes grants, revocations and erasures to these nodes and checks every answer against keys you pinned. It never trusts a node.'),
    h('ul', { class: 'nodes' }, ...s.nodes.map((n) => nodeCard(ctx, s, n, verifiedCell, reload))),
    h('p', { class: s.outboxPending ? 'notice info' : 'muted' }, `Outbox: ${s.outboxPending} change${s.outboxPending === 1 ? '' : 's'} waiting to be published.`),
    h('div', { class: 'actions' }, syncBtn), notice.el, results,
    addNodeForm(ctx, reload), witnessPolicyForm(ctx, s, reload));
}

function plural(n: number, one: string): string {
  return `${n} ${one}${n === 1 ? '' : 's'}`;
}

function nodeCard(ctx: Ctx, s: SettingsView, n: NodeView, verifiedCell: (url: string, size: number | null) => HTMLElement, reload: () => void): HTMLElement {
  const notice = new Notice();
  const moveBtn = button('Move…', { class: 'btn secondary', 'aria-label': `Move ${n.url} to a new address`, 'aria-expanded': 'false' });
  const removeBtn = button('Remove', { class: 'btn danger', 'aria-label': `Remove ${n.url}` });
  const to = textInput('New address of this log', { type: 'url', autocomplete: 'off', placeholder: 'https://ledger.example.org' }, 'Same log and key, new host or port. What Carekey verified so far is kept.');
  const confirmMove = button('Move node', { type: 'submit', class: 'btn primary' });
  const moveForm = h('form', { class: 'form inline-form', novalidate: true, hidden: true, 'aria-label': `Move ${n.url}` }, to.wrap, h('div', { class: 'actions' }, confirmMove));
  moveBtn.addEventListener('click', () => {
    moveForm.hidden = !moveForm.hidden;
    moveBtn.setAttribute('aria-expanded', String(!moveForm.hidden));
    if (!moveForm.hidden) to.input.focus();
  });
  moveForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const target = to.input.value.trim();
    const ok = await busy(confirmMove, notice, async () => { await ctx.backend.moveNode({ from: n.url, to: target }); return true; }, moveForm);
    if (ok) {
      ctx.announce(`Node moved to ${target}.`);
      reload();
    }
  });
  removeBtn.addEventListener('click', async () => {
    const yes = await confirmDialog({
      title: `Remove ${n.url}?`,
      body: h('div', null,
        h('p', null, 'Carekey stops publishing to this node and stops checking its log. Receipts it already gave you are kept.'),
        n.outboxPending ? h('p', null, h('strong', null, `${plural(n.outboxPending, 'change')} still waiting for it will be dropped.`)) : null,
        n.url === s.embeddedNode ? h('p', null, 'This is the node built into this app: it is pinned again the next time you unlock.') : null),
      confirm: 'Remove node',
      danger: true,
    });
    if (!yes) return;
    const r = await busy(removeBtn, notice, () => ctx.backend.removeNode({ url: n.url }));
    if (r) {
      ctx.announce(`Node ${r.url} removed; ${plural(r.droppedOutbox, 'waiting change')} dropped.`);
      reload();
    }
  });
  return h('li', { class: n.evidence ? 'node alarm' : 'node' },
    h('div', { class: 'grant-head' }, h('code', { class: 'node-url' }, n.url),
      n.evidence ? badge('EVIDENCE KEPT', 'alarm') : n.url === s.embeddedNode ? badge('This device', 'info') : null),
    h('dl', { class: 'facts compact' },
      h('dt', null, 'Verified size'), verifiedCell(n.url, n.verifiedSize),
      h('dt', null, 'Witnesses'), h('dd', null, n.quorum > 0 ? `${n.quorum} of ${n.witnessKeys.length} must cosign` : `none — ${NOT_INDEPENDENTLY_CHECKED}`),
      h('dt', null, 'Waiting'), h('dd', null, n.outboxPending
        ? `${plural(n.outboxPending, 'change')}${n.lastError ? ` — last attempt: ${n.lastError}` : ''}`
        : 'nothing'),
      h('dt', null, 'Log key'), h('dd', null, h('code', { class: 'key' }, n.logKey))),
    h('div', { class: 'actions' }, moveBtn, removeBtn), moveForm, notice.el);
}

function witnessPolicyForm(ctx: Ctx, s: SettingsView, reload: () => void): HTMLElement {
  const notice = new Notice();
  const id = uid('wp');
  const keys = h('textarea', { id, rows: '3', spellcheck: 'false', 'aria-describedby': `${id}-hint` });
  keys.value = s.witnessPolicy.witnessKeys.join('\n');
  const quorum = textInput('Required cosignatures', { type: 'number', min: '0', value: String(s.witnessPolicy.quorum), inputmode: 'numeric' }, 'How many of these witnesses must cosign each checkpoint.');
  const save = button('Save witness policy', { type: 'submit', class: 'btn secondary' });
  const current = s.witnessPolicy.witnessKeys.length
    ? `Now: ${s.witnessPolicy.quorum} of ${s.witnessPolicy.witnessKeys.length} witnesses must cosign.`
    : 'Now: no witnesses — a node you confirm from a request would vouch for its own log alone.';
  const form = h('form', { class: 'form', novalidate: true, 'aria-label': 'Witnesses for nodes a provider names' },
    h('h3', null, 'Witnesses for nodes a provider names'),
    h('p', null, 'A provider’s request can name a ledger node and its key, never its witnesses. When you confirm such a node, Carekey requires these witnesses for it.'),
    h('p', { class: s.witnessPolicy.witnessKeys.length ? 'muted' : 'notice info' }, current),
    h('div', { class: 'field' }, h('label', { for: id }, 'Required witness keys'), keys, h('p', { class: 'hint', id: `${id}-hint` }, 'One per line.')),
    quorum.wrap, notice.el, h('div', { class: 'actions' }, save));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const ok = await busy(save, notice, async () => {
      await ctx.backend.setWitnessPolicy({
        witnessKeys: keys.value.split('\n').map((w) => w.trim()).filter(Boolean), quorum: Number(quorum.input.value || '0'),
      });
      return true;
    }, form);
    if (ok) {
      ctx.announce('Witness policy saved.');
      reload();
    }
  });
  return form;
}

function addNodeForm(ctx: Ctx, reload: () => void): HTMLElement {
  const notice = new Notice();
  const url = textInput('Node URL', { type: 'url', placeholder: 'https://ledger.example.org', autocomplete: 'off' });
  const logKey = textInput('Log key', { autocomplete: 'off', placeholder: 'ledger.example.org+1a2b3c4d+AQ…' }, 'The node operator publishes it. Compare it through a second channel.');
  const witnessId = uid('w');
  const witnesses = h('textarea', { id: witnessId, rows: '3', spellcheck: 'false', 'aria-describedby': `${witnessId}-hint` });
  const quorum = textInput('Quorum', { type: 'number', min: '0', value: '1', inputmode: 'numeric' }, 'How many witnesses must cosign each checkpoint.');
  const noWitness = checkbox('Pin this node without witnesses', {},
    `Nothing but the node would vouch for its log: it could hide who read your records or hold you on an old view. Its results are shown as “${NOT_INDEPENDENTLY_CHECKED}”.`);
  const submit = button('Add node', { type: 'submit', class: 'btn secondary' });
  const form = h('form', { class: 'form', novalidate: true, 'aria-label': 'Add a ledger node' },
    h('h3', null, 'Add a node'), url.wrap, logKey.wrap,
    h('div', { class: 'field' }, h('label', { for: witnessId }, 'Witness keys'), witnesses, h('p', { class: 'hint', id: `${witnessId}-hint` }, 'One per line. A node on another computer needs at least one.')),
    quorum.wrap, noWitness.wrap, notice.el, h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const ok = await busy(submit, notice, async () => {
      await ctx.backend.addNode({
        url: url.input.value.trim(), logKey: logKey.input.value.trim(),
        witnessKeys: witnesses.value.split('\n').map((w) => w.trim()).filter(Boolean), quorum: Number(quorum.input.value || '0'),
        noWitness: noWitness.input.checked,
      });
      return true;
    }, form);
    if (ok) {
      ctx.announce(`Node ${url.input.value.trim()} added.`);
      reload();
    }
  });
  return form;
}

function securitySection(ctx: Ctx, s: SettingsView): HTMLElement {
  const notice = new Notice();
  const toggle = checkbox(`Unlock with this device’s keyring (${ctx.status.secretStore})`, { checked: s.keyringUnlock, role: 'switch' },
    'Anyone who can sign in to this computer account could then open the wallet without the passphrase.');
  toggle.input.addEventListener('change', async () => {
    const enabled = toggle.input.checked;
    toggle.input.disabled = true;
    try {
      await ctx.backend.setKeyringUnlock({ enabled });
      notice.ok(enabled ? 'Keyring unlock is on.' : 'Keyring unlock is off: the passphrase is needed every time.');
      await ctx.refreshStatus();
    } catch (err) {
      toggle.input.checked = !enabled;
      notice.error(err);
    } finally {
      toggle.input.disabled = false;
    }
  });
  const pass = passphraseFields('New passphrase');
  const change = button('Change passphrase', { type: 'submit', class: 'btn secondary' });
  const form = h('form', { class: 'form', novalidate: true, 'aria-label': 'Change passphrase' }, h('h3', null, 'Change passphrase'), pass.wrap, h('div', { class: 'actions' }, change));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const problem = pass.validate();
    if (problem) {
      notice.problem(problem);
      pass.focus();
      return;
    }
    const ok = await busy(change, notice, async () => { await ctx.backend.changePassphrase({ newPassphrase: pass.value() }); return true; }, form);
    if (ok) notice.ok('Passphrase changed.');
  });
  return section('Unlocking',
    h('dl', { class: 'facts compact' },
      h('dt', null, 'Key derivation'), h('dd', null, `Argon2id, ${s.kdf.memoryKib / 1024} MiB memory, ${s.kdf.iterations} passes, ${s.kdf.parallelism} lanes`)),
    toggle.wrap, form, notice.el);
}

function backupSection(ctx: Ctx, s: SettingsView): HTMLElement {
  const notice = new Notice();
  const path = withPathChooser(ctx.backend, textInput('Backup file', { value: 'carekey-backup.ckb', autocomplete: 'off' }, 'Put it somewhere other than this disk: a USB stick or another computer.'), 'save', 'Save a Carekey backup');
  const run = button('Back up now', { class: 'btn secondary' });
  const list = h('ul', { class: 'backups' }, ...s.backups.map((b) => h('li', null, h('code', null, b))));
  run.addEventListener('click', async () => {
    const b = await busy(run, notice, () => ctx.backend.backup({ path: path.input.value.trim() }));
    if (b) {
      const nodes = b.keyShareNodes.join(', ');
      if (b.keySharePending.length) {
        notice.problem(`Backup written to ${b.path}, but ${b.keySharePending.join(', ')} has not stored its key share yet (unreachable): until a node has it, this backup cannot be restored. Carekey retries on every sync.`);
      } else if (b.keyShareNodes.length) {
        notice.ok(`Backup written to ${b.path}. Sealed with a key share kept on ${nodes}: restoring needs one of them, and every erasure deletes it there, so older copies of this backup stop opening.`);
      } else {
        notice.ok(`Backup written to ${b.path}. No remote ledger node is pinned, so a copy of this backup keeps today’s keys even after an erasure.`);
      }
      list.append(h('li', null, h('code', null, b.path)));
    }
  });
  return section('Backup and restore',
    h('p', null, 'A backup holds your encrypted wallet. With your recovery words it restores everything on a new device; to restore, choose “Restore” when Carekey starts on that device.'),
    h('p', { class: 'muted' }, 'With a remote ledger node pinned, a backup is also sealed with a key share that node keeps: restoring needs the node, and every erasure deletes the share there, so older copies of a backup stop opening.'),
    h('div', { class: 'row' }, path.wrap, run), notice.el, list);
}

export const settings: Screen = {
  title: 'Settings',
  needs: 'unlocked',
  render: (ctx) => {
    const area = h('div', { class: 'settings' }, loading('Loading settings…'));
    const load = async () => {
      try {
        const s = await ctx.backend.settings();
        const alarm = alarmText(s, null);
        if (alarm) ctx.setAlarm(alarm);
        replace(area, comfortSection(ctx), nodesSection(ctx, s, () => void load()), securitySection(ctx, s), backupSection(ctx, s),
          section('This device', h('dl', { class: 'facts compact' },
            h('dt', null, 'Wallet folder'), h('dd', null, h('code', null, s.vaultDir)),
            h('dt', null, 'Built-in node'), h('dd', null, s.embeddedNode ? h('code', null, s.embeddedNode) : 'not running'),
            h('dt', null, 'Secret store'), h('dd', null, ctx.status.secretStore),
            h('dt', null, 'Backend'), h('dd', null, ctx.backend.kind === 'mock' ? 'Mock (browser test data)' : 'Carekey app'))));
      } catch (err) {
        const n = new Notice();
        n.error(err);
        replace(area, n.el);
      }
    };
    void load();
    return page('Settings', null, area);
  },
};

export const myQr: Screen = {
  title: 'My QR code',
  needs: 'unlocked',
  render: (ctx) => {
    const area = h('div', { class: 'card center' }, loading());
    void ctx.backend.myQr().then((qr) => {
      replace(area,
        h('img', { class: 'qr big', src: svgDataUrl(qr.svg), alt: 'Your Carekey QR code', width: '280', height: '280' }),
        h('p', { class: 'muted' }, 'It holds only your public keys: showing it reveals none of your records.'),
        h('p', null, h('code', { class: 'key uri' }, qr.uri)));
    }, (err) => {
      const n = new Notice();
      n.error(err);
      replace(area, n.el);
    });
    return page('My QR code', 'Show this to a provider so they can address an access request to you.', area);
  },
};
