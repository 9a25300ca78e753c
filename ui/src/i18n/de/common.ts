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
};

export default common;
