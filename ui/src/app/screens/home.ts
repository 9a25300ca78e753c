import { h } from '../../lib/dom';
import type { Screen } from '../context';
import { page } from '../ui';

/** Home: who can see my records (issue 10). Filled in by the home screen work. */
export const home: Screen = {
  title: 'Home',
  needs: 'unlocked',
  render: () => page('Who can see my records', null, h('p', null, '…')),
};
