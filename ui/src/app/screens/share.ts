import type { RequestView } from '../../bindings/RequestView';
import { h, uid } from '../../lib/dom';
import { formatDateTime, formatDuration, groupedKey, requestSeverity, resourceTypeLabel, formatClinicalDate } from '../../lib/format';
import { decodeQrFrame, fileToBase64 } from '../../lib/qr';
import type { Ctx, Screen } from '../context';
import { Notice, busy, button, checkbox, page, section, textInput } from '../ui';

const DAY = 86400;
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const DURATIONS = [365 * DAY, 90 * DAY, 30 * DAY, 14 * DAY, 7 * DAY, DAY, 3600];

async function review(ctx: Ctx, notice: Notice, input: { uri: string | null; imageBase64: string | null }, trigger?: HTMLButtonElement): Promise<void> {
  const run = () => ctx.backend.reviewRequest(input);
  const view = trigger ? await busy(trigger, notice, run) : await run().catch((e) => { notice.error(e); return undefined; });
  if (view) {
    ctx.session.review = view;
    ctx.go('#/share/review');
  }
}

function camera(ctx: Ctx, notice: Notice): HTMLElement {
  const video = h('video', { class: 'camera', muted: true, playsinline: true, 'aria-label': 'Camera preview' });
  const status = h('p', { class: 'hint', role: 'status' }, 'The camera is off.');
  const start = button('Start camera', { class: 'btn secondary' });
  const stop = button('Stop camera', { class: 'btn secondary', hidden: true });
  let stream: MediaStream | null = null;
  let timer = 0;
  const canvas = document.createElement('canvas');
  const halt = () => {
    window.clearInterval(timer);
    stream?.getTracks().forEach((t) => t.stop());
    stream = null;
    video.srcObject = null;
    video.hidden = true;
    start.hidden = false;
    stop.hidden = true;
  };
  ctx.onLeave(halt);
  video.hidden = true;
  stop.addEventListener('click', () => { halt(); status.textContent = 'The camera is off.'; start.focus(); });
  start.addEventListener('click', async () => {
    notice.clear();
    if (!navigator.mediaDevices?.getUserMedia) {
      notice.problem('This device offers no camera here. Open an image of the code or paste the link instead.');
      return;
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false });
    } catch (err) {
      const name = (err as DOMException).name;
      notice.problem(name === 'NotAllowedError' ? 'Camera access was refused. Allow it, or open an image of the code instead.'
        : name === 'NotFoundError' ? 'No camera was found. Open an image of the code or paste the link instead.'
        : `The camera could not start (${name}).`);
      return;
    }
    video.srcObject = stream;
    video.hidden = false;
    start.hidden = true;
    stop.hidden = false;
    stop.focus();
    await video.play().catch(() => undefined);
    status.textContent = 'Looking for a QR code… hold it steady in the frame.';
    timer = window.setInterval(() => {
      if (!stream || video.readyState < 2 || video.videoWidth === 0) return;
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      const c2d = canvas.getContext('2d', { willReadFrequently: true });
      if (!c2d) return;
      c2d.drawImage(video, 0, 0);
      const frame = c2d.getImageData(0, 0, canvas.width, canvas.height);
      const text = decodeQrFrame(frame.data, frame.width, frame.height);
      if (text) {
        halt();
        status.textContent = 'QR code found. Checking the request…';
        void review(ctx, notice, { uri: text, imageBase64: null });
      }
    }, 200);
  });
  return section('Scan with the camera', h('p', null, 'Point the camera at the QR code the provider shows you.'),
    video, status, h('div', { class: 'actions' }, start, stop));
}

function imageOpener(ctx: Ctx, notice: Notice): HTMLElement {
  const input = h('input', { type: 'file', accept: 'image/*', id: uid('qrimg'), class: 'file-input' });
  const status = h('p', { class: 'hint', role: 'status' });
  input.addEventListener('change', async () => {
    const file = input.files?.[0];
    if (!file) return;
    status.textContent = `Reading ${file.name}…`;
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
  return section('Open an image', h('p', null, 'A screenshot or photo of the QR code, e.g. from an e-mail or the provider’s web page.'),
    h('div', { class: 'field' }, h('label', { for: input.id }, 'Image of the QR code'), input), status);
}

function linkPaster(ctx: Ctx, notice: Notice): HTMLElement {
  const link = textInput('Request link', { placeholder: 'carekey:request/v1/…', autocomplete: 'off', name: 'carekey-link' });
  const go = button('Review request', { type: 'submit', class: 'btn primary' });
  const form = h('form', { class: 'form', novalidate: true }, h('div', { class: 'row' }, link.wrap, go));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const uri = link.input.value.trim();
    if (!uri) {
      notice.problem('Paste the carekey: link first.');
      link.input.focus();
      return;
    }
    await review(ctx, notice, { uri, imageBase64: null }, go);
  });
  return section('Paste the link', h('p', null, 'If the provider sent a link that starts with carekey:'), form);
}

