// Buffered writes to stdout or stderr. Results are gathered into one string
// and written once per turn of the event loop (or every 64 KiB), so a
// hundred thousand tiny results cost a few hundred writes, not 1e5.

import type { Writable } from 'node:stream';

const HIGH = 64 * 1024;

export class Output {
  private buf = '';
  private scheduled = false;
  private drained: Promise<void> | undefined;
  private failed = false;
  private release: (() => void) | undefined;
  private readonly flushSoon = () => {
    this.scheduled = false;
    this.flush();
  };

  /** `onClosed` is called once if the stream fails (EPIPE: its reader went away); writes then stop. */
  constructor(
    private readonly stream: Writable,
    onClosed?: () => void,
  ) {
    stream.on('error', () => {
      this.failed = true;
      // Whoever waits for a drain that will never come must go on (and find the run cancelled).
      this.release?.();
      onClosed?.();
    });
  }

  /** Queues text, or writes raw bytes at once after what is queued. */
  write(data: string | Uint8Array): void {
    if (typeof data !== 'string') {
      this.flush();
      if (data.length > 0) this.push(data);
      return;
    }
    this.buf += data;
    if (this.buf.length >= HIGH) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushSoon);
    }
  }

  /** Writes what is queued now. */
  flush(): void {
    if (this.buf === '') return;
    const b = this.buf;
    this.buf = '';
    this.push(b);
  }

  /** Undefined when the stream takes more, else a promise of when it drains. */
  ready(): Promise<void> | undefined {
    return this.drained;
  }

  /** Writes everything and resolves once the stream has taken it. */
  end(): Promise<void> {
    this.flush();
    return new Promise((resolve) => {
      if (this.failed || this.stream.destroyed || this.stream.writableEnded) resolve();
      else this.stream.write('', () => resolve());
    });
  }

  private push(data: string | Uint8Array): void {
    if (this.failed || this.stream.destroyed) return;
    if (!this.stream.write(data) && this.drained === undefined) {
      this.drained = new Promise((resolve) => {
        this.release = () => {
          this.drained = undefined;
          this.release = undefined;
          resolve();
        };
        this.stream.once('drain', this.release);
      });
    }
  }
}
