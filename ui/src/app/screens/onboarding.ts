import { h } from '../../lib/dom';
import { formatDate } from '../../lib/format';
import { svgDataUrl } from '../../lib/qr';
import { t } from '../../i18n';
import type { Screen } from '../context';
import { Notice, busy, button, checkbox, page, passphraseFields, section, textInput, withPathChooser } from '../ui';
import { FolderPicker, backupFileIn, backupResult } from './backup-folder';

/** Days between scheduled backups, offered at the first backup. */
const FIRST_SCHEDULE_DAYS = 7;

/** "Step 2 of 3" above the heading of each setup step. */
function step(el: HTMLElement, n: number): HTMLElement {
  el.querySelector('.page-head')?.prepend(h('p', { class: 'setup-step' }, t('onboarding.step', { n, of: 3 })));
  return el;
}

export const welcome: Screen = {
  get title() { return t('onboarding.welcome.title'); },
  needs: 'no-wallet',
  render: (ctx) =>
    page(t('onboarding.welcome.title'),
      t('onboarding.welcome.lead'),
      ctx.status.erasurePending.length
        ? h('div', { class: 'pending', role: 'status' },
          h('p', null, h('strong', null, t('onboarding.welcome.erasurePending')), ' ', t('onboarding.welcome.erasurePendingWhat')),
          h('details', { class: 'tech' }, h('summary', null, t('common.technicalDetails')),
            h('ul', null, ...ctx.status.erasurePending.map((p) => h('li', null, p)))))
        : null,
      h('div', { class: 'choices' },
        h('a', { class: 'choice', href: '#/create' },
          h('span', { class: 'choice-title' }, t('onboarding.welcome.create')),
          h('span', { class: 'choice-text' }, t('onboarding.welcome.createText'))),
        h('a', { class: 'choice', href: '#/restore' },
          h('span', { class: 'choice-title' }, t('onboarding.welcome.restore')),
          h('span', { class: 'choice-text' }, t('onboarding.welcome.restoreText')))),
    ),
};

export const create: Screen = {
  get title() { return t('onboarding.create.title'); },
  needs: 'no-wallet',
  render: (ctx) => {
    const notice = new Notice();
    const pass = passphraseFields(t('onboarding.create.passphrase'));
    const store = ctx.status.secretStore.startsWith('file store') ? t('onboarding.create.storeFile') : t('onboarding.create.storeKeyring');
    const keyring = checkbox(t('onboarding.create.keyring', { store }), {}, t('onboarding.create.keyringHint'));
    const submit = button(t('onboarding.create.submit'), { type: 'submit', class: 'btn primary' });
    const form = h('form', { class: 'form', novalidate: true },
      h('p', null, t('onboarding.create.intro')),
      pass.wrap, keyring.wrap, notice.el, h('div', { class: 'actions' }, h('a', { class: 'btn secondary', href: '#/welcome' }, t('common.back')), submit));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const problem = pass.validate();
      if (problem) {
        notice.problem(problem);
        pass.focus();
        return;
      }
      const kit = await busy(submit, notice, () => ctx.backend.createWallet({ passphrase: pass.value(), keyring: keyring.input.checked }), form);
      if (kit) {
        ctx.session.recoveryKit = kit;
        await ctx.refreshStatus();
        ctx.go('#/recovery-kit');
      }
    });
    return step(page(t('onboarding.create.title'), null, section(t('onboarding.create.section'), form)), 1);
  },
};

