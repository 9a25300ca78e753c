import type { CardView } from '../../bindings/CardView';
import type { GrantView } from '../../bindings/GrantView';
import type { RecordDetail } from '../../bindings/RecordDetail';
import type { RecordView } from '../../bindings/RecordView';
import { h, replace } from '../../lib/dom';
import { formatBytes, formatClinicalDate, formatDate, groupByCategory } from '../../lib/format';
import { locale, t } from '../../i18n';
import type { Ctx, Screen } from '../context';
import { Notice, busy, button, confirmDialog, loading, page, section, textInput, withPathChooser } from '../ui';
import { CARD_CATEGORY, cardFacts, cardImporter, cardLine, cardTitle } from './cards';
import { shareAsLinkButton } from './links';
import { rememberReceiptTitle } from './receipt';

/** The catalogue key of a wallet category ("other" and "file" read better as these). */
function categoryKey(id: string): string | null {
  const known = ['allergies', 'medications', 'conditions', 'observations', 'immunizations', 'procedures', 'documents', 'patient'];
  if (known.includes(id)) return `records.cat.${id}`;
  if (id === CARD_CATEGORY) return 'records.cat.healthCards';
  if (id === 'other') return 'records.cat.otherFhir';
  if (id === 'file') return 'records.cat.files';
  return null;
}

export function categoryName(id: string): string {
  const key = categoryKey(id);
  return key ? t(key) : id ? id[0].toUpperCase() + id.slice(1) : t('records.cat.otherFhir');
}

function categoryHint(id: string): string | null {
  const key = categoryKey(id);
  return key ? t(`${key}.hint`) : null;
}

/** Active grants that include a record, by record id. */
function sharedBy(grants: readonly GrantView[]): Map<string, GrantView[]> {
  const map = new Map<string, GrantView[]>();
  for (const g of grants) {
    if (g.status !== 'active') continue;
    for (const id of g.records) map.set(id, [...(map.get(id) ?? []), g]);
  }
  return map;
}

/** "Dr. Berg", "Dr. Berg and Northgate", "Dr. Berg, Northgate and 2 others". */
function names(list: readonly string[]): string {
  const shown = list.length > 3 ? [...list.slice(0, 2), t('records.others', { n: list.length - 2 })] : [...list];
  return new Intl.ListFormat(locale(), { style: 'long', type: 'conjunction' }).format(shown);
}

/**
 * A record as the list shows it. A health card's title and detail come from the wallet in English
 * with its issuer's address: its card says the same in the patient's words.
 */
function shown(r: RecordView, card: CardView | undefined): { title: string; detail: string | null } {
  if (r.category !== CARD_CATEGORY) return { title: r.title, detail: r.detail };
  return { title: cardTitle(r.title), detail: card ? cardLine(card) : null };
}

function recordItem(r: RecordView, grants: GrantView[], card: CardView | undefined): HTMLElement {
  const { title, detail } = shown(r, card);
  return h('li', { class: 'record' },
    h('a', { href: `#/records/${r.id}`, class: 'record-link' },
      h('span', { class: 'record-title' }, title),
      detail ? h('span', { class: 'record-detail' }, detail) : null),
    h('span', { class: 'record-meta' },
      r.date ? h('time', { datetime: r.date }, formatClinicalDate(r.date)) : null,
      grants.length ? h('span', { class: 'shared-with' }, t('records.sharedWith', { names: names(grants.map((g) => g.providerName)) })) : null));
}

function recordList(records: RecordView[], grants: GrantView[], cards: CardView[]): HTMLElement {
  if (records.length === 0) {
    return h('div', { class: 'empty records-empty' }, h('p', null, t('records.empty')));
  }
  const shared = sharedBy(grants);
  return h('div', { class: 'groups' }, ...groupByCategory(records).map(({ category, records: list }) => {
    const id = `cat-${category.id}`;
    const hint = categoryHint(category.id);
    return h('section', { class: 'group', 'aria-labelledby': id },
      h('h2', { id }, categoryName(category.id), h('span', { class: 'count' }, ` ${list.length}`)),
      hint ? h('p', { class: 'hint' }, hint) : null,
      h('ul', { class: 'records' }, ...list.map((r) => recordItem(r, shared.get(r.id) ?? [], cards.find((c) => c.record === r.id)))));
  }));
}