export const share: Screen = {
  title: 'Share',
  needs: 'unlocked',
  render: (ctx) => {
    const notice = new Notice();
    return page('Share with a provider',
      'Read the provider’s access request in one of three ways. You will see who asks, for what and for how long before anything is shared.',
      notice.el,
      h('div', { class: 'grid3' }, camera(ctx, notice), imageOpener(ctx, notice), linkPaster(ctx, notice)));
  },
};

function verificationBanner(v: RequestView): HTMLElement {
  const severity = requestSeverity(v.verification.state);
  const head = v.verification.state === 'verified' ? 'VERIFIED PROVIDER' : v.verification.state === 'name_mismatch' ? 'WARNING: NAME DOES NOT MATCH' : 'UNVERIFIED PROVIDER';
  const text = {
    verified: `${v.verification.directory ?? 'A directory you trust'} lists this key as “${v.verification.listedName ?? v.providerName}”.`,
    name_mismatch: `The key in this request belongs to “${v.verification.listedName ?? '?'}” according to ${v.verification.directory ?? 'your directory'}, not to “${v.providerName}”. Do not share unless you are certain who this is.`,
    unlisted: 'No directory you trust lists this provider. Anyone can put any name in a request: only continue if you know who gave you this code.',
    no_directory: 'You have no provider directory pinned, so Carekey cannot check who this is. Only continue if you know who gave you this code.',
  }[v.verification.state];
  return h('div', { class: `verdict ${severity}`, role: severity === 'ok' ? 'status' : 'alert' },
    h('span', { class: 'verdict-mark', 'aria-hidden': 'true' }, severity === 'ok' ? '✓' : '!'),
    h('div', null, h('strong', { class: 'verdict-head' }, head), h('p', null, text)));
}

