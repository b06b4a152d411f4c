// Loads a task module, for every executor: each thread of fanout/threads,
// fanout/bullmq's serveTasks, and the CLI's `fanout run`. Where a module
// is, which of its exports are tasks and what a missing module or export
// says are decided here once, so that a module that runs on one runs on all.

import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { TaskModuleError } from '../errors.ts';

/** A task export as loaded; each executor calls it with a context of its own. */
export type ModuleTask = (input: unknown, ctx: unknown) => unknown;

/** A loaded task module. */
export interface TaskModule {
  /** The module's URL. */
  readonly url: string;
  /** Its tasks, by export name. */
  readonly tasks: ReadonlyMap<string, ModuleTask>;
  /** Every export, those of a default-exported object included: what a name that is no task is. */
  readonly exports: Readonly<Record<string, unknown>>;
}

// Newer Node versions (23 on) also export a CommonJS module's `default`
// under this name: it counts once, as `default`, not as a task of its own.
const MODULE_EXPORTS = 'module.exports';

/**
 * moduleUrl returns the URL of a task module given as a URL, a URL string
 * (a scheme of two or more letters: one letter is a Windows drive) or a
 * path, which is taken against the working directory.
 */
export function moduleUrl(module: string | URL): string {
  if (module instanceof URL) return module.href;
  if (/^[a-z][a-z0-9+.-]+:/i.test(module)) return module;
  return pathToFileURL(isAbsolute(module) ? module : resolve(module)).href;
}

/**
 * loadTaskModule imports a task module, ES or CommonJS. Its tasks are its
 * exports that are functions, `default` included, and the functions of a
 * default-exported object: that is how Node shows a CommonJS
 * `module.exports = { resize }` whose names it cannot find by reading the
 * source. A named export wins over a member of the default object.
 *
 * @throws TaskModuleError (as a rejection) when the import fails, with the
 *   import's error as `cause`.
 */
export async function loadTaskModule(module: string | URL): Promise<TaskModule> {
  const url = moduleUrl(module);
  let ns: Record<string, unknown>;
  try {
    ns = (await import(url)) as Record<string, unknown>;
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new TaskModuleError(`cannot load the task module ${url}: ${why}`, url, undefined, {
      cause: err,
    });
  }
  const fallback = ns.default;
  const exports: Record<string, unknown> =
    typeof fallback === 'object' && fallback !== null ? { ...fallback, ...ns } : { ...ns };
  delete exports[MODULE_EXPORTS];
  const tasks = new Map<string, ModuleTask>();
  for (const [name, value] of Object.entries(exports)) {
    if (typeof value === 'function') tasks.set(name, value as ModuleTask);
  }
  return { url, tasks, exports };
}

/**
 * noTaskError is the error for a task `name` that the module at `url` does
 * not export as a function; `names` are the tasks it does export, and `api`
 * (when given) starts the message.
 */
export function noTaskError(
  url: string,
  name: string,
  names: Iterable<string>,
  api?: string,
): TaskModuleError {
  const known = [...names];
  const has =
    known.length === 0 ? 'it exports no functions' : `its functions are: ${known.join(', ')}`;
  const message = `the task module ${url} has no function export ${JSON.stringify(name)}; ${has}`;
  return new TaskModuleError(api === undefined ? message : `${api}: ${message}`, url, name);
}
