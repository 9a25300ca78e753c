import type { BackupStateView } from '../../bindings/BackupStateView';
import type { DirectoryView } from '../../bindings/DirectoryView';
import type { NodeView } from '../../bindings/NodeView';
import type { SettingsView } from '../../bindings/SettingsView';
import type { SyncView } from '../../bindings/SyncView';
import { h, replace, uid } from '../../lib/dom';
import { agoPhrase, formatDate, formatDateTime } from '../../lib/format';
import { t } from '../../i18n';
import type { Ctx, Screen } from '../context';
import { issuersSection } from './cards';
import { comfortSection } from './comfort';
import { FolderPicker, backupFileIn, backupResult } from './backup-folder';
import { Notice, badge, busy, button, checkbox, confirmDialog, loading, page, passphraseFields, section, textInput, withPathChooser } from '../ui';

/** The banner text for a ledger alarm, or null. Used by the shell after unlock too. */
export function alarmText(settings: SettingsView | null, sync: SyncView | null): string | null {
  const nodes = [
    ...(settings?.nodes.filter((n) => n.evidence).map((n) => n.url) ?? []),
    ...(sync?.nodes.filter((n) => n.alarm).map((n) => n.url) ?? []),
  ];
  if (nodes.length === 0) return null;
  // Which node: under "Technical details" in Settings (its card says EVIDENCE KEPT).
  return t('settings.alarm', { n: new Set(nodes).size });
}

/** Words shown wherever the results of a node pinned without witnesses appear. */
export const NOT_INDEPENDENTLY_CHECKED = 'not independently checked';

function notChecked(): string {
  return t('settings.nodes.notChecked');
}

/** Freshness only when a witness vouched for the view; never for a node without witnesses. */
function checkedText(n: SyncView['nodes'][number]): string {
  if (!n.independentlyChecked) return t('settings.sync.noWitnesses', { notChecked: notChecked() });
  return n.freshAsOf === null ? '' : t('settings.sync.fresh', { at: formatDateTime(n.freshAsOf) });
}

function syncResults(view: SyncView): HTMLElement {
  return h('ul', { class: 'sync-results' }, ...view.nodes.map((n) =>
    h('li', { class: n.alarm || n.failed ? 'alarm' : n.problem ? 'warning' : 'ok' },
      h('code', null, n.url), ' ',
      n.alarm ? h('strong', null, t('settings.sync.alarm', { problem: n.problem ?? t('settings.sync.splitView') }))
        : n.failed ? h('strong', null, t('settings.sync.failedNode', { problem: n.problem ?? t('settings.sync.unknown') }))
        : n.problem ? h('span', null, t('settings.sync.couldNotCheck', { problem: n.problem }))
        : h('span', null, t('settings.sync.verified', { n: n.verifiedSize ?? 0 }), checkedText(n)))),
  h('li', null, t('settings.sync.newEvents', { n: view.newAccessEvents }), '; ', t('settings.sync.waiting', { n: view.outboxPending })));
}

function nodesSection(ctx: Ctx, s: SettingsView, reload: () => void): HTMLElement {
  const notice = new Notice();
  const results = h('div', { class: 'sync-area' });
  const syncBtn = button(t('settings.nodes.sync'), { class: 'btn primary' });
  const verifiedCells = new Map<string, HTMLElement>();
  const verifiedCell = (url: string, size: number | null): HTMLElement => {
    const dd = h('dd', null, size === null ? t('settings.nodes.notVerified') : t('settings.nodes.entries', { n: size }));
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
      if (dd && n.verifiedSize !== null) dd.textContent = t('settings.nodes.entries', { n: n.verifiedSize });
    }
    const alarm = alarmText(null, view);
    if (alarm) ctx.setAlarm(alarm);
    const failed = view.nodes.filter((n) => n.alarm || n.failed).length;
    const problems = view.nodes.filter((n) => n.problem).length;
    if (view.failed) notice.problem(t('settings.sync.failed', { failed, total: view.nodes.length }));
    else if (problems) notice.problem(t('settings.sync.unreachable', { problems, total: view.nodes.length }));
    else notice.ok(t('settings.sync.ok'));
  });
  return section(t('settings.nodes.title'),
    h('p', null, t('settings.nodes.intro')),
    h('ul', { class: 'nodes' }, ...s.nodes.map((n) => nodeCard(ctx, s, n, verifiedCell, reload))),
    h('p', { class: s.outboxPending ? 'notice info' : 'muted' }, t('settings.nodes.outbox', { n: s.outboxPending })),
    h('div', { class: 'actions' }, syncBtn), notice.el, results,
    addNodeForm(ctx, reload), witnessPolicyForm(ctx, s, reload));
}

