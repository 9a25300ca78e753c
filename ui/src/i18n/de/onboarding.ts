import type { Catalogue } from '..';

const onboarding: Catalogue = {
};

export default onboarding;
