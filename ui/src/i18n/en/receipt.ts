import type { Catalogue } from '..';

const receipt: Catalogue = {
};

export default receipt;
