import type { RecordView } from '../../bindings/RecordView';
import { h, replace } from '../../lib/dom';
import { categoryLabel, formatBytes, formatClinicalDate, groupByCategory } from '../../lib/format';
import type { Ctx, Screen } from '../context';
import { Notice, busy, button, loading, page, section, textInput, withPathChooser } from '../ui';

function recordItem(r: RecordView): HTMLElement {
  return h('li', { class: 'record' },
    h('a', { href: `#/records/${r.id}`, class: 'record-link' },
      h('span', { class: 'record-title' }, r.title),
      r.detail ? h('span', { class: 'record-detail' }, r.detail) : null),
    h('span', { class: 'record-meta' },
      r.date ? h('time', { datetime: r.date }, formatClinicalDate(r.date)) : null,
      h('span', null, `${r.name} · ${formatBytes(r.size)}`)));
}

function recordList(records: RecordView[]): HTMLElement {
  if (records.length === 0) {
    return h('div', { class: 'empty' }, h('p', null, 'No records yet. Import FHIR files (a resource or a Bundle), PDFs, images or any other file above.'));
  }
  return h('div', { class: 'groups' }, ...groupByCategory(records).map(({ category, records: list }) => {
    const id = `cat-${category.id}`;
    return h('section', { class: 'group', 'aria-labelledby': id },
      h('h2', { id }, category.label, h('span', { class: 'count' }, ` ${list.length}`)),
      category.description ? h('p', { class: 'hint' }, category.description) : null,
      h('ul', { class: 'records' }, ...list.map(recordItem)));
  }));
}

function importer(ctx: Ctx, onImported: () => void): HTMLElement {
  const notice = new Notice();
  const progress = h('div', { class: 'progress-list' });
  const bars = new Map<string, HTMLProgressElement>();
  const paths = textInput('File path on this computer', { placeholder: '/home/you/Downloads/patient-summary.json', autocomplete: 'off' },
    'Several files: one path per line is fine too, separated by commas.');
  const importBtn = button('Import', { type: 'submit', class: 'btn primary' });
  const fileInput = h('input', { type: 'file', id: 'import-files', multiple: true, class: 'file-input' });
  const drop = h('div', { class: 'dropzone', 'aria-describedby': 'drop-hint' },
    h('p', { id: 'drop-hint' }, 'Drop files anywhere on this window to import them.'));
  const region = h('div', { class: 'import' });

  const run = async (list: string[], trigger: HTMLButtonElement) => {
    if (list.length === 0) return;
    replace(progress);
    bars.clear();
    const added = await busy(trigger, notice, () => ctx.backend.importFiles({ paths: list }), region);
    if (added) {
      notice.ok(`Imported ${added.length} record${added.length === 1 ? '' : 's'}: ${added.map((r) => r.title).join(', ')}.`);
      paths.input.value = '';
      onImported();
    }
  };
  ctx.backend.onImportProgress((p) => {
    let bar = bars.get(p.path);
    if (!bar) {
      bar = h('progress', { max: String(p.total), value: '0', 'aria-label': `Importing ${p.path}` });
      bars.set(p.path, bar);
      progress.append(h('div', { class: 'progress-item' }, h('span', null, p.path.split(/[\\/]/).pop() ?? p.path), bar));
    }
    bar.max = p.total;
    bar.value = p.done;
    bar.setAttribute('aria-valuetext', `${Math.round((p.done / Math.max(p.total, 1)) * 100)} %`);
  }).then((off) => ctx.onLeave(off));
  ctx.backend.onFileDrop((list) => { void run(list, importBtn); }).then((off) => ctx.onLeave(off));

  fileInput.addEventListener('change', () => {
    const files = Array.from(fileInput.files ?? []);
    const list = ctx.backend.pathsOfFiles(files);
    if (files.length > 0 && list.length === 0) {
      notice.info('This window cannot see where the chosen files live. Drop them onto the window, or type their path.');
      return;
    }
    void run(list, importBtn);
    fileInput.value = '';
  });
  // The browser's own drop (the mock; inside Tauri the window's drop event carries real paths).
  const onDragOver = (e: DragEvent) => { e.preventDefault(); drop.classList.add('over'); };
  const onDragLeave = () => drop.classList.remove('over');
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    drop.classList.remove('over');
    const list = ctx.backend.pathsOfFiles(Array.from(e.dataTransfer?.files ?? []));
    void run(list, importBtn);
  };
  window.addEventListener('dragover', onDragOver);
  window.addEventListener('dragleave', onDragLeave);
  window.addEventListener('drop', onDrop);
  ctx.onLeave(() => {
    window.removeEventListener('dragover', onDragOver);
    window.removeEventListener('dragleave', onDragLeave);
    window.removeEventListener('drop', onDrop);
  });

  const form = h('form', { class: 'form', novalidate: true }, h('div', { class: 'row' }, paths.wrap, importBtn));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const list = paths.input.value.split(/[\n,]+/).map((p) => p.trim()).filter(Boolean);
    if (list.length === 0) {
      notice.problem('Type the path of a file to import.');
      paths.input.focus();
      return;
    }
    void run(list, importBtn);
  });
  // Inside the app the platform's own dialog gives real paths; the browser mock keeps the
  // `<input type=file>` (whose paths a webview hides).
  let chooser: HTMLElement = h('div', { class: 'field' }, h('label', { for: 'import-files' }, 'Or choose files'), fileInput);
  if (ctx.backend.kind === 'tauri') {
    const chooseBtn = button('Choose files…', { class: 'btn secondary' });
    chooseBtn.addEventListener('click', async () => {
      const chosen = await busy(chooseBtn, notice, () => ctx.backend.chooseFiles('Import records into Carekey'));
      if (chosen && chosen.length > 0) void run(chosen, chooseBtn);
    });
    chooser = h('div', { class: 'actions' }, chooseBtn);
  }
  region.append(form, chooser, drop, progress, notice.el);
  return section('Import records', region);
}

