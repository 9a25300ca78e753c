import type { Catalogue } from '..';

const access: Catalogue = {
};

export default access;
