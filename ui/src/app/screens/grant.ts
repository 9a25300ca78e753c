import { h } from '../../lib/dom';
import type { Screen } from '../context';
import { page } from '../ui';

/** A grant's own page (issue 10). Filled in by the grant page work. */
export const grantPage: Screen = {
  title: 'Sharing',
  needs: 'unlocked',
  render: () => page('Sharing', null, h('p', null, '…')),
};
