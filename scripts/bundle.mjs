// Bundles the `fanout` command into dist/cli/main.js, in place of the file
// tsc wrote: loading one module instead of about forty takes about 50 ms off
// every start (each ESM module costs a resolve, a read and a link), which is
// most of what `fanout exec` adds to a run of short jobs.
//
// Left out of the bundle, and loaded as they were: `run` and `worker` (they
// load the threads and BullMQ entries by path, next to their own files),
// and the optional packages (cli-progress, OpenTelemetry, BullMQ, ioredis).
// Errors that cross between the bundle and those files are recognised by
// brand, not by class (see UsageError).

import { build } from 'esbuild';

await build({
  entryPoints: ['dist/cli/main.js'],
  outfile: 'dist/cli/main.js',
  allowOverwrite: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['./run.js', './worker.js', 'cli-progress', '@opentelemetry/*', 'bullmq', 'ioredis'],
  // commander is CommonJS: give its require() calls one.
  banner: {
    js: "import { createRequire as __fanoutRequire } from 'node:module';\nconst require = __fanoutRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
