import type { Catalogue } from '..';

const errors: Catalogue = {
};

export default errors;
