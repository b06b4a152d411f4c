// Loads a task module: its named exports that are functions are the tasks.
// Job names are looked up in a Map built here, so a job can only ever pick
// one of these functions; nothing in a job is evaluated.

import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { TaskModuleError } from '../../errors.ts';

export type ModuleTask = (input: unknown, ctx: unknown) => unknown;

/** The module's URL: URLs and `file:` strings as they are, paths against the working directory. */
export function moduleUrl(module: string | URL): string {
  if (module instanceof URL) return module.href;
  if (/^[a-z][a-z0-9+.-]*:/i.test(module) && !/^[a-z]:[\\/]/i.test(module)) return module;
  return pathToFileURL(isAbsolute(module) ? module : resolve(module)).href;
}

export async function loadTasks(module: string | URL): Promise<Map<string, ModuleTask>> {
  const url = moduleUrl(module);
  let ns: Record<string, unknown>;
  try {
    ns = await import(url);
  } catch (err) {
    throw new TaskModuleError(
      `cannot load the task module ${url}: ${(err as Error)?.message ?? err}`,
      url,
      undefined,
      { cause: err },
    );
  }
  const tasks = new Map<string, ModuleTask>();
  for (const name of Object.keys(ns)) {
    if (name !== 'default' && typeof ns[name] === 'function')
      tasks.set(name, ns[name] as ModuleTask);
  }
  if (tasks.size === 0) {
    throw new TaskModuleError(`the task module ${url} exports no functions`, url);
  }
  return tasks;
}
