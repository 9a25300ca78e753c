import type { RequestView } from '../../bindings/RequestView';
import { h, replace, uid } from '../../lib/dom';
import { dueBy, formatClinicalDate, formatDate, formatDateTime, formatDuration, groupedKey, requestSeverity, resourceTypeLabel } from '../../lib/format';
import { fileToBase64, svgDataUrl } from '../../lib/qr';
import { catalogue, language, t } from '../../i18n';
import type { Ctx, Screen } from '../context';
import { Notice, busy, button, checkbox, loading, page, section, textInput } from '../ui';
import { qrCamera } from './camera';
import { shareAsLinkButton } from './links';

const DAY = 86400;
const DURATIONS = [365 * DAY, 90 * DAY, 30 * DAY, 14 * DAY, 7 * DAY, DAY, 3600];

/** A FHIR resource type in plain words of the patient's language. */
export function typeName(type: string): string {
  const key = `share.type.${type}`;
  return key in catalogue(language()) ? t(key) : resourceTypeLabel(type);
}

async function review(ctx: Ctx, notice: Notice, input: { uri: string | null; imageBase64: string | null }, trigger?: HTMLButtonElement): Promise<void> {
  const run = () => ctx.backend.reviewRequest(input);
  const view = trigger ? await busy(trigger, notice, run) : await run().catch((e) => { notice.error(e); return undefined; });
  if (view) {
    ctx.session.review = view;
    ctx.go('#/share/review');
  }
}

function camera(ctx: Ctx, notice: Notice): HTMLElement {
  return qrCamera(ctx, notice, {
    head: t('share.scan.head'),
    text: t('share.scan.text'),
    words: 'share.camera',
    startId: 'start-camera',
    onText: (text) => void review(ctx, notice, { uri: text, imageBase64: null }),
  });
}

function imageOpener(ctx: Ctx, notice: Notice): HTMLElement {
  const input = h('input', { type: 'file', accept: 'image/*', id: uid('qrimg'), class: 'file-input' });
  const status = h('p', { class: 'hint', role: 'status' });
  input.addEventListener('change', async () => {
    const file = input.files?.[0];
    if (!file) return;
    status.textContent = t('share.image.reading', { name: file.name });
    input.setAttribute('aria-busy', 'true');
    try {
      const imageBase64 = await fileToBase64(file);
      await review(ctx, notice, { uri: null, imageBase64 });
    } catch (err) {
      notice.error(err);
    } finally {
      input.removeAttribute('aria-busy');
      status.textContent = '';
      input.value = '';
    }
  });
  return section(t('share.image.head'), h('p', null, t('share.image.text')),
    h('div', { class: 'field' }, h('label', { for: input.id }, t('share.image.label')), input), status);
}

function linkPaster(ctx: Ctx, notice: Notice): HTMLElement {
  const link = textInput(t('share.link.label'), { autocomplete: 'off', name: 'carekey-link' });
  const go = button(t('share.link.go'), { type: 'submit', class: 'btn secondary' });
  const form = h('form', { class: 'form', novalidate: true }, h('div', { class: 'row' }, link.wrap, go));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const uri = link.input.value.trim();
    if (!uri) {
      notice.problem(t('share.link.missing'));
      link.input.focus();
      return;
    }
    await review(ctx, notice, { uri, imageBase64: null }, go);
  });
  return section(t('share.link.head'), h('p', null, t('share.link.text')), form);
}

export const share: Screen = {
  get title() { return t('share.title'); },
  needs: 'unlocked',
  render: (ctx) => {
    const notice = new Notice();
    return page(t('share.title'), t('share.lead'),
      notice.el,
      h('div', { class: 'grid3' }, camera(ctx, notice), imageOpener(ctx, notice), linkPaster(ctx, notice)),
      h('p', { class: 'my-code-link' }, h('a', { href: '#/my-qr', id: 'show-my-code' }, t('share.myCode')),
        h('span', { class: 'hint' }, ` ${t('share.myCodeHint')}`)),
      h('p', { class: 'link-entry' }, shareAsLinkButton({ id: 'share-as-link' }), ' ', h('span', { class: 'hint' }, t('links.actionHint')),
        ' ', h('a', { href: '#/links', id: 'your-links' }, t('links.yours'))));
  },
};

/** "K 7 Q F, M 2 X D, 9 R": the code as a screen reader should spell it. */
function spelled(code: string): string {
  return code.split('-').map((g) => g.split('').join(' ')).join(', ');
}

