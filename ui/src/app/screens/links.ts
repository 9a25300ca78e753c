/**
 * SMART Health Links (issue 11, ADR 0016): "Share as a link" (`#/links/new`) for a clinic that
 * does not run Carekey, the result shown once (QR code, copy, the passcode), the list of links
 * (`#/links`) and a link's page (`#/links/:id`) with its opens, "Update now" and "End link".
 * An open is always the viewer's own claim ("someone who says they are …"), never checked.
 * Also the pieces Home and Activity show beside grants.
 */
import type { CreatedLinkView } from '../../bindings/CreatedLinkView';
import type { HealthLinkDetailView } from '../../bindings/HealthLinkDetailView';
import type { HealthLinkOpenView } from '../../bindings/HealthLinkOpenView';
import type { HealthLinkView } from '../../bindings/HealthLinkView';
import type { HomeView } from '../../bindings/HomeView';
import type { RecordView } from '../../bindings/RecordView';
import { t } from '../../i18n';
import { h, replace, uid, type Child } from '../../lib/dom';
import { agoPhrase, formatDate, formatDateTime, formatTime, groupByCategory, timeLeft } from '../../lib/format';
import {
  DEFAULT_ATTEMPTS, EXPIRY_CHOICES, MAX_LABEL_CHARS, expiryFor, labelLength, linkName, linkStanding, openSentence, opensSummary,
  suggestPasscode, type ExpiryChoice,
} from '../../lib/links';
import { svgDataUrl } from '../../lib/qr';
import type { Ctx, Screen } from '../context';
import { Notice, busy, button, checkbox, confirmDialog, loading, page, section, textInput } from '../ui';
import { technical } from './grant';
import { categoryName } from './records';

export function linkHref(id: string): string {
  return `#/links/${encodeURIComponent(id)}`;
}

/** "Share as a link" as a link-styled button (Records, Share, the list). */
export function shareAsLinkButton(attrs: Record<string, unknown> = {}): HTMLAnchorElement {
  return h('a', { class: 'btn secondary share-as-link', href: '#/links/new', ...attrs }, t('links.action'));
}

/** `checkbox()` with a fixed id (for tests and focus), its label still tied to it. */
function namedCheckbox(id: string, label: Child, attrs: Record<string, unknown>, hint?: Child): { wrap: HTMLElement; input: HTMLInputElement } {
  const c = checkbox(label, attrs, hint);
  c.wrap.querySelector('label')?.setAttribute('for', id);
  c.input.id = id;
  return c;
}

/** The QR code and "Copy link"; the link's text itself only under technical details. */
function qrBlock(uri: string, svg: string, notice: Notice): HTMLElement {
  const copy = button(t('links.copy'), { class: 'btn primary', id: 'copy-link' });
  copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(uri);
      notice.ok(t('links.copied'));
    } catch {
      notice.problem(t('links.copyFailed'));
    }
  });
  return h('div', { class: 'link-qr' },
    h('img', { class: 'qr big', src: svgDataUrl(svg), alt: t('links.qr.alt'), width: '280', height: '280' }),
    h('div', { class: 'actions' }, copy),
    technical([[t('links.tech.uri'), h('code', { class: 'key uri' }, uri)]]));
}

// ---- the list ----

function linkItem(l: HealthLinkView, now: number): HTMLElement {
  return h('li', { class: `link card state-${l.state}` },
    h('h3', null, h('a', { href: linkHref(l.id) }, linkName(l))),
    h('p', { class: 'link-standing' }, linkStanding(l, now)),
    h('p', { class: 'muted small' }, opensSummary(l)));
}