export const recoveryKit: Screen = {
  get title() { return t('onboarding.kit.title'); },
  needs: 'unlocked',
  render: (ctx) => {
    const kit = ctx.session.recoveryKit;
    if (!kit) {
      return page(t('onboarding.kit.title'), null, h('div', { class: 'card' },
        h('p', null, t('onboarding.kit.gone')),
        h('a', { class: 'btn primary', href: '#/home' }, t('onboarding.kit.goHome'))));
    }
    const notice = new Notice();
    const text = [
      t('onboarding.kit.fileTitle'),
      '',
      t('onboarding.kit.fileWarning'),
      '',
      ...kit.words.map((w, i) => `${String(i + 1).padStart(2, ' ')}. ${w}`),
      '',
    ].join('\n');
    const path = withPathChooser(ctx.backend, textInput(t('onboarding.kit.fileName'), { value: 'carekey-recovery-kit.txt', autocomplete: 'off' }), 'save', t('onboarding.kit.saveDialog'));
    const save = button(t('onboarding.kit.save'), { class: 'btn secondary' });
    save.addEventListener('click', async () => {
      const saved = await busy(save, notice, async () => { await ctx.backend.saveText({ path: path.input.value, text }); return true; });
      if (saved) notice.ok(t('onboarding.kit.saved', { path: path.input.value }));
    });
    const print = button(t('onboarding.kit.print'), { class: 'btn secondary' });
    print.addEventListener('click', () => window.print());
    // One primary action: the patient says the words are stored, and setup moves on.
    const done = button(t('onboarding.kit.done'), { class: 'btn primary' });
    done.addEventListener('click', () => {
      ctx.session.recoveryKit = undefined;
      ctx.go('#/first-backup');
    });
    return step(page(t('onboarding.kit.title'),
      null,
      h('div', { class: 'callout warning', role: 'note' },
        h('strong', null, t('onboarding.kit.once')), ' ', t('onboarding.kit.onceWhat')),
      h('section', { class: 'card print-area', 'aria-label': t('onboarding.kit.words') },
        h('h2', null, t('onboarding.kit.words')),
        h('ol', { class: 'words' }, ...kit.words.map((w) => h('li', null, h('span', { class: 'word' }, w)))),
        h('img', { class: 'qr', src: svgDataUrl(kit.qrSvg), alt: t('onboarding.kit.qrAlt'), width: '220', height: '220' }),
      ),
      section(t('onboarding.kit.copy'), h('div', { class: 'row' }, path.wrap, save), h('div', { class: 'actions' }, print), notice.el),
      h('div', { class: 'card' }, h('p', null, t('onboarding.kit.doneHint')), h('div', { class: 'actions' }, done)),
    ), 2);
  },
};

/**
 * The last setup step: a first backup to a place off this device, and backups on a schedule.
 * A patient who only presses primary buttons ends with a backup, on Home, which says how it went.
 */