/**
 * The provider check. Verified: calm. A name the directory lists differently: the loud warning.
 * No directory vouches: a comparison the patient can do, with a tick the share needs.
 */
function providerCheck(v: RequestView): { el: HTMLElement; matched: HTMLInputElement | null } {
  const state = v.verification.state;
  const severity = requestSeverity(state);
  if (state === 'verified' || state === 'name_mismatch') {
    const head = state === 'verified' ? t('share.check.verified.head') : t('share.check.mismatch.head');
    const text = state === 'verified'
      ? t('share.check.verified.text', { directory: v.verification.directory ?? t('share.check.directory'), name: v.verification.listedName ?? v.providerName })
      : t('share.check.mismatch.text', { directory: v.verification.directory ?? t('share.check.yourDirectory'), listed: v.verification.listedName ?? '?', name: v.providerName });
    return {
      el: h('div', { class: `verdict ${severity}`, role: severity === 'ok' ? 'status' : 'alert' },
        h('span', { class: 'verdict-mark', 'aria-hidden': 'true' }, severity === 'ok' ? '✓' : '!'),
        h('div', null, h('strong', { class: 'verdict-head' }, head), h('p', null, text))),
      matched: null,
    };
  }
  const match = checkbox(t('share.check.match'), { name: 'codes-match' }, t('share.check.matchHint'));
  return {
    el: h('section', { class: 'card code-check', 'aria-labelledby': 'code-check-head' },
      h('h2', { id: 'code-check-head' }, t('share.check.compare.head')),
      h('p', { class: 'provider-code' },
        h('span', { 'aria-hidden': 'true' }, v.providerCode),
        h('span', { class: 'sr-only' }, t('share.check.codeLabel', { spelled: spelled(v.providerCode) }))),
      h('p', null, t('share.check.compare.text')),
      h('p', { class: 'hint' }, t(state === 'unlisted' ? 'share.check.compare.unlisted' : 'share.check.compare.noDirectory')),
      match.wrap),
    matched: match.input,
  };
}