export const linksList: Screen = {
  get title() { return t('links.list.title'); },
  needs: 'unlocked',
  render: (ctx) => {
    const notice = new Notice();
    const area = h('div', { class: 'link-groups' }, loading(t('links.list.loading')));
    void (async () => {
      try {
        const [list, view] = await Promise.all([ctx.backend.listLinks(), ctx.backend.home()]);
        if (list.length === 0) {
          replace(area, h('div', { class: 'empty' }, h('p', null, t('links.list.empty'))));
          ctx.announce(t('links.list.empty'));
          return;
        }
        replace(area, ...(['active', 'ended'] as const).map((grp) => {
          const group = list.filter((l) => (grp === 'active') === (l.state === 'active'));
          if (group.length === 0) return null;
          const id = uid(`links-${grp}`);
          return h('section', { class: `group group-${grp}`, 'aria-labelledby': id },
            h('h2', { id }, t(`links.list.group.${grp}`), h('span', { class: 'count' }, ` ${group.length}`)),
            h('ul', { class: 'links' }, ...group.map((l) => linkItem(l, view.now))));
        }));
        ctx.announce(t('links.list.summary', { n: list.length }));
      } catch (err) {
        notice.error(err);
        replace(area);
      }
    })();
    return page(t('links.list.title'), t('links.list.lead'),
      h('div', { class: 'actions' }, shareAsLinkButton({ id: 'new-link', class: 'btn primary share-as-link' })),
      notice.el, area);
  },
};

// ---- making a link ----

/** The form's choices (records, the summary, name, how long, passcode, long-term). */
function linkForm(ctx: Ctx, records: RecordView[], now: number, notice: Notice, done: (created: CreatedLinkView) => void): HTMLElement {
  const fhir = records.filter((r) => r.resourceType !== null);
  const files = records.length - fhir.length;
  const summary = namedCheckbox('link-summary', t('links.new.summary'), {}, t('links.new.summaryHint'));
  const boxes = new Map<string, HTMLInputElement>();
  const groups = groupByCategory(fhir).map(({ category, records: list }) => {
    const legendId = uid('cat');
    return h('fieldset', { class: 'link-cat', 'aria-labelledby': legendId },
      h('legend', { id: legendId }, categoryName(category.id)),
      ...list.map((r) => {
        const c = checkbox(h('span', null, h('span', { class: 'link-record-title' }, r.title), r.detail ? h('span', { class: 'muted small' }, ` \u00b7 ${r.detail}`) : null),
          { value: r.id, 'data-record': r.id });
        boxes.set(r.id, c.input);
        return c.wrap;
      }));
  });
  const whatId = uid('what');
  const what = h('fieldset', { class: 'link-what', 'aria-labelledby': whatId, id: 'link-what' },
    h('legend', { id: whatId }, t('links.new.what')),
    summary.wrap,
    h('h3', { class: 'link-records-head' }, t('links.new.records')),
    fhir.length ? groups : h('p', { class: 'muted' }, t('links.new.noRecords')),
    files ? h('p', { class: 'hint' }, t('links.new.filesLeftOut', { n: files })) : null);

  const counterId = uid('counter');
  const label = textInput(t('links.new.label'), { id: 'link-label', autocomplete: 'off', 'aria-describedby': counterId }, t('links.new.labelHint'));
  const counter = h('p', { class: 'hint counter', id: counterId });
  const count = () => {
    const n = labelLength(label.input.value);
    counter.textContent = n > MAX_LABEL_CHARS ? t('links.new.counterOver', { n: n - MAX_LABEL_CHARS }) : t('links.new.counter', { n, max: MAX_LABEL_CHARS });
    counter.classList.toggle('over', n > MAX_LABEL_CHARS);
  };
  label.input.addEventListener('input', count);
  count();
  label.wrap.append(counter);

  const howId = uid('how');
  const radios = EXPIRY_CHOICES.map((c) => {
    const id = uid('exp');
    const input = h('input', { type: 'radio', name: 'link-expiry', id, value: c, checked: c === 'week' });
    return { c, input, wrap: h('div', { class: 'check' }, input, h('label', { for: id }, t(`links.new.${c}`))) };
  });
  const howLong = h('fieldset', { class: 'link-how', 'aria-labelledby': howId },
    h('legend', { id: howId }, t('links.new.howLong')), ...radios.map((r) => r.wrap));

  const ask = namedCheckbox('link-ask-passcode', t('links.new.passcode'), { checked: true }, t('links.new.passcodeHint', { n: DEFAULT_ATTEMPTS }));
  const code = textInput(t('links.new.passcodeField'), { id: 'link-passcode', autocomplete: 'off', inputmode: 'numeric', value: suggestPasscode(), class: 'passcode-input' });
  const suggest = button(t('links.new.suggest'), { class: 'btn secondary small', id: 'suggest-passcode' });
  suggest.addEventListener('click', () => {
    code.input.value = suggestPasscode();
    ctx.announce(t('links.new.suggested'));
  });
  const codeRow = h('div', { class: 'row passcode-row' }, code.wrap, suggest);
  ask.input.addEventListener('change', () => { codeRow.hidden = !ask.input.checked; });

  const longTerm = namedCheckbox('link-long-term', t('links.new.longTerm'), {}, t('links.new.longTermHint'));

  const warnId = uid('warn');
  const create = button(t('links.new.create'), { type: 'submit', class: 'btn primary', id: 'create-link', 'aria-describedby': warnId });
  const form = h('form', { class: 'form link-form', novalidate: true },
    section(t('links.new.what'), what),
    section(t('links.new.forClinic'), label.wrap, howLong),
    section(t('links.new.protect'), ask.wrap, codeRow, longTerm.wrap),
    h('section', { class: 'card link-before', 'aria-labelledby': `${warnId}-h` },
      h('h2', { id: `${warnId}-h` }, t('links.new.before')),
      h('p', { class: 'link-warning', id: warnId }, t('links.new.warning')),
      notice.el,
      h('div', { class: 'actions' }, create)));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const recordIds = [...boxes.entries()].filter(([, b]) => b.checked).map(([id]) => id);
    const choice = (radios.find((r) => r.input.checked)?.c ?? 'week') as ExpiryChoice;
    const passcode = ask.input.checked ? code.input.value.trim() : '';
    const created = await busy(create, notice, () => ctx.backend.createLink({
      recordIds,
      summary: summary.input.checked,
      label: label.input.value.trim() === '' ? null : label.input.value.trim(),
      expiresAt: expiryFor(choice, now),
      passcode: passcode === '' ? null : passcode,
      attempts: null,
      longTerm: longTerm.input.checked,
    }));
    if (created) {
      done(created);
      return;
    }
    // Back to the field the wallet's answer is about.
    const errCode = notice.el.querySelector('.code')?.textContent ?? '';
    if (/bad_label/.test(errCode)) label.input.focus();
    else if (/bad_passcode/.test(errCode)) code.input.focus();
    else if (/empty_share|record_not_json/.test(errCode)) summary.input.focus();
  });
  return form;
}

