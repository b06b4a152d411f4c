// rateLimit(n, perMs): lets at most n items through in any perMs window.
// It keeps the times of the last n items let through, so the limit holds
// exactly over every window, not only over fixed slices of time.

import { sleep } from '../../internal/abort.ts';
import { Queue } from '../../internal/queue.ts';
import { DONE, type Done, Node, type Pulled, type Scope } from './node.ts';

export class RateLimitNode<T> extends Node<T> {
  private readonly times = new Queue<number>();
  private running: Promise<unknown> | undefined;

  constructor(
    scope: Scope,
    upstream: Node<T>,
    private readonly n: number,
    private readonly perMs: number,
  ) {
    super(scope, upstream);
  }

  pull(): Pulled<T> {
    if (this.stopped) return DONE;
    const item = (this.upstream as Node<T>).pull();
    if (item instanceof Promise) return this.track(item.then(this.admit));
    return item === DONE ? DONE : this.admit(item);
  }

  private readonly admit = (item: T | Done): Pulled<T> => {
    if (item === DONE || this.stopped) return DONE;
    const now = performance.now();
    const times = this.times;
    while (times.length > 0 && now - times.peek() >= this.perMs) times.shift();
    if (times.length < this.n) {
      times.push(now);
      return item;
    }
    const wait = times.peek() + this.perMs - now;
    return this.track(
      sleep(wait, this.signal).then(
        () => this.admit(item),
        () => DONE,
      ),
    );
  };

  private track<V>(p: Promise<V>): Promise<V> {
    this.running = p;
    return p;
  }

  protected override async idle(): Promise<void> {
    await this.running;
  }
}
