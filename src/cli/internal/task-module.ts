// Finds the task a `module#export` spec names, with errors that say what to
// type instead. The loading itself is fanout's one task-module loader, so the
// CLI runs on the event loop what --threads and `fanout worker` run.

import { fileURLToPath } from 'node:url';
import type { TaskModuleError } from '../../errors.ts';
import { loadTaskModule, moduleUrl, type TaskModule } from '../../internal/task-module.ts';
import type { TaskFn } from '../../task.ts';
import { UsageError } from './usage.ts';

/** A task module and the name of its export. */
export interface TaskSpec {
  /** What the user typed, for messages. */
  spec: string;
  /** The module's URL. */
  url: URL;
  /** The export, `default` when the spec has no `#name`. */
  name: string;
}

/** Parses `./tasks.js#resize` (a path relative to the working directory, or a URL). */
export function parseSpec(spec: string): TaskSpec {
  const hash = spec.lastIndexOf('#');
  const path = hash === -1 ? spec : spec.slice(0, hash);
  const name = hash === -1 ? 'default' : spec.slice(hash + 1);
  if (path === '' || name === '') {
    throw new UsageError(
      `"${spec}" does not name a task`,
      'write the module path and its export: ./tasks.js#resize',
    );
  }
  let url: URL;
  try {
    url = new URL(moduleUrl(path));
  } catch {
    throw new UsageError(
      `"${path}" is neither a path nor a URL`,
      'write the module path and its export: ./tasks.js#resize',
    );
  }
  return { spec, url, name };
}

/** Loads the module on this thread and returns the named export, which must be a function. */
export async function loadTask(spec: TaskSpec): Promise<TaskFn<unknown, unknown>> {
  const mod = await loadModule(spec);
  const fn = mod.tasks.get(spec.name);
  if (fn !== undefined) return fn;
  const value = Object.hasOwn(mod.exports, spec.name) ? mod.exports[spec.name] : undefined;
  const names = [...mod.tasks.keys()];
  throw new UsageError(
    value === undefined
      ? `${shown(spec.url)} has no export named "${spec.name}"`
      : `${shown(spec.url)}: export "${spec.name}" is ${kind(value)}, not a function`,
    names.length > 0
      ? `its functions are: ${names.join(', ')}; name one after #`
      : 'export a function such as: export async function resize(input, ctx) {}',
  );
}

/** Imports the module, turning "not found" and syntax errors into UsageErrors. */
export async function loadModule(spec: TaskSpec): Promise<TaskModule> {
  try {
    return await loadTaskModule(spec.url);
  } catch (error) {
    const err = (error as TaskModuleError).cause as (Error & { code?: unknown }) | undefined;
    const where = shown(spec.url);
    if (err?.code === 'ERR_MODULE_NOT_FOUND' && err.message.includes(where)) {
      throw new UsageError(
        `cannot find the task module ${where}`,
        'give the path of a JavaScript module (ESM or CommonJS) relative to this directory, e.g. ./tasks.js#resize',
      );
    }
    if (err?.code === 'ERR_UNKNOWN_FILE_EXTENSION') {
      throw new UsageError(
        `cannot load ${where}: Node cannot run this file type by itself`,
        'compile it to JavaScript, or run the command through tsx: node --import tsx node_modules/fanout/dist/cli/main.js ...',
      );
    }
    throw new UsageError(
      `cannot load the task module ${where}: ${err?.message ?? String(err)}`,
      'fix the module so that `node` can import it',
    );
  }
}

/** A file URL as a path, as the user typed it; any other URL as it is. */
export function shown(url: URL): string {
  return url.protocol === 'file:' ? fileURLToPath(url) : url.href;
}

/** "a number", "an object", "null"... */
function kind(value: unknown): string {
  if (value === null) return 'null';
  const type = typeof value;
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}