function nodeCard(ctx: Ctx, s: SettingsView, n: NodeView, verifiedCell: (url: string, size: number | null) => HTMLElement, reload: () => void): HTMLElement {
  const notice = new Notice();
  const moveBtn = button(t('settings.node.move'), { class: 'btn secondary', 'aria-label': t('settings.node.moveLabel', { url: n.url }), 'aria-expanded': 'false' });
  const removeBtn = button(t('settings.node.remove'), { class: 'btn danger', 'aria-label': t('settings.node.removeLabel', { url: n.url }) });
  const to = textInput(t('settings.node.newAddress'), { type: 'url', autocomplete: 'off', placeholder: 'https://ledger.example.org' }, t('settings.node.newAddressHint'));
  const confirmMove = button(t('settings.node.moveSubmit'), { type: 'submit', class: 'btn primary' });
  const moveForm = h('form', { class: 'form inline-form', novalidate: true, hidden: true, 'aria-label': t('settings.node.moveForm', { url: n.url }) }, to.wrap, h('div', { class: 'actions' }, confirmMove));
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
      ctx.announce(t('settings.node.moved', { url: target }));
      reload();
    }
  });
  removeBtn.addEventListener('click', async () => {
    const yes = await confirmDialog({
      title: t('settings.node.removeTitle', { url: n.url }),
      body: h('div', null,
        h('p', null, t('settings.node.removeBody')),
        n.outboxPending ? h('p', null, h('strong', null, t('settings.node.removeDropped', { n: n.outboxPending }))) : null,
        n.url === s.embeddedNode ? h('p', null, t('settings.node.removeEmbedded')) : null),
      confirm: t('settings.node.removeConfirm'),
      danger: true,
    });
    if (!yes) return;
    const r = await busy(removeBtn, notice, () => ctx.backend.removeNode({ url: n.url }));
    if (r) {
      ctx.announce(t('settings.node.removed', { url: r.url, n: r.droppedOutbox }));
      reload();
    }
  });
  return h('li', { class: n.evidence ? 'node alarm' : 'node' },
    h('div', { class: 'grant-head' }, h('code', { class: 'node-url' }, n.url),
      n.evidence ? badge(t('settings.node.evidence'), 'alarm') : n.url === s.embeddedNode ? badge(t('settings.node.thisDevice'), 'info') : null),
    h('dl', { class: 'facts compact' },
      h('dt', null, t('settings.node.verifiedSize')), verifiedCell(n.url, n.verifiedSize),
      h('dt', null, t('settings.node.witnesses')), h('dd', null, n.quorum > 0
        ? t('settings.node.quorum', { quorum: n.quorum, total: n.witnessKeys.length })
        : t('settings.node.noWitness', { notChecked: notChecked() })),
      h('dt', null, t('settings.node.waiting')), h('dd', null, n.outboxPending
        ? [t('settings.node.changes', { n: n.outboxPending }), n.lastError ? t('settings.node.lastError', { error: n.lastError }) : '']
        : t('settings.node.nothing')),
      h('dt', null, t('settings.node.logKey')), h('dd', null, h('code', { class: 'key' }, n.logKey))),
    h('div', { class: 'actions' }, moveBtn, removeBtn), moveForm, notice.el);
}

function witnessPolicyForm(ctx: Ctx, s: SettingsView, reload: () => void): HTMLElement {
  const notice = new Notice();
  const id = uid('wp');
  const keys = h('textarea', { id, rows: '3', spellcheck: 'false', 'aria-describedby': `${id}-hint` });
  keys.value = s.witnessPolicy.witnessKeys.join('\n');
  const quorum = textInput(t('settings.policy.quorum'), { type: 'number', min: '0', value: String(s.witnessPolicy.quorum), inputmode: 'numeric' }, t('settings.policy.quorumHint'));
  const save = button(t('settings.policy.save'), { type: 'submit', class: 'btn secondary' });
  const current = s.witnessPolicy.witnessKeys.length
    ? t('settings.policy.now', { quorum: s.witnessPolicy.quorum, total: s.witnessPolicy.witnessKeys.length })
    : t('settings.policy.none');
  const form = h('form', { class: 'form', novalidate: true, 'aria-label': t('settings.policy.title') },
    h('h3', null, t('settings.policy.title')),
    h('p', null, t('settings.policy.intro')),
    h('p', { class: s.witnessPolicy.witnessKeys.length ? 'muted' : 'notice info' }, current),
    h('div', { class: 'field' }, h('label', { for: id }, t('settings.policy.keys')), keys, h('p', { class: 'hint', id: `${id}-hint` }, t('settings.policy.keysHint'))),
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
      ctx.announce(t('settings.policy.saved'));
      reload();
    }
  });
  return form;
}

