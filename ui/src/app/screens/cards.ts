import type { CardView } from '../../bindings/CardView';
import type { IssuerView } from '../../bindings/IssuerView';
import { toBackendError, type BackendError } from '../../backend/errors';
import { h, replace, type Child } from '../../lib/dom';
import { formatDate } from '../../lib/format';
import { t } from '../../i18n';
import type { Ctx } from '../context';
import { Notice, busy, button, confirmDialog, errorBox, technicalDetails, textInput } from '../ui';
import { qrCamera } from './camera';
import { typeName } from './share';

/**
 * Health cards (SMART Health Cards, issue 11): adding one on Records (a file, a picture of its QR
 * code, or the camera), what its check found, its facts on the record's page, and Settings →
 * Trusted card issuers. An issuer is named by its web address's host ("vaccines.example.org");
 * the full address stays under "Technical details".
 */

/** The wallet's category of card records. */
export const CARD_CATEGORY = 'health cards';

/** "vaccines.example.org" for `https://vaccines.example.org/shc`: who, without the jargon. */
export function issuerName(url: string): string {
  try {
    return new URL(url).host.replace(/^www\./, '');
  } catch {
    return url.replace(/^[a-z]+:\/\//i, '');
  }
}

/** The wallet titles a card "Health card: Immunization, Observation": in the patient's words. */
export function cardTitle(title: string): string {
  const m = /^Health card(?::\s*(.+))?$/.exec(title);
  if (!m) return title;
  if (!m[1]) return t('cards.titlePlain');
  return t('cards.title', { kinds: m[1].split(/,\s*/).map(typeName).join(', ') });
}

/** One line for the records list: checked or not, and by whom. */
export function cardLine(card: CardView): string {
  const issuer = issuerName(card.issuer);
  return card.check === 'verified' ? t('cards.list.verified', { issuer }) : t('cards.list.notVerified', { issuer });
}

function verdict(kind: 'ok' | 'warning' | 'alarm', head: string, ...body: Child[]): HTMLElement {
  return h('div', { class: `verdict ${kind} card-verdict` },
    h('span', { class: 'verdict-mark', 'aria-hidden': 'true' }, kind === 'ok' ? '✓' : '!'),
    h('div', null, h('strong', { class: 'verdict-head' }, head), ...body));
}

/** What checking an imported card found, and where it is now. */
function imported(card: CardView): HTMLElement {
  const issuer = issuerName(card.issuer);
  const kept = h('p', null, t('cards.kept', { title: cardTitle(card.title), date: formatDate(card.issuedAt) }), ' ',
    h('a', { href: `#/records/${card.record}` }, t('cards.openRecord')));
  return card.check === 'verified'
    ? verdict('ok', t('cards.verified.head', { issuer }), h('p', null, t('cards.verified.text', { issuer })), kept)
    : verdict('warning', t('cards.notVerified.head', { issuer }),
      h('p', null, t('cards.notVerified.text', { issuer }), ' ', h('a', { href: '#/settings#card-issuers' }, t('cards.toSettings'))), kept);
}

/** A refused card: why, in plain words (the wallet's message under "Technical details"). */
function refused(e: BackendError): HTMLElement {
  const issuer = issuerName(e.issuer ?? '');
  const reasons = ['altered', 'expired', 'not_yet_valid', 'revoked', 'issuer_key'];
  const why = t(`cards.refused.${e.reason && reasons.includes(e.reason) ? e.reason : 'other'}`, { issuer });
  return h('div', { role: 'alert' },
    verdict('alarm', t('cards.refused.head', { issuer }), h('p', null, why), h('p', null, t('cards.refused.after', { issuer }))),
    technicalDetails(h('p', null, e.message), h('p', { class: 'code' }, t('common.errorCode', { code: e.code }))));
}

/**
 * Records → "Add a health card": a file (the platform's own chooser inside the app, the browser's
 * file input in the mock) or the camera. `onImported` runs after cards were kept.
 */
export function cardImporter(ctx: Ctx, onImported: () => void): HTMLElement {
  const notice = new Notice();
  const result = h('div', { class: 'card-results', 'aria-live': 'polite' });
  const chooseBtn = button(t('cards.file'), { class: 'btn secondary', id: 'choose-card', 'aria-describedby': 'choose-card-hint' });
  const fileInput = h('input', {
    type: 'file', id: 'card-file', class: 'file-input', hidden: true, accept: '.smart-health-card,image/png,image/jpeg', 'aria-label': t('cards.fileLabel'),
  });
  const region = h('div', { class: 'card-import' });

  const run = async (args: { path?: string; text?: string }, trigger?: HTMLButtonElement) => {
    notice.clear();
    replace(result);
    const call = () => ctx.backend.importCard(args);
    let cards: CardView[] | undefined;
    try {
      if (trigger) {
        // busy() shows errors itself; refusals are shown here, in their own words.
        cards = await busy(trigger, null, call, region);
      } else {
        region.setAttribute('aria-busy', 'true');
        notice.info(t('cards.reading'));
        cards = await call().finally(() => region.removeAttribute('aria-busy'));
        notice.clear();
      }
    } catch (err) {
      const e = toBackendError(err);
      if (e.code === 'card_refused') replace(result, refused(e));
      else replace(result, errorBox(e));
      return;
    }
    if (!cards) return;
    replace(result, ...cards.map(imported));
    ctx.announce(t('cards.announce', { n: cards.length }));
    onImported();
  };

  chooseBtn.addEventListener('click', async () => {
    notice.clear();
    let chosen: string[] | null;
    try {
      chosen = await ctx.backend.chooseFiles(t('cards.fileDialog'));
    } catch (err) {
      notice.error(err);
      return;
    }
    if (chosen === null) fileInput.click();
    else for (const path of chosen) await run({ path }, chooseBtn);
  });
  fileInput.addEventListener('change', () => {
    const files = Array.from(fileInput.files ?? []);
    const paths = ctx.backend.pathsOfFiles(files);
    fileInput.value = '';
    if (files.length > 0 && paths.length === 0) {
      notice.info(t('cards.noPaths'));
      return;
    }
    if (paths[0]) void run({ path: paths[0] }, chooseBtn);
  });

  const camera = qrCamera(ctx, notice, {
    head: t('cards.scan.head'),
    text: t('cards.scan.text'),
    words: 'cards.camera',
    startId: 'scan-card',
    primary: false,
    onText: (text) => void run({ text }),
  });
  camera.classList.add('card-scan');

  region.append(
    h('p', null, t('cards.add.text')),
    h('div', { class: 'add-row' }, chooseBtn, h('p', { class: 'hint', id: 'choose-card-hint' }, t('cards.fileHint'))),
    fileInput, camera, notice.el, result);
  return h('details', { class: 'card add-health-card', id: 'add-health-card' }, h('summary', null, t('cards.add.head')), region);
}

/** The record page of a card: who issued it, whether that was checked, its dates. */
export function cardFacts(card: CardView): HTMLElement[] {
  const issuer = issuerName(card.issuer);
  const checked = card.check === 'verified';
  return [
    h('dl', { class: 'facts card-facts' },
      h('dt', null, t('cards.page.issuer')), h('dd', null, issuer),
      h('dt', null, t('cards.page.check')), h('dd', { class: checked ? 'ok-text' : 'warn-text' },
        checked ? t('cards.page.checkYes', { issuer }) : t('cards.page.checkNo', { issuer })),
      h('dt', null, t('cards.page.issued')), h('dd', null, formatDate(card.issuedAt)),
      h('dt', null, t('cards.page.expires')), h('dd', null, card.expiresAt === null ? t('cards.page.noEnd') : formatDate(card.expiresAt))),
    technicalDetails(h('dl', { class: 'facts' },
      h('dt', null, t('cards.tech.issuer')), h('dd', null, h('code', null, card.issuer)),
      card.keyId ? [h('dt', null, t('cards.tech.key')), h('dd', null, h('code', { class: 'key' }, card.keyId))] : null)),
  ];
}

type Reload = (after?: { focus?: string }) => void;

/** Settings → Trusted card issuers: like the provider directories, by address. */
export function issuersSection(ctx: Ctx, issuers: IssuerView[], reload: Reload): HTMLElement {
  const notice = new Notice();
  const list = issuers.length
    ? h('ul', { class: 'issuers directories' }, ...issuers.map((i) => {
      const name = issuerName(i.url);
      const remove = button(t('cards.issuers.remove'), { class: 'btn secondary', 'aria-label': t('cards.issuers.removeLabel', { issuer: name }) });
      remove.addEventListener('click', async () => {
        const yes = await confirmDialog({
          title: t('cards.issuers.removeTitle', { issuer: name }), body: t('cards.issuers.removeBody'), confirm: t('cards.issuers.removeConfirm'), danger: true,
        });
        if (!yes) return;
        const ok = await busy(remove, notice, async () => { await ctx.backend.removeIssuer({ url: i.url }); return true; });
        if (ok) {
          ctx.announce(t('cards.issuers.removed', { issuer: name }));
          reload({ focus: 'card-issuers' });
        }
      });
      return h('li', { class: 'directory issuer' },
        h('div', { class: 'directory-head' },
          h('div', null,
            h('p', { class: 'directory-name' }, name),
            h('p', { class: 'muted' }, t('cards.issuers.since', { date: formatDate(i.addedAt) }))),
          remove),
        technicalDetails(h('p', null, t('cards.issuers.address'), ' ', h('code', null, i.url))));
    }))
    : h('p', { class: 'muted' }, t('cards.issuers.empty'));

  const url = textInput(t('cards.issuers.url'), { type: 'url', autocomplete: 'off', spellcheck: 'false', inputmode: 'url' }, t('cards.issuers.urlHint'));
  const add = button(t('cards.issuers.add'), { type: 'submit', class: 'btn secondary' });
  const form = h('form', { class: 'form', novalidate: true, 'aria-label': t('cards.issuers.addTitle') },
    h('p', null, t('cards.issuers.where')), url.wrap, h('div', { class: 'actions' }, add));
  const adding = h('details', { class: 'add-directory', id: 'add-issuer', open: issuers.length === 0 }, h('summary', null, t('cards.issuers.addTitle')), form);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const value = url.input.value.trim();
    if (!value) {
      notice.problem(t('cards.issuers.missing'));
      url.input.focus();
      return;
    }
    // An address typed without its scheme ("vaccines.example.org/shc") is a secure web address.
    const full = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `https://${value}`;
    const added = await busy(add, notice, () => ctx.backend.addIssuer({ url: full }), form);
    if (added) {
      ctx.announce(t('cards.issuers.added', { issuer: issuerName(added.url) }));
      reload({ focus: 'card-issuers' });
    }
  });
  const headId = 'card-issuers-head';
  const el = h('section', { class: 'card', id: 'card-issuers', tabindex: '-1', 'aria-labelledby': headId },
    h('h2', { id: headId }, t('cards.issuers.title')),
    h('p', null, t('cards.issuers.intro')),
    list, notice.el, adding);
  return el;
}
