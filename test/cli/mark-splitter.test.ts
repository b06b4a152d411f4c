import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MarkSplitter } from '../../src/cli/internal/mark-splitter.ts';

const MARK = Buffer.from('\u001e<mark>\u001e');

/** Writes `all` to `stream` in chunks of the sizes `cuts` gives in turn, ends it, and waits for the end. */
async function feed(stream: PassThrough, all: Buffer, cuts: number[]): Promise<void> {
  for (let at = 0, i = 0; at < all.length; i++) {
    const n = cuts[i % cuts.length]!;
    stream.write(all.subarray(at, at + n));
    at += n;
  }
  stream.end();
  await new Promise((resolve) => stream.on('end', resolve).resume());
}

describe('MarkSplitter', () => {
  it('gives back each record whole, however the stream is cut into chunks', async () => {
    // Records may hold any bytes, prefixes of the mark included, but not the mark itself.
    const record = fc
      .array(fc.oneof(fc.uint8Array({ maxLength: 12 }), fc.constant(MARK.subarray(0, 3))), {
        maxLength: 4,
      })
      .map((parts) => Buffer.concat(parts))
      .filter((b) => !b.includes(MARK));
    await fc.assert(
      fc.asyncProperty(
        fc.array(record, { maxLength: 6 }),
        fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1 }),
        async (records, cuts) => {
          const stream = new PassThrough();
          const got: Buffer[] = [];
          let current: Buffer[] = [];
          new MarkSplitter(
            stream,
            MARK,
            (b) => current.push(Buffer.from(b)),
            () => {
              got.push(Buffer.concat(current));
              current = [];
            },
          );
          const all = Buffer.concat(records.flatMap((r) => [r, MARK]));
          await feed(stream, all, cuts);
          assert.deepEqual(got, records);
        },
      ),
    );
  });

  it('gives each mark the tail bytes that follow it, even when a chunk ends inside them', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.string({ maxLength: 8 }), fc.integer({ min: 0, max: 255 })), {
          maxLength: 6,
        }),
        fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1 }),
        async (records, cuts) => {
          const stream = new PassThrough();
          const got: [string, string][] = [];
          let current = '';
          new MarkSplitter(
            stream,
            MARK,
            (b) => {
              current += b.toString('latin1');
            },
            (tail) => {
              got.push([current, tail.toString('latin1')]);
              current = '';
            },
            3,
          );
          const expected = records.map(([text, status]): [string, string] => [
            text.replace(/[^a-z ]/g, ''),
            String(status).padStart(3, '0'),
          ]);
          const all = Buffer.from(
            expected.map(([t, s]) => `${t}${MARK.toString('latin1')}${s}`).join(''),
            'latin1',
          );
          await feed(stream, all, cuts);
          assert.deepEqual(got, expected);
        },
      ),
    );
  });
});