function addNodeForm(ctx: Ctx, reload: () => void): HTMLElement {
  const notice = new Notice();
  const url = textInput(t('settings.addNode.url'), { type: 'url', placeholder: 'https://ledger.example.org', autocomplete: 'off' });
  const logKey = textInput(t('settings.addNode.logKey'), { autocomplete: 'off', placeholder: 'ledger.example.org+1a2b3c4d+AQ…' }, t('settings.addNode.logKeyHint'));
  const witnessId = uid('w');
  const witnesses = h('textarea', { id: witnessId, rows: '3', spellcheck: 'false', 'aria-describedby': `${witnessId}-hint` });
  const quorum = textInput(t('settings.addNode.quorum'), { type: 'number', min: '0', value: '1', inputmode: 'numeric' }, t('settings.addNode.quorumHint'));
  const noWitness = checkbox(t('settings.addNode.noWitness'), {}, t('settings.addNode.noWitnessHint', { notChecked: notChecked() }));
  const submit = button(t('settings.addNode.submit'), { type: 'submit', class: 'btn secondary' });
  const form = h('form', { class: 'form', novalidate: true, 'aria-label': t('settings.addNode.form') },
    h('h3', null, t('settings.addNode.title')), url.wrap, logKey.wrap,
    h('div', { class: 'field' }, h('label', { for: witnessId }, t('settings.addNode.witnesses')), witnesses, h('p', { class: 'hint', id: `${witnessId}-hint` }, t('settings.addNode.witnessesHint'))),
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
      ctx.announce(t('settings.addNode.added', { url: url.input.value.trim() }));
      reload();
    }
  });
  return form;
}

/** Settings → Backups: where backups stand, a backup now, and backups on a schedule. */
/** Re-reads Settings; `flash` is shown in the backups' result area, `focus` (an id) gets focus. */
type Reload = (after?: { flash?: HTMLElement[]; focus?: string }) => void;

