import type { Catalogue } from '..';

/** Wörter, die überall vorkommen. */
const common: Catalogue = {
  'common.cancel': 'Abbrechen',
  'common.back': 'Zurück',
  'common.continue': 'Weiter',
  'common.loading': 'Wird geladen …',
  'common.technicalDetails': 'Technische Details',
  'common.records.one': '{n} Eintrag',
  'common.records.other': '{n} Einträge',
  'common.choose': 'Auswählen …',
  'common.errorCode': 'Fehlercode: {code}',

  'common.passphrase': 'Passphrase',
  'common.passphrase.repeat': 'Passphrase wiederholen',
  'common.passphrase.repeatNamed': '{label} wiederholen',
  'common.passphrase.show': 'Passphrase anzeigen',
  'common.passphrase.strengthEmpty': 'Stärke: Geben Sie eine Passphrase ein',
  'common.passphrase.strength': 'Stärke: {label}',
  'common.passphrase.tooWeak': 'Diese Passphrase ist {label}. Wählen Sie eine stärkere: vier oder mehr Wörter, die nichts miteinander zu tun haben, sind gut.',
  'common.passphrase.mismatch': 'Die beiden Passphrasen sind nicht gleich.',
  'common.strength.empty': 'leer',
  'common.strength.veryWeak': 'sehr schwach',
  'common.strength.weak': 'schwach',
  'common.strength.fair': 'mittel',
  'common.strength.strong': 'stark',
  'common.strength.veryStrong': 'sehr stark',
  'common.hint.typeOne': 'Geben Sie eine Passphrase ein.',
  'common.hint.common': 'Das ist eines der ersten Passwörter, die Angreifer ausprobieren.',
  'common.hint.length': 'Verwenden Sie mindestens 12 Zeichen; vier oder mehr Wörter, die nichts miteinander zu tun haben, sind gut.',
  'common.hint.repeat': 'Wiederholen Sie nicht immer dasselbe Zeichen.',
  'common.hint.addWord': 'Fügen Sie ein weiteres, unabhängiges Wort hinzu.',

  'common.theme.system': 'System',
  'common.theme.light': 'Hell',
  'common.theme.dark': 'Dunkel',
};

export default common;
