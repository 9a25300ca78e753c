import type { Catalogue } from '..';

const records: Catalogue = {
};

export default records;