function backupSection(ctx: Ctx, state: BackupStateView, now: number, reload: Reload, flash: HTMLElement[]): HTMLElement {
  const notice = new Notice();
  const status: HTMLElement[] = [];
  if (state.lastAt === null) {
    status.push(h('p', { class: 'callout warning' }, h('strong', null, t('settings.backup.none')), ' ', t('settings.backup.noneWhy')));
  } else {
    const when = agoPhrase(state.lastAt, now);
    status.push(h('p', { class: state.due ? 'callout warning' : 'backup-last' },
      state.lastPlace ? t('settings.backup.last', { when, place: state.lastPlace }) : t('settings.backup.lastNoPlace', { when }),
      state.due ? [' ', h('strong', null, t('settings.backup.due'))] : null));
  }
  if (state.sharePending) status.push(h('p', { class: 'notice info' }, t('settings.backup.sharePending')));

  const schedule = state.schedule;
  const picker = new FolderPicker(ctx, { initial: schedule?.folder ?? state.lastPlace, onUseAnyway: () => void pending?.() });
  let pending: (() => Promise<void>) | null = null;

  const run = button(t('settings.backup.run'), { class: 'btn primary' });
  const result = h('div', { class: 'backup-result' }, ...flash);
  const backUpNow = async () => {
    pending = backUpNow;
    replace(result);
    const folder = picker.folder();
    if (!folder) {
      notice.problem(t('settings.backup.chooseFirst'));
      picker.focus();
      return;
    }
    const b = await busy(run, notice, async () => {
      const place = await picker.check();
      if (!place.ok) return null;
      return ctx.backend.backup({ path: backupFileIn(folder) });
    });
    if (!b) return;
    const r = backupResult(b);
    ctx.announce(r.ok ? t('settings.backup.saved') : t('settings.backup.savedPending'));
    reload({ flash: [h('p', { class: r.ok ? 'notice ok' : 'notice info' }, r.text), r.details], focus: 'backup' });
  };
  run.addEventListener('click', () => void backUpNow());

  // The schedule: into the same folder, every N days; or off.
  const everyDays = textInput(t('settings.schedule.every'), { type: 'number', min: '1', max: '90', inputmode: 'numeric', value: String(schedule?.everyDays ?? 7) }, t('settings.schedule.everyHint'));
  const saveSchedule = button(schedule ? t('settings.schedule.change') : t('settings.schedule.turnOn'), { class: 'btn secondary' });
  const setSchedule = async () => {
    pending = setSchedule;
    const folder = picker.folder();
    if (!folder) {
      notice.problem(t('settings.backup.chooseFirst'));
      picker.focus();
      return;
    }
    const days = Number(everyDays.input.value || '0');
    const ok = await busy(saveSchedule, notice, async () => {
      const place = await picker.check();
      if (!place.ok) return false;
      await ctx.backend.setBackupSchedule({ folder, everyDays: days });
      return true;
    });
    if (ok) {
      ctx.announce(t('settings.schedule.saved', { n: days }));
      reload({ focus: 'backup' });
    }
  };
  saveSchedule.addEventListener('click', () => void setSchedule());
  let off: HTMLButtonElement | null = null;
  if (schedule) {
    const offBtn = button(t('settings.schedule.off'), { class: 'btn secondary' });
    off = offBtn;
    offBtn.addEventListener('click', async () => {
      const ok = await busy(offBtn, notice, async () => { await ctx.backend.setBackupSchedule({ folder: null, everyDays: schedule.everyDays }); return true; });
      if (ok) {
        ctx.announce(t('settings.schedule.offDone'));
        reload({ focus: 'backup' });
      }
    });
  }
  const scheduleId = uid('sched');
  const scheduleArea = h('div', { class: 'schedule', role: 'group', 'aria-labelledby': scheduleId },
    h('h3', { id: scheduleId }, t('settings.schedule.title')),
    schedule
      ? h('p', null, t('settings.schedule.on', { n: schedule.everyDays, folder: schedule.folder, next: formatDate(schedule.nextAt) }))
      : h('p', { class: 'muted' }, t('settings.schedule.isOff')),
    schedule?.lastProblem ? h('p', { class: 'notice error', role: 'alert' }, h('strong', null, t('settings.schedule.problem')), ' ', schedule.lastProblem) : null,
    h('p', { class: 'hint' }, t('settings.schedule.while')),
    everyDays.wrap,
    h('div', { class: 'actions' }, saveSchedule, off));

  const headId = 'backup-heading';
  return h('section', { class: 'card backups-card', id: 'backup', 'aria-labelledby': headId, tabindex: '-1' },
    h('h2', { id: headId }, t('settings.backup.title')),
    ...status,
    h('p', null, t('settings.backup.intro')),
    picker.el,
    h('div', { class: 'actions' }, run), result,
    scheduleArea,
    notice.el,
    h('details', { class: 'tech' }, h('summary', null, t('common.technicalDetails')),
      h('p', { class: 'muted' }, t('settings.backup.techShare'))));
}

function securitySection(ctx: Ctx, s: SettingsView): HTMLElement {
  const notice = new Notice();
  const toggle = checkbox(t('settings.unlock.keyring', { store: ctx.status.secretStore }), { checked: s.keyringUnlock, role: 'switch' }, t('settings.unlock.keyringHint'));
  toggle.input.addEventListener('change', async () => {
    const enabled = toggle.input.checked;
    toggle.input.disabled = true;
    try {
      await ctx.backend.setKeyringUnlock({ enabled });
      notice.ok(enabled ? t('settings.unlock.keyringOn') : t('settings.unlock.keyringOff'));
      await ctx.refreshStatus();
    } catch (err) {
      toggle.input.checked = !enabled;
      notice.error(err);
    } finally {
      toggle.input.disabled = false;
    }
  });
  const pass = passphraseFields(t('settings.unlock.newPassphrase'));
  const change = button(t('settings.unlock.change'), { type: 'submit', class: 'btn secondary' });
  const form = h('form', { class: 'form', novalidate: true, 'aria-label': t('settings.unlock.change') }, h('h3', null, t('settings.unlock.change')), pass.wrap, h('div', { class: 'actions' }, change));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const problem = pass.validate();
    if (problem) {
      notice.problem(problem);
      pass.focus();
      return;
    }
    const ok = await busy(change, notice, async () => { await ctx.backend.changePassphrase({ newPassphrase: pass.value() }); return true; }, form);
    if (ok) notice.ok(t('settings.unlock.changed'));
  });
  return section(t('settings.unlock.title'), toggle.wrap, form, notice.el);
}

