import type { Catalogue } from '..';

const settings: Catalogue = {
};

export default settings;
