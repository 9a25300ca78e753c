import type { Catalogue } from '..';

/** Words used everywhere: buttons, plurals of common nouns, relative time. */
const common: Catalogue = {
  'common.cancel': 'Cancel',
  'common.back': 'Back',
  'common.continue': 'Continue',
  'common.loading': 'Loading…',
  'common.technicalDetails': 'Technical details',
  'common.records.one': '{n} record',
  'common.records.other': '{n} records',
};

export default common;
