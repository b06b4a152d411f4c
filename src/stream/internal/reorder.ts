// The reorder window of ordered stages: a ring buffer indexed by position,
// which allocates nothing per item once it has grown to the stage's bound.

/**
 * Values keyed by a growing index, read in index order: the reorder window
 * of an ordered stage. Every live index lies in [base, base + capacity).
 */
export class Reorder<V> {
  private values: (V | undefined)[] = new Array(8);
  private filled: Uint8Array = new Uint8Array(8);
  private mask = 7;
  /** The next index to read. */
  base = 0;

  set(index: number, value: V): void {
    while (index - this.base > this.mask) this.grow();
    const i = index & this.mask;
    this.values[i] = value;
    this.filled[i] = 1;
  }

  /** Whether the value at `base` is there. */
  ready(): boolean {
    return this.filled[this.base & this.mask] === 1;
  }

  /** Takes the value at `base` (which must be ready) and moves on. */
  take(): V {
    const i = this.base++ & this.mask;
    const value = this.values[i] as V;
    this.values[i] = undefined;
    this.filled[i] = 0;
    return value;
  }

  clear(): void {
    this.values = new Array(8);
    this.filled = new Uint8Array(8);
    this.mask = 7;
  }

  private grow(): void {
    const size = (this.mask + 1) * 2;
    const values = new Array<V | undefined>(size);
    const filled = new Uint8Array(size);
    for (let j = this.base; j <= this.base + this.mask; j++) {
      values[j & (size - 1)] = this.values[j & this.mask];
      filled[j & (size - 1)] = this.filled[j & this.mask]!;
    }
    this.values = values;
    this.filled = filled;
    this.mask = size - 1;
  }
}
