// Finds the task a `module#export` spec names, with errors that say what to
// type instead.

import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { TaskFn } from '../../task.ts';
import { UsageError } from './usage.ts';

/** A task module and the name of its export. */
export interface TaskSpec {
  /** What the user typed, for messages. */
  spec: string;
  /** The module as a file URL. */
  url: URL;
  /** The export, `default` when the spec has no `#name`. */
  name: string;
}

/** Parses `./tasks.js#resize` (relative to the working directory) or a file URL. */
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
  const url = path.startsWith('file:')
    ? new URL(path)
    : pathToFileURL(isAbsolute(path) ? path : resolve(path));
  return { spec, url, name };
}

/** Loads the module on this thread and returns the named export, which must be a function. */
export async function loadTask(spec: TaskSpec): Promise<TaskFn<unknown, unknown>> {
  const mod = await loadModule(spec);
  const fn = mod[spec.name];
  if (typeof fn !== 'function') {
    const names = Object.keys(mod).filter((k) => typeof mod[k] === 'function');
    throw new UsageError(
      fn === undefined
        ? `${spec.url.pathname} has no export named "${spec.name}"`
        : `${spec.url.pathname}: export "${spec.name}" is a ${typeof fn}, not a function`,
      names.length > 0
        ? `its functions are: ${names.join(', ')}; name one after #`
        : 'export a function such as: export async function resize(input, ctx) {}',
    );
  }
  return fn as TaskFn<unknown, unknown>;
}

/** Imports the module, turning "not found" and syntax errors into UsageErrors. */
export async function loadModule(spec: TaskSpec): Promise<Record<string, unknown>> {
  try {
    return (await import(spec.url.href)) as Record<string, unknown>;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' && (err as Error).message.includes(spec.url.pathname)) {
      throw new UsageError(
        `cannot find the task module ${spec.url.pathname}`,
        'give the path of an ES module relative to this directory, e.g. ./tasks.js#resize',
      );
    }
    if (code === 'ERR_UNKNOWN_FILE_EXTENSION') {
      throw new UsageError(
        `cannot load ${spec.url.pathname}: Node cannot run this file type by itself`,
        'compile it to JavaScript, or run the command through tsx: node --import tsx node_modules/fanout/dist/cli/main.js ...',
      );
    }
    throw new UsageError(
      `cannot load the task module ${spec.url.pathname}: ${(err as Error).message}`,
      'fix the module so that `node` can import it',
    );
  }
}
