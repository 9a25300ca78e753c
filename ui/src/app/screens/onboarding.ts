import { h } from '../../lib/dom';
import { svgDataUrl } from '../../lib/qr';
import type { Screen } from '../context';
import { Notice, busy, button, checkbox, page, passphraseFields, section, textInput, withPathChooser } from '../ui';

export const welcome: Screen = {
  title: 'Welcome',
  needs: 'no-wallet',
  render: (ctx) =>
    page('Welcome to Carekey',
      'Your health records, encrypted on this device. You decide who may read them and for how long, and you see every access.',
      ctx.status.erasurePending.length
        ? h('div', { class: 'pending', role: 'status' },
          h('p', null, h('strong', null, 'Your erased wallet is still telling ledger nodes to stop sharing. '),
            'Carekey keeps trying every minute while it is open; until a node confirms, it may still hand out what was shared through it.'),
          h('ul', null, ...ctx.status.erasurePending.map((p) => h('li', null, p))))
        : null,
      h('div', { class: 'choices' },
        h('a', { class: 'choice', href: '#/create' },
          h('span', { class: 'choice-title' }, 'Create a new wallet'),
          h('span', { class: 'choice-text' }, 'Start fresh on this device. You will get a recovery kit to keep safe.')),
        h('a', { class: 'choice', href: '#/restore' },
          h('span', { class: 'choice-title' }, 'Restore from a recovery kit'),
          h('span', { class: 'choice-text' }, 'Use your 24 recovery words and a backup file from another device.'))),
    ),
};

export const create: Screen = {
  title: 'Create your wallet',
  needs: 'no-wallet',
  render: (ctx) => {
    const notice = new Notice();
    const pass = passphraseFields();
    const store = ctx.status.secretStore.startsWith('file store')
      ? 'no OS keyring here: a protected file beside the wallet'
      : 'the OS keyring';
    const keyring = checkbox(`Also unlock on this device without the passphrase (${store})`, {},
      'Convenient, but anyone who can sign in to this computer account could then open your wallet without the passphrase.');
    const submit = button('Create wallet', { type: 'submit', class: 'btn primary' });
    const form = h('form', { class: 'form', novalidate: true },
      h('p', null, 'Choose a passphrase only you know. It protects every record on this device; Carekey cannot reset it.'),
      pass.wrap, keyring.wrap, notice.el, h('div', { class: 'actions' }, h('a', { class: 'btn secondary', href: '#/welcome' }, 'Back'), submit));
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
    return page('Create your wallet', null, section('Choose a passphrase', form));
  },
};

export const recoveryKit: Screen = {
  title: 'Your recovery kit',
  needs: 'unlocked',
  render: (ctx) => {
    const kit = ctx.session.recoveryKit;
    if (!kit) {
      return page('Your recovery kit', null, h('div', { class: 'card' },
        h('p', null, 'The recovery kit is shown only once, right after the wallet is created. It is not stored anywhere on this device.'),
        h('a', { class: 'btn primary', href: '#/records' }, 'Go to records')));
    }
    const notice = new Notice();
    const text = [
      'Carekey recovery kit',
      '',
      'Keep this private. With these words and a backup file, anyone can restore this wallet.',
      '',
      ...kit.words.map((w, i) => `${String(i + 1).padStart(2, ' ')}. ${w}`),
      '',
    ].join('\n');
    const path = withPathChooser(ctx.backend, textInput('File name', { value: 'carekey-recovery-kit.txt', autocomplete: 'off' }), 'save', 'Save the recovery kit');
    const save = button('Save as text file', { class: 'btn secondary' });
    save.addEventListener('click', async () => {
      const saved = await busy(save, notice, async () => { await ctx.backend.saveText({ path: path.input.value, text }); return true; });
      if (saved) notice.ok(`Saved to ${path.input.value}. Move it somewhere only you can reach (not next to the wallet).`);
    });
    const print = button('Print', { class: 'btn secondary' });
    print.addEventListener('click', () => window.print());
    const stored = checkbox('I have written down, saved or printed my recovery kit');
    const done = button('Continue', { class: 'btn primary' });
    done.addEventListener('click', () => {
      if (!stored.input.checked) {
        notice.problem('Tick the box once your recovery kit is stored safely. You will not see these words again.');
        stored.input.focus();
        return;
      }
      ctx.session.recoveryKit = undefined;
      ctx.go('#/records');
    });
    return page('Your recovery kit',
      null,
      h('div', { class: 'callout warning', role: 'note' },
        h('strong', null, 'Shown only this once. '),
        'Write these 24 words down, or save or print them now. With them and a backup file you can restore your wallet on a new device. Anyone who has them can too, so keep them private.'),
      h('section', { class: 'card print-area', 'aria-label': 'Recovery words' },
        h('h2', null, 'Recovery words'),
        h('ol', { class: 'words' }, ...kit.words.map((w) => h('li', null, h('span', { class: 'word' }, w)))),
        h('img', { class: 'qr', src: svgDataUrl(kit.qrSvg), alt: 'QR code of the recovery kit (the same 24 words)', width: '220', height: '220' }),
      ),
      section('Keep a copy', h('div', { class: 'row' }, path.wrap, save), h('div', { class: 'actions' }, print)),
      h('div', { class: 'card' }, stored.wrap, notice.el, h('div', { class: 'actions' }, done)),
    );
  },
};

