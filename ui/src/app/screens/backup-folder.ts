/**
 * Choosing a folder for backups, shared by the first-backup step of onboarding and Settings →
 * Backups: the platform's folder chooser (a typed path under "More"; the typed path alone where
 * there is no chooser), the wallet's verdict on the place (`backupPlace`), and the plain-words
 * result of a backup. The wallet decides whether a place is safe; this only shows it.
 */
import type { BackupPlaceView } from '../../bindings/BackupPlaceView';
import type { BackupView } from '../../bindings/BackupView';
import { h, replace } from '../../lib/dom';
import { t } from '../../i18n';
import type { Ctx } from '../context';
import { Notice, button, textInput } from '../ui';

export const BACKUP_FILE = 'carekey-backup.ckb';

/** `<folder>/carekey-backup.ckb`, with the folder's own separator. */
export function backupFileIn(folder: string): string {
  const sep = folder.includes('\\') && !folder.includes('/') ? '\\' : '/';
  const trimmed = folder.replace(/[\\/]+$/, '');
  return `${trimmed || sep}${trimmed ? sep : ''}${BACKUP_FILE}`;
}

export interface FolderPickerOptions {
  /** The folder already known (Settings: the schedule's or the last backup's folder). */
  initial?: string | null;
  /** Called when the patient explicitly accepts a folder on the wallet's own disk. */
  onUseAnyway?: () => void;
  /** The chooser button is the screen's primary action until a folder is chosen. */
  primaryChooser?: boolean;
  /** Called whenever the folder changes (chosen or typed). */
  onChange?: () => void;
}

/** A folder for backups, with the wallet's verdict on it. */
export class FolderPicker {
  readonly el: HTMLElement;
  readonly verdictEl = h('div', { class: 'place-verdict', role: 'status', 'aria-live': 'polite' });
  private readonly typed;
  private readonly chooser: HTMLButtonElement | null = null;
  private readonly chosenEl = h('p', { class: 'chosen-folder' });
  private readonly notice = new Notice();
  private readonly places = new Map<string, BackupPlaceView>();
  private accepted: string | null = null;
  /** The verdict on the current folder says no (not writable, or the same disk not accepted). */
  private isBlocked = false;

  constructor(private readonly ctx: Ctx, private readonly opts: FolderPickerOptions = {}) {
    this.typed = textInput(t('settings.folder.typed'), { autocomplete: 'off', placeholder: t('settings.folder.placeholder') }, t('settings.folder.typedHint'));
    if (opts.initial) this.typed.input.value = opts.initial;
    this.typed.input.addEventListener('change', () => { this.changed(); void this.check(); });
    this.typed.input.addEventListener('input', () => this.changed());
    if (ctx.backend.kind === 'tauri') {
      const chooser = button(t('settings.folder.choose'), { class: opts.primaryChooser && !opts.initial ? 'btn primary' : 'btn secondary' });
      this.chooser = chooser;
      chooser.addEventListener('click', () => void this.choose());
      this.el = h('div', { class: 'folder-picker' },
        this.chosenEl, h('div', { class: 'actions' }, chooser),
        h('details', { class: 'more' }, h('summary', null, t('settings.folder.more')), this.typed.wrap),
        this.verdictEl, this.notice.el);
    } else {
      this.el = h('div', { class: 'folder-picker' }, this.typed.wrap, this.verdictEl, this.notice.el);
    }
    this.showChosen();
  }

  folder(): string {
    return this.typed.input.value.trim();
  }

  focus(): void {
    if (this.chooser && (!this.folder() || this.isBlocked)) this.chooser.focus();
    else {
      const more = this.el.querySelector('details');
      if (more) more.open = true;
      this.typed.input.focus();
    }
  }

  /** Whether a folder is chosen and the chooser can step back from being the primary action. */
  chosen(): boolean {
    return this.folder() !== '';
  }

  /** The wallet's verdict on the current folder says not here (yet). */
  blocked(): boolean {
    return this.isBlocked;
  }

