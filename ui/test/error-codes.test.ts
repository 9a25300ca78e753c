import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../src/backend/errors';

/**
 * The error codes the window explains are exactly the codes the contract lists
 * (docs/app-commands.md, the table of codes): a code the wallet gains must get a sentence, and
 * a sentence for a code that no longer exists goes.
 */
describe('error codes', () => {
  it('are the codes of the contract, no more and no fewer', () => {
    const contract = readFileSync(fileURLToPath(new URL('../../docs/app-commands.md', import.meta.url)), 'utf8');
    const table = contract.slice(contract.indexOf('| code | what happened | from |'), contract.indexOf('Commands that change what'));
    expect(table.length).toBeGreaterThan(0);
    const documented = new Set<string>();
    for (const line of table.split('\n').filter((l) => l.startsWith('| `'))) {
      const first = line.split('|')[1] ?? '';
      for (const m of first.matchAll(/`([a-z_]+)`/g)) documented.add(m[1]);
    }
    // The app's own codes, named in the text above the table.
    for (const own of ['locked', 'no_wallet', 'bad_input', 'io', 'internal']) documented.add(own);
    const explained = new Set<string>(ERROR_CODES.filter((c) => c !== 'unknown'));
    expect([...explained].filter((c) => !documented.has(c)).sort(), 'explained but not in the contract').toEqual([]);
    expect([...documented].filter((c) => !explained.has(c)).sort(), 'in the contract but not explained').toEqual([]);
  });
});
