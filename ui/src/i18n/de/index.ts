/** The German catalogue: one file per area (see ../index.ts). */
import type { Catalogue } from '..';
import common from './common';
import shell from './shell';
import home from './home';
import grants from './grants';
import access from './access';
import onboarding from './onboarding';
import settings from './settings';
import records from './records';
import share from './share';
import receipt from './receipt';
import errors from './errors';
import cards from './cards';
import links from './links';
import summary from './summary';

const all: Catalogue = { ...common, ...shell, ...home, ...grants, ...access, ...onboarding, ...settings, ...records, ...share, ...receipt, ...cards, ...summary, ...errors, ...links };
export default all;
