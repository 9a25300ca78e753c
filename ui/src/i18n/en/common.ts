import type { Catalogue } from '..';

/** Words used everywhere: buttons, plurals of common nouns, relative time, shared building blocks (ui.ts). */
const common: Catalogue = {
  'common.cancel': 'Cancel',
  'common.back': 'Back',
  'common.continue': 'Continue',
  'common.loading': 'Loading…',
  'common.technicalDetails': 'Technical details',
  'common.records.one': '{n} record',
  'common.records.other': '{n} records',
  'common.choose': 'Choose…',
  'common.errorCode': 'Error code: {code}',

  // Passphrase fields and strength meter (ui.ts, lib/passphrase.ts).
  'common.passphrase': 'Passphrase',
  'common.passphrase.repeat': 'Repeat the passphrase',
  'common.passphrase.repeatNamed': 'Repeat the {label}',
  'common.passphrase.show': 'Show passphrase',
  'common.passphrase.strengthEmpty': 'Strength: type a passphrase',
  'common.passphrase.strength': 'Strength: {label}',
  'common.passphrase.tooWeak': 'This passphrase is {label}. Choose a stronger one: four or more unrelated words work well.',
  'common.passphrase.mismatch': 'The two passphrases are not the same.',
  'common.strength.empty': 'empty',
  'common.strength.veryWeak': 'very weak',
  'common.strength.weak': 'weak',
  'common.strength.fair': 'fair',
  'common.strength.strong': 'strong',
  'common.strength.veryStrong': 'very strong',
  'common.hint.typeOne': 'Type a passphrase.',
  'common.hint.common': 'This is one of the first passwords an attacker tries.',
  'common.hint.length': 'Use at least 12 characters; four or more unrelated words work well.',
  'common.hint.repeat': 'Avoid repeating one character.',
  'common.hint.addWord': 'Add another unrelated word.',

  // Theme names (header button and Settings).
  'common.theme.system': 'System',
  'common.theme.light': 'Light',
  'common.theme.dark': 'Dark',
};

export default common;