/** The result, shown once: the QR code, "Copy link", the passcode and when it ends. */
function createdView(c: CreatedLinkView, now: number): HTMLElement {
  const notice = new Notice();
  const l = c.link;
  const passId = uid('pass');
  return page(t('links.created.title'), t('links.created.lead'),
    notice.el,
    h('section', { class: 'card center link-created', 'aria-label': linkName(l) },
      h('p', { class: 'link-name' }, linkName(l)),
      qrBlock(c.uri, c.qrSvg, notice)),
    c.passcode
      ? h('section', { class: 'card link-passcode', 'aria-labelledby': passId },
        h('h2', { id: passId }, t('links.created.passcode')),
        h('p', { class: 'passcode', id: 'created-passcode' }, c.passcode),
        h('p', { class: 'passcode-note' }, h('strong', null, t('links.created.passcodeNote'))))
      : h('p', { class: 'card' }, t('links.created.noPasscode')),
    h('p', { class: 'link-ends' }, l.expiresAt === null
      ? t('links.created.noEnd')
      : t('links.created.ends', { date: formatDate(l.expiresAt), when: timeLeft(l.expiresAt, now) })),
    h('div', { class: 'actions' },
      h('a', { class: 'btn secondary', href: linkHref(l.id), id: 'created-page' }, t('links.created.page')),
      h('a', { class: 'btn secondary', href: '#/home' }, t('links.created.done'))));
}

export const newLink: Screen = {
  get title() { return t('links.new.title'); },
  needs: 'unlocked',
  render: (ctx) => {
    const notice = new Notice();
    const area = h('div', { class: 'link-new' }, loading(t('links.new.loading')));
    const root = page(t('links.new.title'), t('links.new.lead'),
      h('p', null, h('a', { class: 'back', href: '#/links' }, `\u2190 ${t('links.yours')}`)),
      area);
    void (async () => {
      try {
        // The wallet's clock comes with the home view: the link ends from the wallet's "now".
        const [records, view] = await Promise.all([ctx.backend.listRecords(), ctx.backend.home()]);
        replace(area, linkForm(ctx, records, view.now, notice, (created) => {
          // Shown this once: the passcode is nowhere else (the wallet does not keep it).
          const result = createdView(created, view.now);
          root.replaceWith(result);
          document.title = `${t('links.created.title')} \u2014 Carekey`;
          (result.querySelector('h1') as HTMLElement | null)?.focus();
          ctx.announce(t('links.created.announce'));
        }));
      } catch (err) {
        notice.error(err);
        replace(area, notice.el);
      }
    })();
    return root;
  },
};

