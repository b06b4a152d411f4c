import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { quote, Template } from '../../src/cli/internal/template.ts';

/** What /bin/sh makes of a command line that prints its arguments one per line (NUL-ended). */
function shellArgs(line: string): string[] {
  const r = spawnSync('/bin/sh', ['-c', `printf '%s\\0' ${line}`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\0').slice(0, -1);
}

// Any string a command line can carry: no NUL.
const arg = fc.string({ unit: 'binary', maxLength: 40 }).filter((s) => !s.includes('\0'));

describe('Template', () => {
  it('quotes any argument so that the shell reads it back unchanged', () => {
    fc.assert(
      fc.property(fc.array(arg, { minLength: 1, maxLength: 3 }), (args) => {
        assert.deepEqual(shellArgs(args.map(quote).join(' ')), args);
      }),
      { numRuns: 150 },
    );
  });

  it('puts each argument into the command line as one word, whatever it holds', () => {
    fc.assert(
      fc.property(arg, fc.nat({ max: 99 }), (a, seq) => {
        const t = new Template(['printf', "'%s\\0'", 'x{}y', '{#}'], true, false);
        const inv = t.invocation(a, seq + 1);
        assert.ok(inv.shell);
        const r = spawnSync('/bin/sh', ['-c', inv.line], { encoding: 'utf8' });
        assert.deepEqual(r.stdout.split('\0').slice(0, -1), [`x${a}y`, String(seq + 1)]);
      }),
      { numRuns: 100 },
    );
  });

  it('runs a line that needs no shell directly, with the same words', () => {
    const t = new Template(['gzip', '-k', '{}'], true);
    assert.deepEqual(t.invocation('a b.log', 1), {
      shell: false,
      file: 'gzip',
      args: ['-k', 'a b.log'],
    });
    const shelled = new Template(['gzip -k {} > out'], true);
    assert.deepEqual(shelled.invocation('a b.log', 1), {
      shell: true,
      line: "gzip -k 'a b.log' > out",
    });
  });

  it('keeps builtins and assignments for the shell', () => {
    for (const words of [
      ['cd', '{}'],
      ['FOO=1', 'env'],
      ['exit', '{}'],
      // Builtins whose program of the same name differs: /bin/echo prints 'a\nb' as is.
      ['echo', '{}'],
      ['printf', '%s', '{}'],
      ['true', '{}'],
    ]) {
      assert.equal(new Template(words, true).invocation('x', 1).shell, true, words.join(' '));
    }
  });

  it('splits a single command string on spaces without a shell', () => {
    assert.deepEqual(new Template(['echo  -n {}'], false).invocation('$HOME', 1), {
      shell: false,
      file: 'echo',
      args: ['-n', '$HOME'],
    });
  });
});
