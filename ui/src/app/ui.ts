/** Shared building blocks: fields, busy buttons, notices, dialogs. */
import { BackendError, explainError, toBackendError } from '../backend/errors';
import { passphraseStrength, strengthWords } from '../lib/passphrase';
import { h, replace, uid, type Child } from '../lib/dom';
import { language, t } from '../i18n';

export function page(title: string, lead: Child, ...body: Child[]): HTMLElement {
  return h('div', { class: 'page' },
    h('header', { class: 'page-head' }, h('h1', { tabindex: '-1' }, title), lead ? h('p', { class: 'lead' }, lead) : null),
    ...body);
}

export function section(title: string, ...body: Child[]): HTMLElement {
  const id = uid('sec');
  return h('section', { class: 'card', 'aria-labelledby': id }, h('h2', { id }, title), ...body);
}

export interface Field<E extends HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement> { wrap: HTMLElement; input: E }

export function field(label: string, input: HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement, hint?: Child): Field<typeof input> {
  const id = input.id || uid('f');
  input.id = id;
  const hintId = hint ? `${id}-hint` : null;
  if (hintId) input.setAttribute('aria-describedby', [input.getAttribute('aria-describedby'), hintId].filter(Boolean).join(' '));
  return {
    wrap: h('div', { class: 'field' }, h('label', { for: id }, label), input, hint ? h('p', { class: 'hint', id: hintId }, hint) : null),
    input,
  };
}

export function textInput(label: string, attrs: Record<string, unknown> = {}, hint?: Child): Field<HTMLInputElement> {
  return field(label, h('input', { type: 'text', spellcheck: 'false', ...attrs }), hint) as Field<HTMLInputElement>;
}

export function checkbox(label: Child, attrs: Record<string, unknown> = {}, hint?: Child): { wrap: HTMLElement; input: HTMLInputElement } {
  const id = uid('c');
  const hintId = hint ? `${id}-hint` : undefined;
  const input = h('input', { type: 'checkbox', id, 'aria-describedby': hintId, ...attrs });
  return {
    wrap: h('div', { class: 'check' }, input, h('label', { for: id }, label), hint ? h('p', { class: 'hint', id: hintId }, hint) : null),
    input,
  };
}

export function button(label: Child, attrs: Record<string, unknown> = {}): HTMLButtonElement {
  return h('button', { type: 'button', class: 'btn', ...attrs }, label);
}

export function spinner(): HTMLElement {
  return h('span', { class: 'spinner', 'aria-hidden': 'true' });
}

/** A status line (polite) that can also show an error (assertive). */
export class Notice {
  readonly el = h('div', { class: 'notice-area', role: 'status', 'aria-live': 'polite' });

  clear(): void { replace(this.el); }

  ok(...text: Child[]): void {
    replace(this.el, h('p', { class: 'notice ok' }, ...text));
  }

  info(...text: Child[]): void {
    replace(this.el, h('p', { class: 'notice info' }, ...text));
  }

  /**
   * The sentence for the error's code (what happened, what to do), with the wallet's own message
   * and the code folded under "Technical details" (still in the DOM, for support and tests).
   */
  error(err: unknown): BackendError {
    const e = toBackendError(err);
    replace(this.el, errorBox(e));
    return e;
  }

  problem(text: string): void {
    replace(this.el, h('p', { class: 'notice error', role: 'alert' }, text));
  }
}

/** An error as the patient sees it: one plain sentence, technical details folded away. */
export function errorBox(e: BackendError): HTMLElement {
  return h('div', { class: 'notice error', role: 'alert' },
    h('p', { class: 'notice-text' }, explainError(e)),
    technicalDetails(
      e.message && e.message !== e.code ? h('p', null, e.message) : null,
      h('p', { class: 'code' }, t('common.errorCode', { code: e.code }))));
}

/** A `<details>` with the summary "Technical details": the only place for keys, URLs and codes. */
export function technicalDetails(...body: Child[]): HTMLDetailsElement {
  return h('details', { class: 'tech' }, h('summary', null, t('common.technicalDetails')), ...body);
}

/**
 * Runs an async action from a button: busy state (spinner, aria-busy, disabled) while it runs,
 * errors into the notice. Returns the result, or undefined when it failed.
 */
export async function busy<T>(btn: HTMLButtonElement, notice: Notice | null, action: () => Promise<T>, region?: HTMLElement): Promise<T | undefined> {
  const label = Array.from(btn.childNodes);
  btn.disabled = true;
  btn.setAttribute('aria-busy', 'true');
  (region ?? btn).setAttribute('aria-busy', 'true');
  btn.replaceChildren(spinner(), ...label);
  notice?.clear();
  try {
    return await action();
  } catch (err) {
    if (notice) notice.error(err);
    else throw err;
    return undefined;
  } finally {
    btn.disabled = false;
    btn.removeAttribute('aria-busy');
    region?.removeAttribute('aria-busy');
    btn.replaceChildren(...label);
  }
}

