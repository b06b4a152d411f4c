// Buffered writes to stdout or stderr. Text and bytes are gathered and
// written once per turn of the event loop (or every 64 KiB), so a hundred
// thousand tiny results or job outputs cost a few hundred writes, not 1e5.

import type { Writable } from 'node:stream';

const HIGH = 64 * 1024;

export class Output {
  /** Queued text and bytes, in order, and their size (string length for text). */
  private parts: (string | Uint8Array)[] = [];
  private size = 0;
  private bytes = false;
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

  /** Queues text or bytes, written after what is queued, by the next turn of the event loop. */
  write(data: string | Uint8Array): void {
    if (data.length === 0) return;
    this.parts.push(data);
    this.size += data.length;
    if (typeof data !== 'string') this.bytes = true;
    if (this.size >= HIGH) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushSoon);
    }
  }

  /** Writes what is queued now, in one write. */
  flush(): void {
    const parts = this.parts;
    if (parts.length === 0) return;
    this.parts = [];
    this.size = 0;
    if (parts.length === 1) this.push(parts[0]!);
    else if (!this.bytes) this.push(parts.join(''));
    else this.push(Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p))));
    this.bytes = false;
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
