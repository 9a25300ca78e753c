import type { Catalogue } from '..';

const home: Catalogue = {
};

export default home;