/** A modal confirmation (`<dialog>`: focus moves in, Escape cancels, focus returns). */
export function confirmDialog(opts: { title: string; body: Child; confirm: string; danger?: boolean }): Promise<boolean> {
  return new Promise((resolve) => {
    const titleId = uid('dlg');
    const bodyId = uid('dlgb');
    const returnTo = document.activeElement as HTMLElement | null;
    const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': titleId, 'aria-describedby': bodyId });
    const cancel = button(t('common.cancel'), { class: 'btn secondary', value: 'cancel' });
    const ok = button(opts.confirm, { class: opts.danger ? 'btn danger' : 'btn primary', value: 'ok' });
    const finish = (result: boolean) => {
      if (dialog.open) dialog.close();
      dialog.remove();
      returnTo?.focus();
      resolve(result);
    };
    cancel.addEventListener('click', () => finish(false));
    ok.addEventListener('click', () => finish(true));
    dialog.addEventListener('cancel', (e) => { e.preventDefault(); finish(false); });
    dialog.append(
      h('h2', { id: titleId }, opts.title),
      h('div', { id: bodyId, class: 'dialog-body' }, opts.body),
      h('div', { class: 'actions' }, cancel, ok),
    );
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();
  });
}

/**
 * Passphrase + confirmation with live strength feedback. `label` defaults to "Passphrase";
 * pass `repeatLabel` with a custom label (otherwise "Repeat the <label>").
 */
export function passphraseFields(label?: string, repeatLabel?: string): { wrap: HTMLElement; value(): string; validate(): string | null; focus(): void } {
  const repeat = repeatLabel
    ?? (label === undefined ? t('common.passphrase.repeat') : t('common.passphrase.repeatNamed', { label: language() === 'en' ? label.toLowerCase() : label }));
  const pass = textInput(label ?? t('common.passphrase'), { type: 'password', autocomplete: 'new-password', required: true, 'aria-describedby': '' });
  const confirm = textInput(repeat, { type: 'password', autocomplete: 'new-password', required: true });
  const meterId = uid('strength');
  const bar = h('div', { class: 'meter-bar' });
  const text = h('p', { class: 'strength-text', id: meterId, 'aria-live': 'polite' }, t('common.passphrase.strengthEmpty'));
  const hints = h('ul', { class: 'hints' });
  pass.input.setAttribute('aria-describedby', meterId);
  const show = checkbox(t('common.passphrase.show'));
  show.input.addEventListener('change', () => {
    const type = show.input.checked ? 'text' : 'password';
    pass.input.type = type;
    confirm.input.type = type;
  });
  const update = () => {
    const s = passphraseStrength(pass.input.value);
    bar.style.width = `${pass.input.value ? (s.score + 1) * 20 : 0}%`;
    bar.className = `meter-bar s${s.score}`;
    text.textContent = pass.input.value ? t('common.passphrase.strength', { label: strengthWords(s.label) }) : t('common.passphrase.strengthEmpty');
    replace(hints, ...s.hints.map((x) => h('li', null, x)));
  };
  pass.input.addEventListener('input', update);
  return {
    wrap: h('div', { class: 'passphrase' },
      pass.wrap,
      h('div', { class: 'meter', 'aria-hidden': 'true' }, bar),
      text, hints, confirm.wrap, show.wrap),
    value: () => pass.input.value,
    validate: () => {
      const s = passphraseStrength(pass.input.value);
      if (!s.acceptable) return t('common.passphrase.tooWeak', { label: strengthWords(s.label) });
      if (pass.input.value !== confirm.input.value) return t('common.passphrase.mismatch');
      return null;
    },
    focus: () => pass.input.focus(),
  };
}

export function loading(text = t('common.loading')): HTMLElement {
  return h('p', { class: 'loading', role: 'status', 'aria-busy': 'true' }, spinner(), text);
}

export function badge(text: string, kind: string): HTMLElement {
  return h('span', { class: `badge ${kind}` }, text);
}

/**
 * Inside the app, a "Choose…" button beside a path field that fills it from the platform's own
 * open or save dialog (the browser mock has none; the field stays typed).
 */
export function withPathChooser(
  backend: { kind: 'tauri' | 'mock'; chooseFiles(title: string): Promise<string[] | null>; chooseSavePath(title: string, suggested: string): Promise<string | null> },
  field: Field<HTMLInputElement>,
  mode: 'open' | 'save',
  title: string,
): Field<HTMLInputElement> {
  if (backend.kind !== 'tauri') return field;
  const choose = button(t('common.choose'), { class: 'btn secondary' });
  choose.addEventListener('click', async () => {
    try {
      const chosen = mode === 'save'
        ? await backend.chooseSavePath(title, field.input.value)
        : (await backend.chooseFiles(title))?.[0] ?? null;
      if (chosen) field.input.value = chosen;
    } catch {
      // A dialog that cannot open leaves the typed path as it was.
    }
    field.input.focus();
  });
  field.wrap.append(choose);
  return field;
}