/** Settings → Provider directories: the lists of providers the patient trusts. */
function directoriesSection(ctx: Ctx, dirs: DirectoryView[], now: number, reload: Reload): HTMLElement {
  const notice = new Notice();
  const list = dirs.length
    ? h('ul', { class: 'directories' }, ...dirs.map((d) => {
      const name = d.name ?? t('settings.dirs.unnamed');
      const remove = button(t('settings.dirs.remove'), { class: 'btn secondary', 'aria-label': t('settings.dirs.removeLabel', { name }) });
      remove.addEventListener('click', async () => {
        const yes = await confirmDialog({ title: t('settings.dirs.removeTitle', { name }), body: t('settings.dirs.removeBody'), confirm: t('settings.dirs.removeConfirm'), danger: true });
        if (!yes) return;
        const ok = await busy(remove, notice, async () => { await ctx.backend.removeDirectory({ key: d.key }); return true; });
        if (ok) {
          ctx.announce(t('settings.dirs.removed', { name }));
          reload({ focus: 'directories' });
        }
      });
      return h('li', { class: 'directory' },
        h('div', { class: 'directory-head' },
          h('div', null,
            h('p', { class: 'directory-name' }, name),
            h('p', { class: 'muted' }, d.signedAt === null
              ? t('settings.dirs.lists', { n: d.providers })
              : t('settings.dirs.listsUpdated', { n: d.providers, when: agoPhrase(d.signedAt, now) }))),
          remove),
        h('details', { class: 'tech' }, h('summary', null, t('common.technicalDetails')),
          h('p', null, t('settings.dirs.key'), ' ', h('code', { class: 'key' }, d.key))));
    }))
    : h('p', { class: 'muted' }, t('settings.dirs.empty'));

  const file = withPathChooser(ctx.backend, textInput(t('settings.dirs.file'), { autocomplete: 'off', placeholder: 'medical-council-directory.json' }, t('settings.dirs.fileHint')), 'open', t('settings.dirs.fileDialog'));
  const key = textInput(t('settings.dirs.keyLabel'), { autocomplete: 'off', spellcheck: 'false' }, t('settings.dirs.keyHint'));
  const add = button(t('settings.dirs.add'), { type: 'submit', class: 'btn secondary' });
  const form = h('form', { class: 'form', novalidate: true, 'aria-label': t('settings.dirs.addTitle') },
    h('p', null, t('settings.dirs.where')),
    file.wrap, key.wrap, h('div', { class: 'actions' }, add));
  // Adding a directory is rare: folded until the patient asks for it (open when there is none).
  const adding = h('details', { class: 'add-directory', id: 'add-directory', open: dirs.length === 0 }, h('summary', null, t('settings.dirs.addTitle')), form);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const d = await busy(add, notice, () => ctx.backend.addDirectory({ path: file.input.value.trim(), key: key.input.value.trim() }), form);
    if (d) {
      ctx.announce(t('settings.dirs.added', { name: d.name ?? t('settings.dirs.unnamed'), n: d.providers }));
      reload({ focus: 'directories' });
    }
  });
  const el = section(t('settings.dirs.title'),
    h('p', null, t('settings.dirs.intro')),
    list, notice.el, adding);
  el.id = 'directories';
  el.tabIndex = -1;
  return el;
}

function restoreSection(): HTMLElement {
  return section(t('settings.restore.title'),
    h('p', null, t('settings.restore.intro')),
    h('p', { class: 'muted' }, t('settings.restore.kept')),
    h('div', { class: 'actions' }, h('a', { class: 'btn secondary', href: '#/restore' }, t('settings.restore.link'))));
}