export const restore: Screen = {
  title: 'Restore your wallet',
  needs: 'no-wallet',
  render: (ctx) => {
    const notice = new Notice();
    const words = h('textarea', { id: 'restore-words', rows: '4', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'none', 'aria-describedby': 'restore-count' });
    const count = h('p', { class: 'hint', id: 'restore-count', 'aria-live': 'polite' }, '0 of 24 words');
    const parse = () => words.value.trim().toLowerCase().split(/[\s,]+/).map((w) => w.replace(/^\d+\.?/, '')).filter(Boolean);
    words.addEventListener('input', () => { count.textContent = `${parse().length} of 24 words`; });
    const backupPath = withPathChooser(ctx.backend, textInput('Backup file', { placeholder: '/media/usb/carekey-backup.ckb', autocomplete: 'off' }, 'The backup file made on your old device (Settings → Backup).'), 'open', 'Open a Carekey backup');
    const pass = passphraseFields('New passphrase');
    const submit = button('Restore wallet', { type: 'submit', class: 'btn primary' });
    const form = h('form', { class: 'form', novalidate: true },
      h('div', { class: 'field' }, h('label', { for: 'restore-words' }, 'Recovery words'), words, count),
      backupPath.wrap, pass.wrap, notice.el,
      h('div', { class: 'actions' }, h('a', { class: 'btn secondary', href: '#/welcome' }, 'Back'), submit));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const list = parse();
      if (list.length !== 24) {
        notice.problem(`The recovery kit has 24 words; ${list.length} typed.`);
        words.focus();
        return;
      }
      const problem = pass.validate();
      if (problem) {
        notice.problem(problem);
        pass.focus();
        return;
      }
      const ok = await busy(submit, notice, async () => {
        await ctx.backend.restoreWallet({ words: list, backupPath: backupPath.input.value.trim(), passphrase: pass.value() });
        return true;
      }, form);
      if (ok) {
        await ctx.refreshStatus();
        ctx.announce('Wallet restored.');
        ctx.go('#/records');
      }
    });
    return page('Restore your wallet', 'Your records come back from the backup file; the recovery words open it.', section('Recovery kit and backup', form));
  },
};

export const unlock: Screen = {
  title: 'Unlock',
  needs: 'locked',
  render: (ctx) => {
    const notice = new Notice();
    const pass = textInput('Passphrase', { type: 'password', autocomplete: 'current-password', required: true });
    const submit = button('Unlock', { type: 'submit', class: 'btn primary' });
    const done = async () => {
      await ctx.refreshStatus();
      ctx.announce('Wallet unlocked.');
      ctx.go('#/records');
    };
    const form = h('form', { class: 'form', novalidate: true }, pass.wrap, notice.el, h('div', { class: 'actions' }, submit));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (!pass.input.value) {
        notice.problem('Type your passphrase.');
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
      keyringButton = button('Unlock with device keyring', { class: 'btn secondary' });
      const kb = keyringButton;
      kb.addEventListener('click', async () => {
        const ok = await busy(kb, notice, async () => { await ctx.backend.unlock({ passphrase: null }); return true; });
        if (ok) await done();
      });
    }
    return page('Unlock your wallet', 'Your records stay encrypted until you unlock.',
      h('div', { class: 'card narrow' }, form, keyringButton ? h('div', { class: 'actions alt' }, h('span', null, 'or'), keyringButton) : null));
  },
};