/**
 * The "Add records" button: the platform's own chooser inside the app, the browser's file input
 * in the mock; the chosen files are imported and `onAdded` gets the new records and the sentence
 * that names them. Records and Home's empty state use it. `importPaths` imports other paths
 * (typed, dropped) the same way.
 */
export function addRecordsButton(ctx: Ctx, notice: Notice, opts: {
  /** Ids of the button and of the mock's file input. */
  id: string;
  inputId: string;
  attrs?: Record<string, unknown>;
  /** Marked busy while the files are imported. */
  region?: HTMLElement;
  /** Before each import (the records screen clears its progress bars). */
  before?(): void;
  onAdded(added: RecordView[], text: string): void;
}): { button: HTMLButtonElement; input: HTMLInputElement; importPaths(list: string[], trigger?: HTMLButtonElement): Promise<void> } {
  const addBtn = button(t('records.add'), { class: 'btn primary add-records', id: opts.id, ...opts.attrs });
  // The browser mock's chooser (inside the app the platform's own dialog opens instead).
  const fileInput = h('input', { type: 'file', id: opts.inputId, multiple: true, class: 'file-input', hidden: true, 'aria-label': t('records.chooserLabel') });
  const importPaths = async (list: string[], trigger: HTMLButtonElement = addBtn) => {
    if (list.length === 0) return;
    opts.before?.();
    const added = await busy(trigger, notice, () => ctx.backend.importFiles({ paths: list }), opts.region);
    if (added) opts.onAdded(added, t('records.added', { n: added.length, titles: added.map((r) => r.title).join(', ') }));
  };
  addBtn.addEventListener('click', async () => {
    notice.clear();
    let chosen: string[] | null = null;
    try {
      chosen = await ctx.backend.chooseFiles(t('records.chooseTitle'));
    } catch (err) {
      notice.error(err);
      return;
    }
    if (chosen === null) fileInput.click();
    else void importPaths(chosen);
  });
  fileInput.addEventListener('change', () => {
    const files = Array.from(fileInput.files ?? []);
    const list = ctx.backend.pathsOfFiles(files);
    fileInput.value = '';
    if (files.length > 0 && list.length === 0) {
      notice.info(t('records.noPaths'));
      return;
    }
    void importPaths(list);
  });
  return { button: addBtn, input: fileInput, importPaths };
}

