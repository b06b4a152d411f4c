import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { setImmediate as turn } from 'node:timers/promises';
import { Output } from '../../src/cli/internal/output.ts';

/** A stream that records each write it is given; `full` makes write() ask for a drain. */
function recorder(full = false) {
  const writes: string[] = [];
  const stream = new Writable({
    highWaterMark: full ? 1 : 1 << 20,
    write(chunk: Buffer, _enc, done) {
      if (chunk.length > 0) writes.push(chunk.toString());
      // A full stream takes its time, so that write() asks for a drain.
      if (full) setImmediate(done);
      else done();
    },
  });
  return { stream, writes };
}

describe('Output', () => {
  it('gathers the text and bytes written in one turn into one write, in order', async () => {
    const { stream, writes } = recorder();
    const out = new Output(stream);
    out.write('a');
    out.write(Buffer.from('b'));
    out.write('');
    out.write(Buffer.alloc(0));
    out.write('c');
    out.write(Buffer.from('d'));
    assert.deepEqual(writes, [], 'nothing is written within the turn');
    await turn();
    assert.deepEqual(writes, ['abcd']);
    out.write('e');
    await out.end();
    assert.deepEqual(writes, ['abcd', 'e']);
  });

  it('writes at once once 64 KiB are queued', () => {
    const { stream, writes } = recorder();
    const out = new Output(stream);
    out.write(Buffer.alloc(40 * 1024, 'x'));
    assert.equal(writes.length, 0);
    out.write('y'.repeat(30 * 1024));
    assert.equal(writes.length, 1);
    assert.equal(writes[0]!.length, 70 * 1024);
  });

  it('writes what is queued when asked to flush', () => {
    const { stream, writes } = recorder();
    const out = new Output(stream);
    out.write(Buffer.from('job 1 out'));
    out.flush();
    assert.deepEqual(writes, ['job 1 out']);
    out.flush();
    assert.deepEqual(writes, ['job 1 out'], 'an empty queue writes nothing');
  });

  it('says when the stream is full, and when it has drained', async () => {
    const { stream } = recorder(true);
    const out = new Output(stream);
    assert.equal(out.ready(), undefined);
    out.write(Buffer.from('more than the stream holds'));
    out.flush();
    const ready = out.ready();
    assert.ok(ready instanceof Promise);
    await ready;
    assert.equal(out.ready(), undefined);
  });

  it('stops writing once the stream fails, and says so once', async () => {
    const { stream, writes } = recorder();
    let closed = 0;
    const out = new Output(stream, () => closed++);
    stream.emit('error', Object.assign(new Error('EPIPE'), { code: 'EPIPE' }));
    stream.destroy();
    out.write('lost');
    await out.end();
    assert.deepEqual(writes, []);
    assert.equal(closed, 1);
  });
});
