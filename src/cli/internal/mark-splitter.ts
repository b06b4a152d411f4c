// Cuts a byte stream into records at a fixed mark, for the lanes (see
// lanes.ts) whose jobs share one output pipe one after another.

import type { Readable } from 'node:stream';

/**
 * Splits a lane's output stream at each mark: bytes before it go to
 * `onData`, and `onMark` is called for it with the `tail` bytes that follow
 * each mark (a record's trailer, e.g. an exit status). A tail that may be
 * the start of a mark is held back until the next chunk says.
 */
export class MarkSplitter {
  private carry: Buffer | undefined;

  constructor(
    stream: Readable,
    private readonly mark: Buffer,
    private readonly onData: (b: Buffer) => void,
    private readonly onMark: (tail: Buffer) => void,
    private readonly tail = 0,
  ) {
    stream.on('data', (b: Buffer) => this.push(b));
  }

  private push(chunk: Buffer): void {
    let buf = this.carry ? Buffer.concat([this.carry, chunk]) : chunk;
    this.carry = undefined;
    for (;;) {
      const at = buf.indexOf(this.mark);
      if (at === -1) break;
      if (at > 0) this.onData(buf.subarray(0, at));
      const end = at + this.mark.length + this.tail;
      if (end > buf.length) {
        // The mark's tail is still to come.
        this.carry = Buffer.from(buf.subarray(at));
        return;
      }
      this.onMark(buf.subarray(end - this.tail, end));
      buf = buf.subarray(end);
    }
    // Hold back a tail that could be the first bytes of a mark split across chunks.
    let from = buf.length;
    for (let i = Math.max(0, buf.length - this.mark.length + 1); i < buf.length; i++) {
      if (
        buf[i] === this.mark[0] &&
        this.mark.subarray(0, buf.length - i).equals(buf.subarray(i))
      ) {
        from = i;
        break;
      }
    }
    if (from > 0) this.onData(buf.subarray(0, from));
    if (from < buf.length) this.carry = Buffer.from(buf.subarray(from));
  }
}
