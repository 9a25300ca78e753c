import { LANGUAGES, type Lang, language, setLanguage, t } from '../../i18n';
import { h } from '../../lib/dom';
import type { Ctx } from '../context';
import { AUTO_LOCK_CHOICES, type AutoLock, TEXT_SIZES, type TextSize, setAutoLock, setTextSize, storedAutoLock, storedTextSize } from '../prefs';
import { THEMES, THEME_EVENT, type Theme, setTheme, storedTheme } from '../theme';
import { section } from '../ui';

interface Choice<V> { value: V; label: string; lang?: string }

/**
 * A group of radio buttons that applies its choice at once. Ids are stable (`comfort-<name>-<value>`)
 * so focus stays on the same button when the window is drawn again in another language.
 */
function radios<V extends string | number>(name: string, legend: string, choices: Choice<V>[], current: V, onPick: (v: V, label: string) => void, hint?: string): HTMLFieldSetElement {
  const hintId = hint ? `comfort-${name}-hint` : undefined;
  return h('fieldset', { id: `comfort-${name}`, 'aria-describedby': hintId },
    h('legend', null, legend),
    hint ? h('p', { class: 'hint', id: hintId }, hint) : null,
    ...choices.map((c) => {
      const id = `comfort-${name}-${c.value}`;
      const input = h('input', { type: 'radio', name: `comfort-${name}`, id, value: String(c.value), checked: c.value === current });
      input.addEventListener('change', () => { if (input.checked) onPick(c.value, c.label); });
      return h('div', { class: 'check' }, input, h('label', { for: id, lang: c.lang }, c.label));
    }));
}

/** Settings → "Display and comfort": language, text size, colours, auto-lock. Kept on this device. */
export function comfortSection(ctx: Ctx): HTMLElement {
  const saved = (label: string) => ctx.announce(t('shell.comfort.saved', { choice: label }));

  const lang = radios<Lang>('language', t('shell.comfort.language'),
    LANGUAGES.map((l) => ({ value: l.id, label: l.name, lang: l.id })), language(),
    (v, label) => {
      setLanguage(v);
      // The app's OS notifications speak the window's language too.
      ctx.backend.setLanguage({ language: v }).catch(() => undefined);
      ctx.rerender();
      saved(label);
    });

  const size = radios<TextSize>('text-size', t('shell.comfort.textSize'),
    TEXT_SIZES.map((s) => ({ value: s, label: t(`shell.comfort.size.${s}`) })), storedTextSize(),
    (v, label) => { setTextSize(v); saved(label); });

  const theme = radios<Theme>('theme', t('shell.comfort.theme'),
    THEMES.map((x) => ({ value: x, label: t(`shell.comfort.theme.${x}`) })), storedTheme(),
    (v, label) => { setTheme(v); saved(label); });
  // The header's theme button changes it too: follow it while this screen is open.
  const follow = (e: Event) => {
    const input = theme.querySelector<HTMLInputElement>(`#comfort-theme-${(e as CustomEvent<Theme>).detail}`);
    if (input) input.checked = true;
  };
  window.addEventListener(THEME_EVENT, follow);
  ctx.onLeave(() => window.removeEventListener(THEME_EVENT, follow));

  const lock = radios<AutoLock>('auto-lock', t('shell.comfort.autoLock'),
    AUTO_LOCK_CHOICES.map((m) => ({ value: m, label: m === 0 ? t('shell.comfort.autoLock.off') : t('shell.comfort.autoLock.minutes', { n: m }) })),
    storedAutoLock(), (v, label) => { setAutoLock(v); saved(label); }, t('shell.comfort.autoLockHint'));

  const el = section(t('shell.comfort.title'),
    h('p', { class: 'muted comfort-hint' }, t('shell.comfort.lead')),
    h('div', { class: 'comfort' }, lang, size, theme, lock));
  el.id = 'comfort';
  return el;
}
