import type { Catalogue } from '..';

const grants: Catalogue = {
};

export default grants;
