// Runs every e2e/*.test.mjs with node:test, prints the spec report and a final "N passed, M failed".
import { readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from 'node:test';
import { spec } from 'node:test/reporters';

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(here).filter((f) => f.endsWith('.test.mjs')).filter((f) => only.length === 0 || only.some((o) => f.includes(o))).sort().map((f) => join(here, f));
let passed = 0;
let failed = 0;
const stream = run({ files, concurrency: 1, timeout: 120_000 });
stream.on('test:pass', (t) => { if (t.details?.type !== 'suite' && !files.includes(t.name)) passed++; });
stream.on('test:fail', (t) => { if (t.details?.type !== 'suite' && !files.includes(t.name)) failed++; });
stream.compose(spec).pipe(process.stdout);
stream.on('end', () => {
  // After the reporter has flushed.
  setImmediate(() => {
    console.log(`\n${passed} passed, ${failed} failed`);
    process.exitCode = failed > 0 || passed === 0 ? 1 : 0;
  });
});
