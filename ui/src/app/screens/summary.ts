import type { PatientSummaryView } from '../../bindings/PatientSummaryView';
import type { SummarySectionView } from '../../bindings/SummarySectionView';
import { toBackendError } from '../../backend/errors';
import { h, replace } from '../../lib/dom';
import { formatClinicalDate, formatDate } from '../../lib/format';
import { catalogue, language, t } from '../../i18n';
import type { Ctx, Screen } from '../context';
import { Notice, busy, button, confirmDialog, errorBox, loading, page, technicalDetails, textInput, withPathChooser } from '../ui';

/**
 * The patient summary (issue 11): an International Patient Summary of the records, read in plain
 * words, section by section; printable (print or save as PDF, like the erasure receipt), kept as
 * a record to share, or saved as the FHIR file a clinic's system reads.
 */

/** A section's name in the patient's language, by its LOINC code (else as the document titles it). */
function sectionTitle(s: SummarySectionView): string {
  const key = `summary.section.${s.code ?? ''}`;
  return s.code && key in catalogue(language()) ? t(key) : s.title;
}

/** What an empty section says: "No allergies recorded." */
function emptyText(s: SummarySectionView): string {
  const key = `summary.empty.${s.code ?? ''}`;
  return s.code && key in catalogue(language()) ? t(key) : t('summary.empty.other');
}

function sheet(v: PatientSummaryView): HTMLElement {
  const sections = v.sections.map((s) => {
    const id = `summary-sec-${s.code ?? s.title.replace(/\W+/g, '-')}`;
    return h('section', { class: 'summary-section', 'aria-labelledby': id },
      h('h3', { id }, sectionTitle(s),
        s.entries.length ? h('span', { class: 'count' }, ` · ${t('summary.entries', { n: s.entries.length })}`) : null),
      s.entries.length
        ? h('ul', { class: 'summary-entries' }, ...s.entries.map((e) => h('li', null,
          h('span', { class: 'entry-title' }, e.title),
          e.detail ? h('span', { class: 'muted' }, ` · ${e.detail}`) : null,
          e.date ? h('span', { class: 'muted' }, ` · ${formatClinicalDate(e.date)}`) : null)))
        : h('p', { class: 'summary-empty' }, emptyText(s)));
  });
  return h('article', { class: 'card summary-sheet print-area', 'aria-labelledby': 'summary-of' },
    h('h2', { id: 'summary-of' }, t('summary.of', { name: v.patientName })),
    v.patientDetail ? h('p', { class: 'summary-patient' }, v.patientDetail) : null,
    h('p', { class: 'muted' }, t('summary.made', { date: formatDate(v.madeAt) })),
    ...sections,
    h('p', { class: 'print-only summary-note' }, t('summary.printNote')));
}

function checkLine(v: PatientSummaryView): HTMLElement {
  return v.passesCheck
    ? h('p', { class: 'notice ok summary-check no-print' }, t('summary.check.ok'))
    : h('p', { class: 'notice warning summary-check no-print' }, t('summary.check.problem'));
}

function actions(ctx: Ctx, notice: Notice): HTMLElement {
  const printBtn = button(t('summary.print'), { class: 'btn secondary', id: 'print-summary', 'aria-describedby': 'summary-print-hint' });
  printBtn.addEventListener('click', () => window.print());

  const keepBtn = button(t('summary.keep'), { class: 'btn primary', id: 'keep-summary', 'aria-describedby': 'summary-keep-hint' });
  keepBtn.addEventListener('click', async () => {
    const kept = await busy(keepBtn, notice, () => ctx.backend.savePatientSummary());
    if (kept) notice.ok(t('summary.kept'), ' ', h('a', { href: `#/records/${kept.id}` }, t('summary.openKept')));
  });

  const saveBtn = button(t('summary.save'), { class: 'btn secondary', id: 'save-summary' });
  saveBtn.addEventListener('click', async () => {
    const day = new Date().toISOString().slice(0, 10);
    const path = withPathChooser(ctx.backend, textInput(t('summary.saveField'), { value: `patient-summary-${day}.json`, autocomplete: 'off' }),
      'save', t('summary.saveDialog'));
    const yes = await confirmDialog({
      title: t('summary.saveTitle'),
      body: h('div', null, h('p', { class: 'warn-text' }, t('summary.saveBody')), path.wrap),
      confirm: t('summary.saveConfirm'),
    });
    if (!yes) return;
    const target = path.input.value.trim();
    if (!target) {
      notice.problem(t('summary.saveMissing'));
      return;
    }
    const bytes = await busy(saveBtn, notice, () => ctx.backend.exportPatientSummary({ path: target }));
    if (bytes !== undefined) notice.ok(t('summary.saved', { path: target }));
  });

  return h('div', { class: 'summary-actions no-print' },
    h('div', { class: 'actions' }, keepBtn, saveBtn, printBtn),
    h('p', { class: 'hint', id: 'summary-keep-hint' }, t('summary.keepHint')),
    h('p', { class: 'hint', id: 'summary-print-hint' }, t('summary.printHint')),
    notice.el);
}

function tech(v: PatientSummaryView): HTMLElement {
  const details = technicalDetails(h('dl', { class: 'facts' },
    h('dt', null, t('summary.tech.included')), h('dd', null, String(v.included)),
    h('dt', null, t('summary.tech.leftOut')), h('dd', null, String(v.leftOut)),
    h('dt', null, t('summary.tech.codes')), h('dd', null, h('ul', null, ...v.sections.map((s) => h('li', null, `${s.title}: `, h('code', null, s.code ?? '—'))))),
    v.problems.length ? [h('dt', null, t('summary.tech.problems')), h('dd', null, h('ul', null, ...v.problems.map((p) => h('li', null, p))))] : null));
  details.classList.add('card', 'no-print');
  return details;
}

export const summaryPage: Screen = {
  get title() { return t('summary.title'); },
  needs: 'unlocked',
  render: (ctx) => {
    const area = h('div', { class: 'summary-area' }, loading(t('summary.loading')));
    void ctx.backend.patientSummary().then((v) => {
      const notice = new Notice();
      replace(area, checkLine(v), sheet(v), actions(ctx, notice), tech(v));
      ctx.announce(t('summary.of', { name: v.patientName }));
    }, (err) => {
      const e = toBackendError(err);
      replace(area, h('div', { class: 'card summary-missing' }, errorBox(e),
        e.code === 'no_patient_record'
          ? [h('p', null, t('summary.noPatient')), h('div', { class: 'actions' }, h('a', { class: 'btn primary', href: '#/records' }, t('summary.addRecords')))]
          : null));
    });
    return page(t('summary.title'), t('summary.lead'),
      h('p', { class: 'no-print' }, h('a', { href: '#/records', class: 'back' }, t('summary.back'))),
      area);
  },
};