export const records: Screen = {
  title: 'Records',
  needs: 'unlocked',
  render: async (ctx) => {
    const listArea = h('div', { class: 'record-area', 'aria-live': 'polite' }, loading('Loading records…'));
    const load = async () => {
      try {
        const list = await ctx.backend.listRecords();
        replace(listArea, recordList(list));
      } catch (err) {
        const n = new Notice();
        n.error(err);
        replace(listArea, n.el);
      }
    };
    void load();
    return page('Records', 'Encrypted on this device with a key of their own. Grouped the way a clinician reads them.',
      importer(ctx, () => void load()), listArea);
  },
};

export const recordDetail: Screen = {
  title: 'Record',
  needs: 'unlocked',
  render: async (ctx) => {
    const notice = new Notice();
    let detail;
    try {
      detail = await ctx.backend.recordDetail({ id: ctx.params.id ?? '' });
    } catch (err) {
      notice.error(err);
      return page('Record not found', null, notice.el, h('a', { class: 'btn secondary', href: '#/records' }, 'Back to records'));
    }
    const r = detail.record;
    const row = (k: string, v: string | null) => (v ? [h('dt', null, k), h('dd', null, v)] : []);
    const path = withPathChooser(ctx.backend, textInput('Save a decrypted copy to', { value: r.resourceType ? `${r.resourceType.toLowerCase()}-${r.id.slice(0, 8)}.json` : r.name, autocomplete: 'off' },
      'The copy is not encrypted, and Carekey cannot erase it later.'), 'save', 'Save a decrypted copy');
    const exportBtn = button('Export', { class: 'btn secondary' });
    exportBtn.addEventListener('click', async () => {
      const bytes = await busy(exportBtn, notice, () => ctx.backend.exportRecord({ id: r.id, path: path.input.value.trim() }));
      if (bytes !== undefined) notice.ok(`Saved ${formatBytes(bytes)} to ${path.input.value.trim()}.`);
    });
    return page(r.title, r.detail,
      h('p', null, h('a', { href: '#/records', class: 'back' }, '← All records')),
      section('Details', h('dl', { class: 'facts' },
        ...row('Category', categoryLabel(r.category)),
        ...row('FHIR type', r.resourceType),
        ...row('Date', formatClinicalDate(r.date)),
        ...row('Value', r.detail),
        ...row('Source file', r.name),
        ...row('Size', formatBytes(r.size)),
        ...row('Key version', String(r.version)),
        h('dt', null, 'Record id'), h('dd', null, h('code', { class: 'key' }, r.id)))),
      detail.json
        ? section('FHIR JSON', h('pre', { class: 'json', tabindex: '0', 'aria-label': 'FHIR JSON of this record' }, h('code', null, detail.json)))
        : null,
      section('Export', h('div', { class: 'row' }, path.wrap, exportBtn), notice.el),
    );
  },
};
