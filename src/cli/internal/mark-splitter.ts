// Cuts a byte stream into records at a fixed mark, for the lanes (see
// lanes.ts) whose jobs share one output pipe one after another.

import type { Readable } from 'node:stream';

/**
 * Splits a lane's output stream at each mark: bytes before it go to
 * `onData`, and `onMark` is called for it. A tail that may be the start of a
 * mark is held back until the next chunk says.
 */
export class MarkSplitter {
  private carry: Buffer | undefined;

  constructor(
    stream: Readable,
    private readonly mark: Buffer,
    private readonly onData: (b: Buffer) => void,
    private readonly onMark: () => void,
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
      this.onMark();
      buf = buf.subarray(at + this.mark.length);
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