export const firstBackup: Screen = {
  get title() { return t('onboarding.backup.title'); },
  needs: 'unlocked',
  render: (ctx) => {
    const notice = new Notice();
    const run = button(t('onboarding.backup.run'), { class: 'btn primary' });
    const auto = checkbox(t('onboarding.backup.auto', { n: FIRST_SCHEDULE_DAYS }), { checked: true }, t('onboarding.backup.autoHint'));
    const skip = h('a', { class: 'skip-link', href: '#/home' }, t('onboarding.backup.skip'));
    const choosing = ctx.backend.kind === 'tauri';
    // With a folder chooser, "Back up now" appears once a folder the wallet accepts is chosen.
    const showRun = () => { run.hidden = choosing && (!picker.chosen() || picker.blocked()); };
    const picker: FolderPicker = new FolderPicker(ctx, {
      primaryChooser: true,
      onUseAnyway: () => void backUp(),
      onChange: () => showRun(),
    });
    showRun();
    const form = h('div', { class: 'form' }, picker.el, auto.wrap, notice.el, h('div', { class: 'actions' }, run, skip));

    const backUp = async () => {
      const folder = picker.folder();
      if (!folder) {
        notice.problem(t('onboarding.backup.chooseFirst'));
        picker.focus();
        return;
      }
      const done = await busy(run, notice, async () => {
        const place = await picker.check();
        if (!place.ok) return null;
        const b = await ctx.backend.backup({ path: backupFileIn(folder) });
        let nextAt: number | null = null;
        let scheduleFailed: unknown = null;
        if (auto.input.checked) {
          try {
            await ctx.backend.setBackupSchedule({ folder, everyDays: FIRST_SCHEDULE_DAYS });
            // The wallet says when the next one is due.
            nextAt = (await ctx.backend.home()).backup.schedule?.nextAt ?? null;
          } catch (err) {
            scheduleFailed = err;
          }
        }
        return { b, nextAt, scheduleFailed };
      }, form);
      if (done === null) {
        // The wallet's verdict (announced) says why not here: back to choosing the folder.
        picker.focus();
        return;
      }
      if (!done) return;
      // Setup is over: Home says how the backup went, once (a failed backup stayed on this step).
      const r = backupResult(done.b);
      const scheduled = done.nextAt !== null ? t('onboarding.backup.scheduled', { n: FIRST_SCHEDULE_DAYS, date: formatDate(done.nextAt) }) : null;
      ctx.session.flash = done.scheduleFailed
        // The backup is written even when the schedule could not be set: say both.
        ? { kind: 'warning', head: r.ok ? t('onboarding.backup.doneTitle') : t('onboarding.backup.pendingTitle'), text: t('onboarding.backup.scheduleLater'), error: done.scheduleFailed }
        : r.ok
          ? { kind: 'ok', head: t('onboarding.backup.doneTitle'), text: [scheduled, t('onboarding.backup.keepWords')].filter(Boolean).join(' ') }
          : { kind: 'warning', head: t('onboarding.backup.pendingTitle'), text: [r.text, scheduled].filter(Boolean).join(' ') };
      ctx.go('#/home');
    };
    run.addEventListener('click', () => void backUp());

    return step(page(t('onboarding.backup.title'), t('onboarding.backup.lead'),
      section(t('onboarding.backup.whyTitle'),
        h('p', null, t('onboarding.backup.why')),
        h('ul', { class: 'places' },
          h('li', null, t('onboarding.backup.usb')),
          h('li', null, t('onboarding.backup.synced'))),
        h('p', { class: 'muted' }, t('onboarding.backup.encrypted'))),
      section(t('onboarding.backup.whereTitle'), form),
    ), 3);
  },
};

function restoreWords(text: string): string[] {
  return text.trim().toLowerCase().split(/[\s,;]+/).map((w) => w.replace(/^\d+[.)]?/, '')).filter(Boolean);
}

/**
 * Restore from the recovery words and a backup file. With a wallet on this device (a forgotten
 * passphrase, or Settings → "Restore from a backup…") it replaces that wallet, which the wallet
 * keeps aside rather than deleting.
 */