export const shareReview: Screen = {
  get title() { return t('share.review.title'); },
  needs: 'unlocked',
  render: (ctx) => {
    const v = ctx.session.review;
    if (!v) {
      return page(t('share.review.title'), null, h('div', { class: 'card' }, h('p', null, t('share.review.none')),
        h('a', { class: 'btn primary', href: '#/share' }, t('share.review.read'))));
    }
    const notice = new Notice();
    const check = providerCheck(v);
    const typeBoxes = v.resourceTypes.map((type) => ({
      type,
      box: checkbox(t('share.types.item', { type: typeName(type), records: t('common.records', { n: v.matchingRecords.filter((r) => r.resourceType === type).length }) }),
        { checked: true, value: type }),
    }));
    const recordBoxes = v.matchingRecords.map((r) => ({
      id: r.id,
      box: checkbox(h('span', null, r.title, r.detail ? h('span', { class: 'muted' }, ` · ${r.detail}`) : null, r.date ? h('span', { class: 'muted' }, ` · ${formatClinicalDate(r.date)}`) : null),
        { checked: v.recordIds.includes(r.id), value: r.id }),
    }));
    const durationId = uid('dur');
    const select = h('select', { id: durationId, 'aria-describedby': `${durationId}-hint` },
      h('option', { value: '' }, t('share.duration.asked', { duration: formatDuration(v.durationSecs) })),
      ...DURATIONS.filter((d) => d < v.durationSecs).map((d) => h('option', { value: String(d) }, formatDuration(d))));
    const n = v.unpinnedNodes.length;
    const confirmNodes = n > 0 ? checkbox(t('share.nodes.confirm'), { required: true }) : null;
    const submit = button(t('share.submit'), { type: 'submit', class: 'btn primary' });
    const form = h('form', { class: 'form', novalidate: true },
      h('fieldset', null, h('legend', null, t('share.types.legend')),
        h('p', { class: 'hint' }, t('share.types.hint')),
        ...typeBoxes.map((b) => b.box.wrap)),
      recordBoxes.length
        ? h('fieldset', null, h('legend', null, t('share.records.legend')), ...recordBoxes.map((r) => r.box.wrap))
        : null,
      h('div', { class: 'field' }, h('label', { for: durationId }, t('share.duration.label')), select,
        h('p', { class: 'hint', id: `${durationId}-hint` }, t('share.duration.hint'))),
      confirmNodes
        ? h('div', { class: 'callout warning' },
          h('strong', null, t('share.nodes.head', { n })),
          h('p', null, t('share.nodes.text')),
          confirmNodes.wrap)
        : null,
      notice.el,
      h('div', { class: 'actions' }, h('a', { class: 'btn secondary', href: '#/share' }, t('common.cancel')), submit));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const resourceTypes = typeBoxes.filter((b) => b.box.input.checked).map((b) => b.type);
      const recordIds = recordBoxes.filter((r) => r.box.input.checked).map((r) => r.id);
      if (check.matched && !check.matched.checked) {
        notice.problem(t('share.check.mustMatch'));
        check.matched.focus();
        return;
      }
      if (resourceTypes.length === 0 && recordIds.length === 0) {
        notice.problem(t('share.nothingChosen'));
        return;
      }
      if (confirmNodes && !confirmNodes.input.checked) {
        notice.problem(t('share.nodes.mustConfirm'));
        confirmNodes.input.focus();
        return;
      }
      const durationSecs = select.value ? Number(select.value) : null;
      const result = await busy(submit, notice, () => ctx.backend.share({
        uri: v.uri, recordIds, resourceTypes, durationSecs, confirmNodes: confirmNodes?.input.checked ?? false,
      }), form);
      if (result) {
        // Home shows the new holder under "Who can see my records", and this result above it.
        ctx.session.review = undefined;
        ctx.session.flash = {
          kind: 'ok',
          head: t('share.done.head', { records: t('common.records', { n: result.records }), name: result.providerName }),
          text: t('share.done.until', { date: formatDate(result.notAfter), span: formatDuration(durationSecs ?? v.durationSecs) }),
        };
        ctx.go('#/home');
      }
    });
    return page(t('share.review.title'), h('span', null, t('share.review.lead', { name: v.providerName }), ' ', h('strong', { class: 'respond-by' }, dueBy(v.expiresAt, Math.floor(Date.now() / 1000)))),
      check.el,
      section(t('share.who.head'), h('dl', { class: 'facts' },
        h('dt', null, t('share.who.provider')), h('dd', { class: 'provider-name' }, v.providerName),
        h('dt', null, t('share.who.purpose')), h('dd', null, v.purpose),
        h('dt', null, t('share.who.asks')), h('dd', null, v.resourceTypes.map(typeName).join(', ') || t('common.records', { n: v.recordIds.length })),
        h('dt', null, t('share.who.howLong')), h('dd', null, formatDuration(v.durationSecs)))),
      section(t('share.decision.head'), form),
      h('details', { class: 'card tech' },
        h('summary', null, t('common.technicalDetails')),
        h('dl', { class: 'facts' },
          h('dt', null, t('share.tech.key')), h('dd', null, h('code', { class: 'key' }, groupedKey(v.providerKey))),
          h('dt', null, t('share.tech.code')), h('dd', null, h('code', null, v.providerCode)),
          h('dt', null, t('share.tech.validUntil')), h('dd', null, formatDateTime(v.expiresAt)),
          n > 0 ? [h('dt', null, t('share.tech.nodes')), h('dd', null, h('ul', { class: 'node-list' }, ...v.unpinnedNodes.map((node) => {
            const [url, key] = node.split(/\s+/);
            return h('li', null, h('code', { class: 'node-url' }, url), ' ', key ? h('code', { class: 'key' }, key) : h('span', null, `(${t('share.nodes.noKey')})`));
          })))] : null)));
  },
};

export const myQr: Screen = {
  get title() { return t('share.myqr.title'); },
  needs: 'unlocked',
  render: (ctx) => {
    const area = h('div', { class: 'card center' }, loading(t('common.loading')));
    void ctx.backend.myQr().then((qr) => {
      replace(area,
        h('img', { class: 'qr big', src: svgDataUrl(qr.svg), alt: t('share.myqr.alt'), width: '280', height: '280' }),
        h('p', { class: 'muted' }, t('share.myqr.text')),
        h('details', { class: 'tech' },
          h('summary', null, t('common.technicalDetails')),
          h('p', null, t('share.myqr.uri')),
          h('p', null, h('code', { class: 'key uri' }, qr.uri))));
    }, (err) => {
      const n = new Notice();
      n.error(err);
      replace(area, n.el);
    });
    return page(t('share.myqr.title'), t('share.myqr.lead'),
      h('p', null, h('a', { href: '#/share', class: 'back' }, t('share.myqr.back'))),
      area);
  },
};