  private changed(): void {
    this.accepted = null;
    this.isBlocked = false;
    replace(this.verdictEl);
    this.showChosen();
    this.opts.onChange?.();
  }

  private showChosen(): void {
    const f = this.folder();
    replace(this.chosenEl, f ? [t('settings.folder.chosen'), ' ', h('code', null, f)] : []);
    this.chosenEl.hidden = !f || this.ctx.backend.kind !== 'tauri';
    if (this.chooser) {
      this.chooser.textContent = f ? t('settings.folder.chooseOther') : t('settings.folder.choose');
      if (this.opts.primaryChooser) this.chooser.className = f && !this.isBlocked ? 'btn secondary' : 'btn primary';
    }
  }

  private async choose(): Promise<void> {
    let chosen: string | null = null;
    try {
      chosen = await this.ctx.backend.chooseFolder(t('settings.folder.dialogTitle'));
    } catch (err) {
      this.notice.error(err);
      return;
    }
    if (!chosen) return;
    this.typed.input.value = chosen;
    this.changed();
    await this.check();
  }

  /**
   * The wallet's verdict on the current folder, shown in plain words. `ok`: a backup may be
   * written there (a safe place, or one the patient accepted knowingly).
   */
  async check(): Promise<{ ok: boolean; place?: BackupPlaceView }> {
    const folder = this.folder();
    this.notice.clear();
    if (!folder) {
      replace(this.verdictEl);
      return { ok: false };
    }
    let place = this.places.get(folder);
    if (!place) {
      try {
        place = await this.ctx.backend.backupPlace({ path: folder });
      } catch (err) {
        this.notice.error(err);
        return { ok: false };
      }
      this.places.set(folder, place);
    }
    if (folder !== this.folder()) return { ok: false };
    this.showVerdict(place);
    const ok = place.writable && (!place.sameDiskAsWallet || this.accepted === folder);
    return { ok, place };
  }

  private showVerdict(place: BackupPlaceView): void {
    this.isBlocked = !place.writable || (place.sameDiskAsWallet && this.accepted !== this.folder());
    this.verdict(place);
    this.showChosen();
    this.opts.onChange?.();
  }

  private verdict(place: BackupPlaceView): void {
    if (!place.writable) {
      replace(this.verdictEl, h('p', { class: 'callout place-bad' }, h('strong', null, t('settings.place.notWritable')), ' ', t('settings.place.notWritableWhat')));
      return;
    }
    if (place.sameDiskAsWallet) {
      if (this.accepted === this.folder()) {
        replace(this.verdictEl, h('p', { class: 'callout place-info' }, t('settings.place.accepted')));
        return;
      }
      const anyway = button(t('settings.place.useAnyway'), { class: 'btn secondary' });
      anyway.addEventListener('click', () => {
        this.accepted = this.folder();
        this.showVerdict(place);
        this.opts.onUseAnyway?.();
      });
      replace(this.verdictEl, h('div', { class: 'callout warning same-disk' },
        h('p', null, h('strong', null, t('settings.place.sameDisk')), ' ', t('settings.place.sameDiskWhy')),
        h('p', null, t('settings.place.sameDiskWhat')),
        h('div', { class: 'actions' }, anyway)));
      return;
    }
    replace(this.verdictEl, h('p', { class: 'callout place-ok' },
      place.removable ? t('settings.place.removable') : t('settings.place.elsewhere')));
  }
}

/** A backup just written, in plain words (node addresses only under "Technical details"). */
export function backupResult(b: BackupView): { ok: boolean; text: string; details: HTMLElement } {
  const details = h('details', { class: 'tech' }, h('summary', null, t('common.technicalDetails')),
    h('p', null, b.keySharePending.length
      ? t('settings.result.techPending', { nodes: b.keySharePending.join(', ') })
      : b.keyShareNodes.length
        ? t('settings.result.techShare', { nodes: b.keyShareNodes.join(', ') })
        : t('settings.result.techNoShare')));
  if (b.keySharePending.length) return { ok: false, text: t('settings.result.pending', { path: b.path }), details };
  return { ok: true, text: t('settings.result.done', { path: b.path }), details };
}
