// The Go blog's md5all (https://go.dev/blog/pipelines, "Digesting a tree"):
// the MD5 of every regular file under a directory, three ways, with
// pipeline(). Prints how many files each variant digested and how long it
// took, and checks that the three agree.
//
//   node --import tsx examples/md5all.ts [dir]     # default: this repo's src/
//
// serial:   one file after another (the blog's serial.go).
// parallel: one task per file, all at once (parallel.go: a goroutine per file).
// bounded:  a walker feeding 20 digesters (bounded.go); a failing read, or
//           leaving early, stops the walk and the digesters, as `done` does.

import { createHash } from 'node:crypto';
import { opendir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pipeline } from '../src/index.ts';

type Digest = [path: string, md5: string];

/** Walks the tree lazily, like filepath.Walk, and stops when `signal` aborts. */
async function* walkFiles(root: string, signal?: AbortSignal): AsyncGenerator<string> {
  for await (const entry of await opendir(root)) {
    signal?.throwIfAborted();
    const path = join(root, entry.name);
    if (entry.isDirectory()) yield* walkFiles(path, signal);
    else if (entry.isFile()) yield path;
  }
}

async function digest(path: string, signal?: AbortSignal): Promise<Digest> {
  const data = await readFile(path, { signal });
  return [path, createHash('md5').update(data).digest('hex')];
}

// func MD5All(root string) (map[string][md5.Size]byte, error), serial.go
async function serial(root: string): Promise<Digest[]> {
  return pipeline(walkFiles(root))
    .map((path, { signal }) => digest(path, signal))
    .toArray();
}

// parallel.go: every file is read at once; fine for a small tree only.
async function parallel(root: string): Promise<Digest[]> {
  return pipeline(walkFiles(root))
    .map((path, { signal }) => digest(path, signal), {
      concurrency: Number.POSITIVE_INFINITY,
      ordered: false,
    })
    .toArray();
}

// bounded.go: walkFiles → 20 digesters → collect. The walker gets the
// pipeline's signal through a Go-style stage, as the blog passes `done`.
async function bounded(root: string): Promise<Digest[]> {
  return pipeline([root])
    .through((roots, signal) => walk(roots, signal))
    .map((path, { signal }) => digest(path, signal), { concurrency: 20, ordered: false })
    .toArray();
}

async function* walk(roots: AsyncIterable<string>, signal: AbortSignal): AsyncGenerator<string> {
  for await (const root of roots) yield* walkFiles(root, signal);
}

async function main(): Promise<void> {
  const root = process.argv[2] ?? fileURLToPath(new URL('../src/', import.meta.url));
  const results: Map<string, string>[] = [];
  for (const [name, run] of [
    ['serial', serial],
    ['parallel', parallel],
    ['bounded', bounded],
  ] as const) {
    const t0 = performance.now();
    const digests = await run(root);
    const ms = performance.now() - t0;
    console.log(`${name.padEnd(8)} ${digests.length} files in ${ms.toFixed(1)} ms`);
    results.push(new Map(digests));
  }
  const [first, ...others] = results;
  const agree = others.every(
    (m) => m.size === first!.size && [...m].every(([path, md5]) => first!.get(path) === md5),
  );
  for (const [path, md5] of [...first!].sort(([a], [b]) => a.localeCompare(b)).slice(0, 3)) {
    console.log(`${md5}  ${relative(root, path)}`);
  }
  if (first!.size > 3) console.log(`... and ${first!.size - 3} more`);

  // Leaving early: take the first five digests; the walk and the other
  // digesters stop, and the loop resumes only once they have.
  let taken = 0;
  for await (const [path] of pipeline([root])
    .through((roots, signal) => walk(roots, signal))
    .map((path, { signal }) => digest(path, signal), { concurrency: 20, ordered: false })) {
    if (++taken === 5) {
      console.log(`left early after ${taken} digests (last: ${relative(root, path)})`);
      break;
    }
  }

  console.log(agree ? 'all three variants agree' : 'the variants disagree!');
  if (!agree) process.exitCode = 1;
}

await main();
