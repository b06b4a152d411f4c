import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { type GroupMember, SignalGroup, SignalGroups } from '../../src/internal/signal-group.ts';

class Member implements GroupMember<Member> {
  prev: Member | undefined = undefined;
  next: Member | undefined = undefined;
  group: SignalGroup<Member> | undefined = undefined;
  constructor(readonly name: string) {}
}

const listeners = (signal: AbortSignal) => getEventListeners(signal, 'abort').length;

function names(group: SignalGroup<Member>): string[] {
  const out: string[] = [];
  for (let m = group.head; m !== undefined; m = m.next) out.push(m.name);
  const back: string[] = [];
  for (let m = group.tail; m !== undefined; m = m.prev) back.unshift(m.name);
  assert.deepEqual(back, out, 'the links agree both ways');
  assert.equal(group.count, out.length);
  return out;
}

describe('SignalGroup', () => {
  it('lists its members in the order they joined and unlinks any of them', () => {
    const g = new SignalGroup<Member>(undefined);
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((n) => new Member(n)) as [
      Member,
      Member,
      Member,
      Member,
    ];
    for (const m of [a, b, c, d]) g.add(m);
    assert.deepEqual(names(g), ['a', 'b', 'c', 'd']);
    assert.equal(b.group, g);
    assert.equal(g.remove(b), false);
    assert.equal(b.group, undefined);
    assert.deepEqual(names(g), ['a', 'c', 'd']);
    assert.equal(g.remove(a), false);
    assert.equal(g.remove(d), false);
    assert.deepEqual(names(g), ['c']);
    assert.equal(g.remove(c), true);
    assert.deepEqual(names(g), []);
    g.add(b);
    assert.deepEqual(names(g), ['b']);
  });
});

describe('SignalGroups', () => {
  it('adds one listener per signal, however many members share it', () => {
    const groups = new SignalGroups<Member>(() => {});
    const one = new AbortController();
    const two = new AbortController();
    const g1 = groups.of(one.signal);
    const g2 = groups.of(two.signal);
    for (let i = 0; i < 20; i++)
      groups.of(i % 2 === 0 ? one.signal : two.signal).add(new Member(`${i}`));
    assert.notEqual(g1, g2);
    assert.equal(groups.of(one.signal), g1);
    assert.equal(g1.count, 10);
    assert.equal(g2.count, 10);
    assert.deepEqual([g1.id, g2.id], [1, 2]);
    assert.equal(listeners(one.signal), 1);
    assert.equal(listeners(two.signal), 1);
  });

  it('leaves no listener once the last member leaves, and makes a new group after', () => {
    const groups = new SignalGroups<Member>(() => assert.fail('no abort'));
    const controller = new AbortController();
    const members = ['a', 'b', 'c'].map((n) => new Member(n));
    const g = groups.of(controller.signal);
    for (const m of members) g.add(m);
    for (const m of members) groups.leave(m);
    assert.equal(listeners(controller.signal), 0);
    groups.leave(members[0]!); // not in a group: nothing to do
    const again = groups.of(controller.signal);
    assert.notEqual(again, g);
    assert.equal(listeners(controller.signal), 1);
  });

  it('calls onAbort once with the group when its signal aborts', () => {
    const seen: string[][] = [];
    const groups = new SignalGroups<Member>((g) => seen.push(names(g)));
    const controller = new AbortController();
    groups.of(controller.signal).add(new Member('a'));
    groups.of(controller.signal).add(new Member('b'));
    controller.abort();
    controller.signal.dispatchEvent(new Event('abort'));
    assert.deepEqual(seen, [['a', 'b']]);
    assert.equal(listeners(controller.signal), 0);
  });

  it('drop removes the listener and the group, and its members leaving later touch no newer group', () => {
    const groups = new SignalGroups<Member>(() => {});
    const controller = new AbortController();
    const old = new Member('old');
    const g = groups.of(controller.signal);
    g.add(old);
    groups.drop(g);
    assert.equal(listeners(controller.signal), 0);
    const newer = groups.of(controller.signal);
    assert.notEqual(newer, g);
    newer.add(new Member('new'));
    groups.leave(old);
    assert.equal(groups.of(controller.signal), newer);
    assert.equal(listeners(controller.signal), 1);
  });

  it('a group without a signal can be dropped like any other', () => {
    const groups = new SignalGroups<Member>(() => {});
    const g = new SignalGroup<Member>(undefined);
    const m = new Member('m');
    g.add(m);
    groups.leave(m);
    assert.equal(g.count, 0);
    assert.equal(g.id, 0);
  });
});