// ---- a link's page ----

function openTechnical(o: HealthLinkOpenView): HTMLElement {
  return technical([
    [t('links.tech.node'), h('code', null, o.node)],
    [t('links.tech.index'), String(o.index)],
    ...(o.remainingAttempts !== null ? [[t('links.tech.attempts'), String(o.remainingAttempts)] as [string, Child]] : []),
  ]);
}

function opensSection(d: HealthLinkDetailView): HTMLElement {
  const headId = uid('opens');
  return h('section', { class: 'card link-opens', 'aria-labelledby': headId },
    h('h2', { id: headId }, t('links.opens.title')),
    d.opens.length === 0
      ? h('p', { class: 'muted' }, t('links.opens.none'))
      : [
        h('p', { class: 'muted small' }, t('links.opens.claim')),
        h('ol', { class: 'history' }, ...d.opens.map((o) => h('li', { class: `history-item ${o.opened ? 'opened' : 'wrong-passcode'}` },
          h('p', null, openSentence(o), ' \u00b7 ',
            h('time', { datetime: new Date(o.at * 1000).toISOString(), title: formatDateTime(o.at) }, agoPhrase(o.at, d.now))),
          openTechnical(o)))),
      ]);
}

function carries(d: HealthLinkDetailView, titles: Map<string, string>): HTMLElement {
  const l = d.link;
  const headId = uid('carries');
  return h('section', { class: 'card', 'aria-labelledby': headId },
    h('h2', { id: headId }, t('links.page.what')),
    h('ul', { class: 'records shared-records' },
      l.summary ? h('li', { class: 'record' }, t('links.page.summary')) : null,
      ...l.records.map((id) => h('li', { class: 'record' }, titles.has(id)
        ? h('a', { class: 'record-link', href: `#/records/${encodeURIComponent(id)}` }, titles.get(id))
        : h('span', { class: 'muted' }, t('links.page.gone'))))),
    h('p', null, l.passcode ? t('links.page.passcode') : t('links.page.noPasscode')),
    l.longTerm ? h('p', null, t('links.page.longTerm')) : null);
}

function whenSection(d: HealthLinkDetailView): HTMLElement {
  const l = d.link;
  const headId = uid('when');
  const rows: [string, string][] = [
    [t('links.page.made'), `${formatDate(l.createdAt)} (${agoPhrase(l.createdAt, d.now)})`],
    [t('links.page.until'), l.expiresAt === null ? t('links.page.noEnd') : `${formatDate(l.expiresAt)} (${timeLeft(l.expiresAt, d.now)})`],
  ];
  if (l.endedAt !== null) rows.push([t('links.page.ended'), `${formatDateTime(l.endedAt)} (${agoPhrase(l.endedAt, d.now)})`]);
  return h('section', { class: 'card', 'aria-labelledby': headId },
    h('h2', { id: headId }, t('links.page.when')),
    h('dl', { class: 'facts' }, ...rows.map(([k, v]) => [h('dt', null, k), h('dd', null, v)])));
}

function linkActions(ctx: Ctx, d: HealthLinkDetailView, notice: Notice, reload: () => void): HTMLElement | null {
  const l = d.link;
  if (l.state !== 'active') return null;
  const headId = uid('act');
  const update = l.longTerm ? button(t('links.page.update'), { class: 'btn secondary', id: 'update-link' }) : null;
  update?.addEventListener('click', async () => {
    const r = await busy(update, notice, () => ctx.backend.updateLink({ linkId: l.id }));
    if (r) {
      notice.ok(t('links.page.updated'));
      reload();
    }
  });
  const end = button(t('links.page.end'), { class: 'btn danger-outline', id: 'end-link' });
  end.addEventListener('click', async () => {
    const yes = await confirmDialog({
      title: t('links.end.title'),
      body: h('div', null, h('p', null, t('links.end.body1')), h('p', null, t('links.end.body2'))),
      confirm: t('links.page.end'),
      danger: true,
    });
    if (!yes) return;
    const r = await busy(end, notice, () => ctx.backend.endLink({ linkId: l.id }));
    if (!r) return;
    if (r.state === 'ending') notice.info(t('links.end.ending'));
    else notice.ok(t('links.end.done'));
    reload();
  });
  return h('section', { class: 'card link-actions', 'aria-labelledby': headId },
    h('h2', { id: headId }, t('links.page.actions')),
    update ? h('div', { class: 'action-row' }, update, h('p', { class: 'hint' }, t('links.page.updateHint'))) : null,
    h('div', { class: 'action-row' }, end, h('p', { class: 'hint' }, t('links.page.endHint'))));
}

