import type { Catalogue } from '..';

const shell: Catalogue = {
};

export default shell;