function deviceSection(ctx: Ctx, s: SettingsView): HTMLElement {
  return section(t('settings.device.title'), h('dl', { class: 'facts compact' },
    h('dt', null, t('settings.device.folder')), h('dd', null, h('code', null, s.vaultDir)),
    h('dt', null, t('settings.device.node')), h('dd', null, s.embeddedNode ? h('code', null, s.embeddedNode) : t('settings.device.notRunning')),
    h('dt', null, t('settings.device.store')), h('dd', null, ctx.status.secretStore),
    h('dt', null, t('settings.device.kdf')), h('dd', null, t('settings.device.kdfValue', { mib: s.kdf.memoryKib / 1024, passes: s.kdf.iterations, lanes: s.kdf.parallelism })),
    h('dt', null, t('settings.device.backups')), h('dd', null, s.backups.length
      ? h('ul', { class: 'backups' }, ...s.backups.map((b) => h('li', null, h('code', null, b))))
      : t('settings.device.noBackups')),
    h('dt', null, t('settings.device.backend')), h('dd', null, ctx.backend.kind === 'mock' ? t('settings.device.mock') : t('settings.device.app'))));
}

/** The end of Settings: erase the whole wallet (type the word, confirm), then its receipt. */
function dangerZone(ctx: Ctx): HTMLElement {
  const notice = new Notice();
  const word = t('settings.erase.word');
  const typed = textInput(t('settings.erase.type', { word }), { autocomplete: 'off', spellcheck: 'false' });
  const erase = button(t('settings.erase.button'), { class: 'btn danger' });
  erase.addEventListener('click', async () => {
    if (typed.input.value.trim() !== word) {
      notice.problem(t('settings.erase.typeFirst', { word }));
      typed.input.focus();
      return;
    }
    const yes = await confirmDialog({ title: t('settings.erase.confirmTitle'), body: t('settings.erase.confirmBody'), confirm: t('settings.erase.button'), danger: true });
    if (!yes) return;
    const r = await busy(erase, notice, () => ctx.backend.eraseAll());
    if (r) {
      ctx.session.receipt = r;
      await ctx.refreshStatus();
      ctx.announce(t('settings.erase.done'));
      ctx.go('#/receipt');
    }
  });
  const headId = uid('danger');
  return h('section', { class: 'card danger-zone', 'aria-labelledby': headId },
    h('h2', { id: headId }, t('settings.erase.title')),
    h('p', null, t('settings.erase.intro')),
    h('p', { class: 'muted' }, t('settings.erase.limits')),
    typed.wrap, notice.el, h('div', { class: 'actions' }, erase));
}

export const settings: Screen = {
  get title() { return t('settings.title'); },
  needs: 'unlocked',
  render: (ctx) => {
    const area = h('div', { class: 'settings' }, loading(t('settings.loading')));
    const load = async (after: { flash?: HTMLElement[]; focus?: string } = {}) => {
      try {
        const [s, home, dirs, issuers] = await Promise.all([ctx.backend.settings(), ctx.backend.home(), ctx.backend.listDirectories(), ctx.backend.listIssuers()]);
        const alarm = alarmText(s, null);
        if (alarm) ctx.setAlarm(alarm);
        const reload: Reload = (next) => void load(next);
        // Ledger nodes and this device are for the curious: folded, unless a node was caught lying.
        const technical = h('details', { class: 'card technical', id: 'technical', open: s.nodes.some((n) => n.evidence) },
          h('summary', null, t('common.technicalDetails')),
          h('p', { class: 'muted' }, t('settings.technicalWhat')),
          nodesSection(ctx, s, reload), deviceSection(ctx, s));
        const wasOpen = area.querySelector<HTMLDetailsElement>('#technical')?.open;
        if (wasOpen) technical.open = true;
        replace(area,
          backupSection(ctx, home.backup, home.now, reload, after.flash ?? []),
          securitySection(ctx, s),
          directoriesSection(ctx, dirs, home.now, reload),
          issuersSection(ctx, issuers, reload),
          restoreSection(),
          comfortSection(ctx),
          technical,
          dangerZone(ctx));
        // `#/settings#backup` (home's backup banner): the shell scrolls to and focuses #backup.
        if (after.focus) area.querySelector<HTMLElement>(`#${after.focus}`)?.focus({ preventScroll: true });
      } catch (err) {
        const n = new Notice();
        n.error(err);
        replace(area, n.el);
      }
    };
    void load();
    return page(t('settings.title'), null, area);
  },
};
