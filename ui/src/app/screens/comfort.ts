import { h } from '../../lib/dom';
import type { Ctx } from '../context';
import { section } from '../ui';

/** Settings → "Display and comfort": language, text size, theme, auto-lock (issue 10). */
export function comfortSection(_ctx: Ctx): HTMLElement {
  return section('Display and comfort', h('p', null, '…'));
}