function importer(ctx: Ctx, onImported: () => void): HTMLElement {
  const notice = new Notice();
  const progress = h('div', { class: 'progress-list' });
  const bars = new Map<string, HTMLProgressElement>();
  const drop = h('div', { class: 'dropzone', id: 'dropzone' }, h('p', null, t('records.drop')));
  const paths = textInput(t('records.pathLabel'), { placeholder: '/home/you/Downloads/patient-summary.json', autocomplete: 'off' }, t('records.pathHint'));
  const pathBtn = button(t('records.pathAdd'), { type: 'submit', class: 'btn secondary' });
  const region = h('div', { class: 'import' });
  const add = addRecordsButton(ctx, notice, {
    id: 'add-records',
    inputId: 'import-files',
    attrs: { 'aria-describedby': 'add-records-hint' },
    region,
    before: () => {
      replace(progress);
      bars.clear();
    },
    onAdded: (_added, text) => {
      notice.ok(text);
      paths.input.value = '';
      onImported();
    },
  });
  const addBtn = add.button;

  const run = (list: string[], trigger: HTMLButtonElement) => add.importPaths(list, trigger);
  ctx.backend.onImportProgress((p) => {
    let bar = bars.get(p.path);
    const name = p.path.split(/[\\/]/).pop() ?? p.path;
    if (!bar) {
      bar = h('progress', { max: String(p.total), value: '0', 'aria-label': t('records.adding', { name }) });
      bars.set(p.path, bar);
      progress.append(h('div', { class: 'progress-item' }, h('span', null, name), bar));
    }
    bar.max = p.total;
    bar.value = p.done;
    bar.setAttribute('aria-valuetext', `${Math.round((p.done / Math.max(p.total, 1)) * 100)} %`);
  }).then((off) => ctx.onLeave(off));
  ctx.backend.onFileDrop((list) => { void run(list, addBtn); }).then((off) => ctx.onLeave(off));

  // The browser's own drop (the mock; inside Tauri the window's drop event carries real paths).
  const onDragOver = (e: DragEvent) => { e.preventDefault(); drop.classList.add('over'); };
  const onDragLeave = () => drop.classList.remove('over');
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    drop.classList.remove('over');
    const files = Array.from(e.dataTransfer?.files ?? []);
    const list = ctx.backend.pathsOfFiles(files);
    if (files.length > 0 && list.length === 0) return; // Inside the app the window's drop event brings the paths.
    void run(list, addBtn);
  };
  window.addEventListener('dragover', onDragOver);
  window.addEventListener('dragleave', onDragLeave);
  window.addEventListener('drop', onDrop);
  ctx.onLeave(() => {
    window.removeEventListener('dragover', onDragOver);
    window.removeEventListener('dragleave', onDragLeave);
    window.removeEventListener('drop', onDrop);
  });

  const form = h('form', { class: 'form', novalidate: true }, h('div', { class: 'row' }, paths.wrap, pathBtn));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const list = paths.input.value.split(/[\n,]+/).map((p) => p.trim()).filter(Boolean);
    if (list.length === 0) {
      notice.problem(t('records.pathMissing'));
      paths.input.focus();
      return;
    }
    void run(list, pathBtn);
  });
  region.append(
    h('div', { class: 'add-row' }, addBtn, h('p', { class: 'hint', id: 'add-records-hint' }, t('records.addHint'))),
    add.input, drop, progress, notice.el,
    h('details', { class: 'more' }, h('summary', null, t('records.more')), form));
  return h('section', { class: 'card add-card', 'aria-label': t('records.add') }, region);
}

export const records: Screen = {
  get title() { return t('records.title'); },
  needs: 'unlocked',
  render: async (ctx) => {
    const listArea = h('div', { class: 'record-area' }, loading(t('records.loading')));
    let first = true;
    const load = async () => {
      try {
        const [list, grants, cards] = await Promise.all([ctx.backend.listRecords(), ctx.backend.listGrants(), ctx.backend.listCards()]);
        replace(listArea, recordList(list, grants, cards));
        if (!first) ctx.announce(t('records.summary', { n: list.length }));
        first = false;
      } catch (err) {
        const n = new Notice();
        n.error(err);
        replace(listArea, n.el);
      }
    };
    void load();
    const summaryLink = h('p', { class: 'summary-link' },
      h('a', { href: '#/summary', id: 'open-summary' }, t('summary.link')),
      h('span', { class: 'hint' }, ` ${t('summary.linkHint')}`));
    return page(t('records.title'), t('records.lead'), summaryLink, importer(ctx, () => void load()), cardImporter(ctx, () => void load()),
      h('p', { class: 'link-entry' }, shareAsLinkButton({ id: 'records-share-link' }), ' ', h('span', { class: 'hint' }, t('links.actionHint'))),
      listArea);
  },
};

