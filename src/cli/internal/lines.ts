// Reads a stream line by line as an async iterator, without readline's
// per-line events: chunks are split in place and lines handed out from the
// current chunk, so a pull usually costs no I/O at all.

import type { Readable } from 'node:stream';

/**
 * An async iterator over the non-blank lines of a text stream (`\n` or
 * `\r\n` endings). `lineNumber` is the 1-based number of the line last
 * returned, counting blank lines, for error messages. Pulled lazily: the
 * stream is read only as fast as lines are taken.
 */
export class LineReader implements AsyncIterableIterator<string> {
  lineNumber = 0;
  private readonly chunks: AsyncIterator<string>;
  private lines: string[] = [];
  private pos = 0;
  private tail = '';
  private ended = false;

  constructor(private readonly stream: Readable) {
    stream.setEncoding('utf8');
    this.chunks = stream[Symbol.asyncIterator]();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<string>> {
    for (;;) {
      while (this.pos < this.lines.length) {
        let line = this.lines[this.pos++]!;
        this.lineNumber++;
        if (line.endsWith('\r')) line = line.slice(0, -1);
        if (line.trim() !== '') return { value: line, done: false };
      }
      if (this.ended) return { value: undefined, done: true };
      const r = await this.chunks.next();
      if (r.done) {
        this.ended = true;
        this.lines = this.tail === '' ? [] : [this.tail];
        this.tail = '';
      } else {
        const parts = (this.tail + r.value).split('\n');
        this.tail = parts.pop()!;
        this.lines = parts;
      }
      this.pos = 0;
    }
  }

  /** Stops reading: the stream is destroyed, and later pulls end. */
  async return(): Promise<IteratorResult<string>> {
    this.ended = true;
    this.lines = [];
    this.stream.destroy();
    return { value: undefined, done: true };
  }
}