export const linkPage: Screen = {
  get title() { return t('links.page.title'); },
  needs: 'unlocked',
  render: async (ctx) => {
    const notice = new Notice();
    const id = ctx.params.id ?? '';
    const body = h('div', { class: 'link-body' });
    const heading = h('h1', { tabindex: '-1' }, t('links.page.title'));
    const lead = h('p', { class: 'lead' });
    const load = async (quiet: boolean) => {
      try {
        const [d, records] = await Promise.all([ctx.backend.linkDetail({ linkId: id }), ctx.backend.listRecords()]);
        const titles = new Map(records.map((r) => [r.id, r.title]));
        heading.textContent = linkName(d.link);
        document.title = `${linkName(d.link)} \u2014 Carekey`;
        lead.textContent = `${linkStanding(d.link, d.now)} ${opensSummary(d.link)}.`;
        lead.className = `lead status-line state-${d.link.state}`;
        const codeId = uid('code');
        replace(body,
          d.uri !== null && d.qrSvg !== null
            ? h('section', { class: 'card center', 'aria-labelledby': codeId },
              h('h2', { id: codeId }, t('links.page.code')),
              h('p', { class: 'muted' }, t('links.page.codeText')),
              qrBlock(d.uri, d.qrSvg, notice))
            : null,
          opensSection(d),
          carries(d, titles),
          whenSection(d),
          linkActions(ctx, d, notice, () => void load(true)),
          technical([
            [t('links.tech.node'), h('code', null, d.link.node)],
            [t('links.tech.id'), h('code', { class: 'key' }, d.link.id)],
          ]));
        if (quiet) heading.focus();
      } catch (err) {
        notice.error(err);
        replace(body);
      }
    };
    await load(false);
    return h('div', { class: 'page link-page' },
      h('p', { class: 'back-links' }, h('a', { class: 'back', href: '#/links' }, `\u2190 ${t('links.page.back')}`)),
      h('header', { class: 'page-head' }, heading, lead),
      notice.el, body);
  },
};

// ---- Home and Activity ----

/** Home: "2 links can be opened · last opened by someone who says they are …", to `#/links`. */
export function homeLinksCard(v: HomeView): HTMLElement | null {
  if (v.links.length === 0 && v.latestLinkOpen === null) return null;
  const headId = uid('links');
  const o = v.latestLinkOpen;
  return h('section', { class: 'card home-links', 'aria-labelledby': headId, id: 'home-links' },
    h('h2', { id: headId }, t('links.home.title')),
    h('p', null,
      v.links.length ? t('links.home.active', { n: v.links.length }) : null,
      v.links.length && o ? ' \u00b7 ' : null,
      o ? t(o.opened ? 'links.home.last' : 'links.home.lastWrong', { who: o.recipient, when: agoPhrase(o.at, v.now) }) : null),
    h('p', null, h('a', { href: '#/links', 'data-focus': 'home-links' }, t('links.home.see'))));
}

/** Activity: one link open beside grant accesses (the claim, when, the link, folded details). */
export function linkOpenItem(o: HealthLinkOpenView, withDay = false): HTMLElement {
  return h('li', { class: `event link-open ${o.opened ? 'opened' : 'wrong-passcode'}` },
    h('div', { class: 'event-when' }, h('time', { datetime: new Date(o.at * 1000).toISOString() }, withDay ? formatDateTime(o.at) : formatTime(o.at))),
    h('div', { class: 'event-body' },
      h('p', { class: 'event-who' }, `${openSentence(o, true)}.`),
      h('p', { class: 'muted small' }, t('links.opens.claim')),
      h('p', { class: 'small' }, h('a', { href: linkHref(o.linkId) }, t('links.open.seeLink'))),
      openTechnical(o)));
}
