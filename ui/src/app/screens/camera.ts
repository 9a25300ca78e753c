import { h } from '../../lib/dom';
import { decodeQrFrame } from '../../lib/qr';
import { t } from '../../i18n';
import type { Ctx } from '../context';
import { Notice, button, section } from '../ui';

/**
 * A QR scanner with the device's camera (getUserMedia + jsQR): "Start camera" shows the preview,
 * the first code read stops the camera and goes to `onText`. Share uses it for a provider's
 * request, Records for a health card. `words` is the catalogue prefix of its sentences
 * (`<words>.start`, `.stop`, `.preview`, `.off`, `.looking`, `.found`, `.none`, `.refused`,
 * `.notFound`, `.failed`), so each place says what it scans for.
 */
export function qrCamera(ctx: Ctx, notice: Notice, opts: {
  head: string;
  text: string;
  words: string;
  /** The id of the start button. */
  startId: string;
  /** The start button is the screen's main action (default); otherwise a secondary one. */
  primary?: boolean;
  onText(text: string): void;
}): HTMLElement {
  const w = (key: string, params?: Record<string, string>) => t(`${opts.words}.${key}`, params);
  const video = h('video', { class: 'camera', muted: true, playsinline: true, 'aria-label': w('preview') });
  const status = h('p', { class: 'hint', role: 'status' }, w('off'));
  const start = button(w('start'), { class: opts.primary === false ? 'btn secondary' : 'btn primary', id: opts.startId });
  const stop = button(w('stop'), { class: 'btn secondary', hidden: true });
  let stream: MediaStream | null = null;
  let timer = 0;
  const canvas = document.createElement('canvas');
  const halt = () => {
    window.clearInterval(timer);
    stream?.getTracks().forEach((tr) => tr.stop());
    stream = null;
    video.srcObject = null;
    video.hidden = true;
    start.hidden = false;
    stop.hidden = true;
  };
  ctx.onLeave(halt);
  video.hidden = true;
  stop.addEventListener('click', () => { halt(); status.textContent = w('off'); start.focus(); });
  start.addEventListener('click', async () => {
    notice.clear();
    if (!navigator.mediaDevices?.getUserMedia) {
      notice.problem(w('none'));
      return;
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false });
    } catch (err) {
      const name = (err as DOMException).name;
      notice.problem(name === 'NotAllowedError' ? w('refused')
        : name === 'NotFoundError' ? w('notFound')
        : w('failed', { name }));
      return;
    }
    video.srcObject = stream;
    video.hidden = false;
    start.hidden = true;
    stop.hidden = false;
    stop.focus();
    await video.play().catch(() => undefined);
    status.textContent = w('looking');
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
        status.textContent = w('found');
        opts.onText(text);
      }
    }, 200);
  });
  return section(opts.head, h('p', null, opts.text), video, status, h('div', { class: 'actions' }, start, stop));
}
