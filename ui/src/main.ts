import './styles.css';
import './styles/shell.css';
import './styles/home.css';
import './styles/grants.css';
import './styles/onboarding.css';
import './styles/settings.css';
import './styles/records.css';
import './styles/share.css';
import './styles/links.css';
import './styles/receipt.css';
import './styles/summary.css';

import { selectBackend } from './backend/select';
import { startApp } from './app/shell';
import { language, t } from './i18n';

const root = document.getElementById('app');
if (root) {
  // "Starting Carekey…" in the patient's language (index.html has no words of its own).
  document.documentElement.lang = language();
  const boot = root.querySelector('.boot');
  if (boot) boot.textContent = t('shell.starting');
  selectBackend()
    .then((backend) => startApp(root, backend))
    .catch((err: unknown) => {
      root.textContent = t('shell.startFailed', { message: err instanceof Error ? err.message : String(err) });
    });
}