export const restore: Screen = {
  get title() { return t('onboarding.restore.title'); },
  needs: 'nothing',
  render: (ctx) => {
    const replacing = ctx.status.walletExists;
    const backTo = !replacing ? '#/welcome' : ctx.status.unlocked ? '#/settings' : '#/unlock';
    const notice = new Notice();
    const words = h('textarea', { id: 'restore-words', rows: '4', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'none', 'aria-describedby': 'restore-count restore-words-hint' });
    const count = h('p', { class: 'hint', id: 'restore-count', 'aria-live': 'polite' }, t('onboarding.restore.count', { n: 0 }));
    words.addEventListener('input', () => { count.textContent = t('onboarding.restore.count', { n: restoreWords(words.value).length }); });
    const backupPath = withPathChooser(ctx.backend,
      textInput(t('onboarding.restore.file'), { placeholder: '/media/usb/carekey-backup.ckb', autocomplete: 'off' }, t('onboarding.restore.fileHint')),
      'open', t('onboarding.restore.fileDialog'));
    const pass = passphraseFields(t('onboarding.restore.passphrase'));
    const submit = button(replacing ? t('onboarding.restore.submitReplace') : t('onboarding.restore.submit'), { type: 'submit', class: 'btn primary' });
    const form = h('form', { class: 'form', novalidate: true },
      h('div', { class: 'field' },
        h('label', { for: 'restore-words' }, t('onboarding.restore.words')), words,
        h('p', { class: 'hint', id: 'restore-words-hint' }, t('onboarding.restore.wordsHint')), count),
      backupPath.wrap, pass.wrap, notice.el,
      h('div', { class: 'actions' }, h('a', { class: 'btn secondary', href: backTo }, t('common.back')), submit));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const list = restoreWords(words.value);
      if (list.length !== 24) {
        notice.problem(t('onboarding.restore.wrongCount', { n: list.length }));
        words.focus();
        return;
      }
      if (!backupPath.input.value.trim()) {
        notice.problem(t('onboarding.restore.noFile'));
        backupPath.input.focus();
        return;
      }
      const problem = pass.validate();
      if (problem) {
        notice.problem(problem);
        pass.focus();
        return;
      }
      const failed: { code?: string } = {};
      notice.clear();
      const ok = await busy(submit, null, async () => {
        try {
          await ctx.backend.restoreWallet({ words: list, backupPath: backupPath.input.value.trim(), passphrase: pass.value(), replaceExisting: replacing });
          return true;
        } catch (err) {
          failed.code = notice.error(err).code;
          return false;
        }
      }, form);
      if (ok) {
        await ctx.refreshStatus();
        ctx.announce(t('onboarding.restore.done'));
        ctx.go('#/home');
        return;
      }
      // Take the patient to the part the wallet complained about.
      if (failed.code === 'crypto' || failed.code === 'bad_words') words.focus();
      else if (failed.code === 'bad_input' || failed.code === 'io' || failed.code === 'not_found' || failed.code === 'bad_backup') backupPath.input.focus();
    });
    const intro = replacing
      ? h('div', { class: 'callout warning restore-replace', role: 'note' },
        h('p', null, h('strong', null, t('onboarding.restore.replaceTitle')), ' ', t('onboarding.restore.replaceKept')),
        h('p', null, t('onboarding.restore.replaceNeeds')))
      : null;
    return page(t('onboarding.restore.title'), t('onboarding.restore.lead'), intro, section(t('onboarding.restore.section'), form));
  },
};

export const unlock: Screen = {
  get title() { return t('onboarding.unlock.title'); },
  needs: 'locked',
  render: (ctx) => {
    const notice = new Notice();
    const pass = textInput(t('onboarding.unlock.passphrase'), { type: 'password', autocomplete: 'current-password', required: true });
    const submit = button(t('onboarding.unlock.submit'), { type: 'submit', class: 'btn primary' });
    const done = async () => {
      await ctx.refreshStatus();
      ctx.announce(t('onboarding.unlock.done'));
      ctx.go('#/home');
    };
    const form = h('form', { class: 'form', novalidate: true }, pass.wrap, notice.el, h('div', { class: 'actions' }, submit));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (!pass.input.value) {
        notice.problem(t('onboarding.unlock.empty'));
        pass.input.focus();
        return;
      }
      const ok = await busy(submit, notice, async () => { await ctx.backend.unlock({ passphrase: pass.input.value }); return true; }, form);
      if (ok) await done();
      else {
        pass.input.select();
        pass.input.focus();
      }
    });
    let keyringButton: HTMLButtonElement | null = null;
    if (ctx.status.keyringUnlock) {
      keyringButton = button(t('onboarding.unlock.keyring'), { class: 'btn secondary' });
      const kb = keyringButton;
      kb.addEventListener('click', async () => {
        const ok = await busy(kb, notice, async () => { await ctx.backend.unlock({ passphrase: null }); return true; });
        if (ok) await done();
      });
    }
    return page(t('onboarding.unlock.title'), t('onboarding.unlock.lead'),
      h('div', { class: 'card narrow' }, form,
        keyringButton ? h('div', { class: 'actions alt' }, h('span', null, t('onboarding.unlock.or')), keyringButton) : null,
        h('p', { class: 'forgot' }, h('a', { href: '#/restore' }, t('onboarding.unlock.forgot')))));
  },
};

