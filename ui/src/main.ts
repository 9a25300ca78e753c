import './styles.css';
import './styles/shell.css';
import './styles/home.css';
import './styles/grants.css';
import './styles/onboarding.css';
import './styles/settings.css';
import './styles/records.css';
import './styles/share.css';
import './styles/receipt.css';

import { selectBackend } from './backend/select';
import { startApp } from './app/shell';
import { t } from './i18n';

const root = document.getElementById('app');
if (root) {
  selectBackend()
    .then((backend) => startApp(root, backend))
    .catch((err: unknown) => {
      root.textContent = t('shell.startFailed', { message: err instanceof Error ? err.message : String(err) });
    });
}
