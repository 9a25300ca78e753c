import './styles.css';
import { selectBackend } from './backend/select';
import { startApp } from './app/shell';

const root = document.getElementById('app');
if (root) {
  selectBackend()
    .then((backend) => startApp(root, backend))
    .catch((err: unknown) => {
      root.textContent = `Carekey could not start: ${err instanceof Error ? err.message : String(err)}`;
    });
}
