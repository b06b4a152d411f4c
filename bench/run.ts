// `npm run bench [-- area ...]`: runs every suite (bench/<area>.ts) one
// after the other and prints their tables under a line naming the machine.
// Commit what it prints under bench/ (see bench/README.md).

import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { machine } from './lib.ts';

const here = new URL('.', import.meta.url).pathname;
const all = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'lib.ts' && f !== 'run.ts')
  .map((f) => f.slice(0, -3))
  .sort();
const wanted = process.argv.slice(2);
const suites = wanted.length > 0 ? all.filter((s) => wanted.includes(s)) : all;

console.log(`# fanout benchmarks\n\n${new Date().toISOString().slice(0, 10)}, ${machine()}\n`);
for (const suite of suites) {
  console.log(`## ${suite}\n`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', `${here}${suite}.ts`], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (r.status !== 0) console.log(`\n(${suite} failed with exit code ${r.status})`);
  console.log('');
}
