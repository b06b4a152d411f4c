// A growable ring buffer: O(1) push and shift without the re-indexing that
// Array#shift falls into once an array grows past V8's small-array fast
// path. Once it has grown to its peak size it allocates nothing per item.
// Channels keep their buffer and both waiter lists in one; stream stages
// hand items over through one.

const INITIAL = 4;

/** Queue is a first-in first-out list with O(1) push, shift and peek. */
export class Queue<T> {
  #items: (T | undefined)[] = new Array(INITIAL);
  #mask = INITIAL - 1;
  #head = 0;
  #size = 0;

  get length(): number {
    return this.#size;
  }

  push(item: T): void {
    if (this.#size > this.#mask) this.#grow();
    this.#items[(this.#head + this.#size) & this.#mask] = item;
    this.#size++;
  }

  /** Returns the first item without removing it; the queue must not be empty. */
  peek(): T {
    return this.#items[this.#head] as T;
  }

  /** Removes and returns the first item; the queue must not be empty. */
  shift(): T {
    const head = this.#head;
    const item = this.#items[head] as T;
    // Drop the reference so a delivered value can be collected.
    this.#items[head] = undefined;
    this.#head = (head + 1) & this.#mask;
    this.#size--;
    return item;
  }

  /**
   * Removes the last occurrence of `item` and reports whether it was there.
   * Linear, but only aborts and finished selects call it, and they search
   * from the back, where the most recent waiter sits.
   */
  remove(item: T): boolean {
    for (let i = this.#size - 1; i >= 0; i--) {
      if (this.#items[(this.#head + i) & this.#mask] !== item) continue;
      for (let j = i; j < this.#size - 1; j++) {
        this.#items[(this.#head + j) & this.#mask] = this.#items[(this.#head + j + 1) & this.#mask];
      }
      this.#size--;
      this.#items[(this.#head + this.#size) & this.#mask] = undefined;
      return true;
    }
    return false;
  }

  /** Empties the queue and gives back the memory it grew to. */
  clear(): void {
    this.#items = new Array(INITIAL);
    this.#mask = INITIAL - 1;
    this.#head = 0;
    this.#size = 0;
  }

  #grow(): void {
    const old = this.#items;
    const items: (T | undefined)[] = new Array(old.length * 2);
    for (let i = 0; i < this.#size; i++) items[i] = old[(this.#head + i) & this.#mask];
    this.#items = items;
    this.#head = 0;
    this.#mask = items.length - 1;
  }
}