export const shareReview: Screen = {
  title: 'Review the request',
  needs: 'unlocked',
  render: (ctx) => {
    const v = ctx.session.review;
    if (!v) {
      return page('Review the request', null, h('div', { class: 'card' }, h('p', null, 'No request to review.'), h('a', { class: 'btn primary', href: '#/share' }, 'Read a request')));
    }
    const notice = new Notice();
    const typeBoxes = v.resourceTypes.map((t) => ({
      type: t,
      box: checkbox(`${resourceTypeLabel(t)} (${plural(v.matchingRecords.filter((r) => r.resourceType === t).length, 'record')})`, { checked: true, value: t }),
    }));
    const recordBoxes = v.matchingRecords.map((r) => ({
      id: r.id,
      box: checkbox(h('span', null, r.title, r.detail ? h('span', { class: 'muted' }, ` · ${r.detail}`) : null, r.date ? h('span', { class: 'muted' }, ` · ${formatClinicalDate(r.date)}`) : null),
        { checked: v.recordIds.includes(r.id), value: r.id }),
    }));
    const durationId = uid('dur');
    const select = h('select', { id: durationId },
      h('option', { value: '' }, `${formatDuration(v.durationSecs)} (as requested)`),
      ...DURATIONS.filter((d) => d < v.durationSecs).map((d) => h('option', { value: String(d) }, formatDuration(d))));
    const confirmNodes = v.unpinnedNodes.length > 0
      ? checkbox('I trust these ledger nodes to hold my encrypted shared records and to log every access', { required: true })
      : null;
    const submit = button('Share', { type: 'submit', class: 'btn primary' });
    const form = h('form', { class: 'form', novalidate: true },
      h('fieldset', null, h('legend', null, 'Types of records'),
        h('p', { class: 'hint' }, 'A ticked type shares every record of that type in your wallet.'),
        ...typeBoxes.map((t) => t.box.wrap)),
      recordBoxes.length
        ? h('fieldset', null, h('legend', null, 'Or individual records'), ...recordBoxes.map((r) => r.box.wrap))
        : null,
      h('div', { class: 'field' }, h('label', { for: durationId }, 'For how long'), select,
        h('p', { class: 'hint' }, 'You can shorten what the provider asked for, never lengthen it. You can revoke at any time.')),
      confirmNodes
        ? h('div', { class: 'callout warning' },
          h('strong', null, 'This request names ledger nodes you have not pinned:'),
          h('ul', null, ...v.unpinnedNodes.map((n) => {
            const [url, key] = n.split(/\s+/);
            return h('li', null, h('code', { class: 'node-url' }, url), ' ',
              key ? h('span', null, 'log key ', h('code', { class: 'key' }, key))
                : h('span', null, '(no log key: nothing is published there until you add its key in Settings)'));
          })),
          h('p', { class: 'hint' }, 'Confirming pins each node with the log key shown; the witnesses you require of such nodes are set in Settings.'),
          confirmNodes.wrap)
        : null,
      notice.el,
      h('div', { class: 'actions' }, h('a', { class: 'btn secondary', href: '#/share' }, 'Cancel'), submit));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const resourceTypes = typeBoxes.filter((t) => t.box.input.checked).map((t) => t.type);
      const recordIds = recordBoxes.filter((r) => r.box.input.checked).map((r) => r.id);
      if (resourceTypes.length === 0 && recordIds.length === 0) {
        notice.problem('Choose at least one type of record or one record to share.');
        return;
      }
      if (confirmNodes && !confirmNodes.input.checked) {
        notice.problem('Confirm the ledger nodes this request names, or cancel.');
        confirmNodes.input.focus();
        return;
      }
      const result = await busy(submit, notice, () => ctx.backend.share({
        uri: v.uri, recordIds, resourceTypes, durationSecs: select.value ? Number(select.value) : null, confirmNodes: confirmNodes?.input.checked ?? false,
      }), form);
      if (result) {
        ctx.session.shareResult = result;
        ctx.session.review = undefined;
        ctx.go('#/share/done');
      }
    });
    return page('Review the request', null,
      verificationBanner(v),
      section('Who asks, and for what', h('dl', { class: 'facts' },
        h('dt', null, 'Provider'), h('dd', { class: 'provider-name' }, v.providerName),
        h('dt', null, 'Provider key'), h('dd', null, h('code', { class: 'key' }, groupedKey(v.providerKey))),
        h('dt', null, 'Purpose'), h('dd', null, v.purpose),
        h('dt', null, 'Asks for'), h('dd', null, v.resourceTypes.map(resourceTypeLabel).join(', ') || `${v.recordIds.length} records`),
        h('dt', null, 'For how long'), h('dd', null, formatDuration(v.durationSecs)),
        h('dt', null, 'Request valid until'), h('dd', null, formatDateTime(v.expiresAt)))),
      section('Your decision', form));
  },
};

export const shareDone: Screen = {
  title: 'Shared',
  needs: 'unlocked',
  render: (ctx) => {
    const r = ctx.session.shareResult;
    if (!r) return page('Shared', null, h('a', { class: 'btn primary', href: '#/grants' }, 'See grants'));
    return page('Shared', null,
      h('div', { class: 'verdict ok', role: 'status' },
        h('span', { class: 'verdict-mark', 'aria-hidden': 'true' }, '✓'),
        h('div', null, h('strong', { class: 'verdict-head' }, `Shared ${r.records} record${r.records === 1 ? '' : 's'} with ${r.providerName}`),
          h('p', null, `Until ${formatDateTime(r.notAfter)}. Every access will show in your access log. You can revoke this grant at any time.`))),
      h('section', { class: 'card', 'aria-labelledby': 'grant-id-head' },
        h('h2', { id: 'grant-id-head' }, 'Grant id'),
        h('p', null, 'The provider fetches with this id; it reveals nothing about your records.'),
        h('code', { class: 'block grant-id' }, r.grantId)),
      h('div', { class: 'actions' },
        h('a', { class: 'btn primary', href: '#/grants' }, 'See grants'),
        h('a', { class: 'btn secondary', href: '#/share' }, 'Share again')));
  },
};

