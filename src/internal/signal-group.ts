// One abort listener per signal, however many tasks share it: an executor
// that takes thousands of tasks under one fanOut signal adds one listener,
// not thousands, and finds the tasks to cancel without a closure per task.

import { listen, noop } from './abort.ts';

/** What a {@link SignalGroup} links: the fields it owns on each member. */
export interface GroupMember<M extends GroupMember<M>> {
  prev: M | undefined;
  next: M | undefined;
  group: SignalGroup<M> | undefined;
}

/**
 * SignalGroup lists, in the order they joined, the members that share one
 * AbortSignal (none, for a group of unsignalled members). The links live on
 * the members, so joining and leaving allocate nothing and cost O(1).
 */
export class SignalGroup<M extends GroupMember<M>> {
  head: M | undefined = undefined;
  tail: M | undefined = undefined;
  count = 0;
  /** Removes the group's listener from its signal (a no-op once removed, or without a signal). */
  unlisten: () => void = noop;

  constructor(
    readonly signal: AbortSignal | undefined,
    /** Unique within its {@link SignalGroups}, from 1 (0 for a group made by hand). */
    readonly id = 0,
  ) {}

  /** Appends `m`, which must be in no group. */
  add(m: M): void {
    m.group = this;
    m.prev = this.tail;
    if (this.tail !== undefined) this.tail.next = m;
    else this.head = m;
    this.tail = m;
    this.count++;
  }

  /** Unlinks `m`, which must be in this group; returns true when it was the last one. */
  remove(m: M): boolean {
    if (m.prev !== undefined) m.prev.next = m.next;
    else this.head = m.next;
    if (m.next !== undefined) m.next.prev = m.prev;
    else this.tail = m.prev;
    m.prev = m.next = m.group = undefined;
    return --this.count === 0;
  }
}

/**
 * SignalGroups keeps one {@link SignalGroup} per AbortSignal, each with one
 * abort listener that calls `onAbort(group)`. A group lives until its last
 * member leaves or {@link SignalGroups.drop} removes it; either removes its
 * listener, so nothing is left on the caller's signal.
 */
export class SignalGroups<M extends GroupMember<M>> {
  private readonly groups = new Map<AbortSignal, SignalGroup<M>>();
  // Tasks come in runs under one signal: skip the map lookup for those.
  private lastSignal: AbortSignal | undefined;
  private lastGroup: SignalGroup<M> | undefined;
  private seq = 0;

  constructor(private readonly onAbort: (group: SignalGroup<M>) => void) {}

  /** Returns the group of `signal`, made (with its listener) if there is none. */
  of(signal: AbortSignal): SignalGroup<M> {
    let group = signal === this.lastSignal ? this.lastGroup : this.groups.get(signal);
    if (group === undefined) {
      const g = new SignalGroup<M>(signal, ++this.seq);
      g.unlisten = listen(signal, () => this.onAbort(g));
      this.groups.set(signal, g);
      group = g;
    }
    this.lastSignal = signal;
    this.lastGroup = group;
    return group;
  }

  /** Takes `m` out of its group, if any; the last member to leave drops the group. */
  leave(m: M): void {
    const group = m.group;
    if (group?.remove(m)) this.drop(group);
  }

  /** Removes `group` and its listener; its members stay linked to it. */
  drop(group: SignalGroup<M>): void {
    group.unlisten();
    // Only if it is still the signal's group: a dropped group's members may leave later.
    if (group.signal !== undefined && this.groups.get(group.signal) === group) {
      this.groups.delete(group.signal);
    }
    if (this.lastGroup === group) this.lastSignal = this.lastGroup = undefined;
  }
}