export const recordDetail: Screen = {
  get title() { return t('records.pageTitle'); },
  needs: 'unlocked',
  render: async (ctx) => {
    const notice = new Notice();
    let detail: RecordDetail;
    let grants: GrantView[];
    let card: CardView | undefined;
    try {
      [detail, grants] = await Promise.all([ctx.backend.recordDetail({ id: ctx.params.id ?? '' }), ctx.backend.listGrants()]);
      const id = detail.record.id;
      if (detail.record.category === CARD_CATEGORY) card = (await ctx.backend.listCards()).find((c) => c.record === id);
    } catch (err) {
      notice.error(err);
      return page(t('records.notFound'), null, notice.el, h('a', { class: 'btn secondary', href: '#/records' }, t('records.backToList')));
    }
    const r = detail.record;
    const { title: shownTitle, detail: shownDetail } = shown(r, card);
    const sharing = sharedBy(grants).get(r.id) ?? [];
    const row = (k: string, v: string | null | undefined) => (v ? [h('dt', null, k), h('dd', null, v)] : []);

    const saveBtn = button(t('records.saveCopy'), { class: 'btn secondary', id: 'save-copy' });
    saveBtn.addEventListener('click', async () => {
      const path = withPathChooser(ctx.backend, textInput(t('records.saveField'), {
        value: r.resourceType ? `${r.resourceType.toLowerCase()}-${r.id.slice(0, 8)}.json` : r.name, autocomplete: 'off',
      }), 'save', t('records.saveDialog'));
      const yes = await confirmDialog({
        title: t('records.saveTitle'),
        body: h('div', null, h('p', { class: 'warn-text' }, t('records.saveBody')), path.wrap),
        confirm: t('records.saveConfirm'),
      });
      if (!yes) return;
      const target = path.input.value.trim();
      if (!target) {
        notice.problem(t('records.saveMissing'));
        return;
      }
      const bytes = await busy(saveBtn, notice, () => ctx.backend.exportRecord({ id: r.id, path: target }));
      if (bytes !== undefined) notice.ok(t('records.saved', { path: target }));
    });

    const deleteBtn = button(t('records.delete'), { class: 'btn danger-outline', id: 'delete-record' });
    deleteBtn.addEventListener('click', async () => {
      const who = sharing.map((g) => g.providerName);
      const yes = await confirmDialog({
        title: t('records.deleteTitle', { title: shownTitle }),
        body: h('div', null,
          h('p', null, t('records.deleteBody')),
          who.length ? h('p', null, t('records.deleteShared', { names: names(who) })) : null,
          h('p', null, h('strong', null, t('records.deleteFinal')))),
        confirm: t('records.deleteConfirm'),
        danger: true,
      });
      if (!yes) return;
      const receipt = await busy(deleteBtn, notice, () => ctx.backend.eraseRecord({ id: r.id }));
      if (receipt) {
        rememberReceiptTitle(receipt, shownTitle);
        ctx.session.receipt = receipt;
        ctx.go('#/receipt');
      }
    });

    const sharedList = sharing.length
      ? h('ul', { class: 'shared-list' }, ...sharing.map((g) => h('li', null,
        h('a', { href: `#/grants/${g.id}` }, g.providerName),
        h('span', { class: 'muted' }, ` · ${t('records.sharedUntil', { date: formatDate(g.notAfter) })}`))))
      : h('p', { class: 'muted' }, t('records.sharedNobody'));

    return page(shownTitle, shownDetail,
      h('p', null, h('a', { href: '#/records', class: 'back' }, t('records.back'))),
      section(t('records.about'),
        h('dl', { class: 'facts' },
          h('dt', null, t('records.kind')), h('dd', null, categoryName(r.category),
            categoryHint(r.category) ? h('span', { class: 'muted' }, ` · ${categoryHint(r.category)}`) : null),
          ...row(t('records.date'), formatClinicalDate(r.date)),
          ...row(t('records.value'), card || r.category === CARD_CATEGORY ? null : r.detail))),
      card ? section(t('cards.page.head'), ...cardFacts(card)) : null,
      section(t('records.sharedHead'), sharing.length ? h('p', null, t('records.sharedCount', { n: sharing.length })) : null, sharedList),
      h('div', { class: 'actions record-actions' }, saveBtn, deleteBtn),
      notice.el,
      h('details', { class: 'card tech' },
        h('summary', null, t('common.technicalDetails')),
        h('dl', { class: 'facts' },
          ...row(t('records.tech.type'), r.resourceType),
          ...row(t('records.tech.file'), r.name),
          ...row(t('records.tech.size'), formatBytes(r.size)),
          ...row(t('records.tech.version'), String(r.version)),
          h('dt', null, t('records.tech.id')), h('dd', null, h('code', { class: 'key' }, r.id))),
        detail.json
          ? h('pre', { class: 'json', tabindex: '0', 'aria-label': t('records.tech.json') }, h('code', null, detail.json))
          : null),
    );
  },
};
