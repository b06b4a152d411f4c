// Turns `fanout exec`'s command words and one argument into what to run.
// The template is parsed once; each job only joins precomputed pieces, so a
// thousand tiny jobs do not each re-scan the command.

import { posix } from 'node:path';

/** The replacement strings, as GNU parallel spells them. */
const TOKENS = ['{}', '{.}', '{/}', '{//}', '{/.}', '{#}'] as const;
type Token = (typeof TOKENS)[number];
const TOKEN_RE = /\{\}|\{\.\}|\{\/\}|\{\/\/\}|\{\/\.\}|\{#\}/g;

/** A word of the command: literal text and replacement strings in turn. */
type Piece = string | { token: Token };
type Word = Piece[];

/** What one job runs: a shell command line, or a file and its argv without a shell. */
export type Invocation =
  | { shell: true; line: string }
  | { shell: false; file: string; args: string[] };

// Characters the shell gives no meaning to: a word made only of them (and
// replacement strings, which are quoted) reads the same with or without a shell.
const PLAIN = /^[A-Za-z0-9_./,:@%+=-]*$/;
// An argument may land first on the line, where `NAME=value` would be an assignment.
const PLAIN_ARG = /^[A-Za-z0-9_./,:@%+-]+$/;
// Words the shell gives its own meaning: builtins and keywords with no
// program of that name, and builtins whose program of that name behaves
// otherwise (dash's echo reads backslash escapes, coreutils' does not;
// `true --help` prints nothing, /bin/true prints its help).
const SHELL_ONLY = new Set(
  (
    'cd exit export set unset source . alias eval exec read ulimit umask wait trap shift return ' +
    'break continue readonly local type command hash times jobs fg bg getopts let declare ' +
    'typeset if then else elif fi for while until do done case esac function select time ! ' +
    'echo printf test [ kill pwd true false'
  ).split(' '),
);

/**
 * A command template compiled once. `useShell` false runs the words as argv
 * (`--no-shell`); otherwise they are joined into a shell command line, each
 * argument single-quoted, unless the line needs no shell at all, in which
 * case it is run directly for speed (same meaning, one exec fewer).
 */
export class Template {
  private readonly words: Word[];
  private readonly direct: boolean;
  /** No command given: each argument is itself a command line, as in GNU parallel. */
  private readonly bare: boolean;

  /**
   * `allowDirect` false keeps every line for the shell, for launchers that
   * only take shell lines (see lanes.ts).
   */
  constructor(
    command: string[],
    private readonly useShell: boolean,
    allowDirect = true,
  ) {
    this.bare = command.length === 0 && useShell;
    let words = command;
    // A single word like 'gzip -k {}' is a whole command line.
    if (!useShell && command.length === 1) words = command[0]!.trim().split(/\s+/);
    const parsed = words.map(parseWord);
    if (!parsed.some((w) => w.some((p) => typeof p !== 'string'))) parsed.push([{ token: '{}' }]);
    this.words = parsed;
    this.direct =
      allowDirect &&
      useShell &&
      words.length > 0 &&
      words.every((w) => PLAIN.test(w.replace(TOKEN_RE, ''))) &&
      !SHELL_ONLY.has(words[0]!) &&
      !words[0]!.includes('=');
  }

  /** What job number `seq` (from 1) runs for `arg`. */
  invocation(arg: string, seq: number): Invocation {
    if (this.bare) return { shell: true, line: arg };
    if (!this.useShell || this.direct) {
      const argv = this.words.map((w) => expand(w, arg, seq, raw));
      return { shell: false, file: argv[0]!, args: argv.slice(1) };
    }
    const line = this.words.map((w) => expand(w, arg, seq, quote)).join(' ');
    return { shell: true, line };
  }

  /** The command as `--dry-run` prints it and the joblog records it. */
  display(arg: string, seq: number): string {
    if (this.bare) return arg;
    if (!this.useShell) return this.words.map((w) => quote(expand(w, arg, seq, raw))).join(' ');
    return this.words.map((w) => expand(w, arg, seq, quote)).join(' ');
  }
}

function parseWord(word: string): Word {
  const pieces: Word = [];
  let last = 0;
  for (const m of word.matchAll(TOKEN_RE)) {
    if (m.index > last) pieces.push(word.slice(last, m.index));
    pieces.push({ token: m[0] as Token });
    last = m.index + m[0].length;
  }
  if (last < word.length || pieces.length === 0) pieces.push(word.slice(last));
  return pieces;
}

function expand(word: Word, arg: string, seq: number, wrap: (s: string) => string): string {
  if (word.length === 1 && typeof word[0] === 'string') return word[0];
  let out = '';
  for (const p of word) out += typeof p === 'string' ? p : wrap(replace(p.token, arg, seq));
  return out;
}

/** The value of one replacement string, as GNU parallel defines it. */
function replace(token: Token, arg: string, seq: number): string {
  switch (token) {
    case '{}':
      return arg;
    case '{.}':
      return withoutExtension(arg);
    case '{/}':
      return posix.basename(arg);
    case '{//}':
      return posix.dirname(arg);
    case '{/.}':
      return withoutExtension(posix.basename(arg));
    case '{#}':
      return String(seq);
  }
}

// Only the last path component's extension goes: `dir.d/file` keeps its name.
function withoutExtension(path: string): string {
  const slash = path.lastIndexOf('/');
  const dot = path.lastIndexOf('.');
  return dot > slash + 1 ? path.slice(0, dot) : path;
}

function raw(s: string): string {
  return s;
}

/**
 * Quotes `s` as one shell word that the shell takes literally: plain words
 * stay as they are for readable dry runs, anything else goes in single
 * quotes, inside which only the quote itself needs care.
 */
export function quote(s: string): string {
  if (PLAIN_ARG.test(s)) return s;
  return `'${s.replaceAll("'", "'\\''")}'`;
}
