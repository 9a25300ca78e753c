import type { Catalogue } from '..';

const share: Catalogue = {
};

export default share;
