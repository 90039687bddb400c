import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CompletionPriority, typingHoldMs, type CompletionWork } from '../../server/src/host/completionPriority';

type Work = CompletionWork<string> & { id: string };

const work = (id: string, window: string, kind: Work['kind'] = 'completion'): Work => ({ id, window, kind });
const ids = (list: Work[]): string[] => list.map((w) => w.id);

describe('CompletionPriority', () => {
  it('a completion request of the typed window stops the queued and running work of every other window, never its own', () => {
    const p = new CompletionPriority<string>();
    p.activity('A', 0, []);
    const pending = [work('b1', 'B'), work('b2', 'B', 'background'), work('c1', 'C'), work('a0', 'A'), work('a1', 'A', 'background')];
    const admitted = p.admit(work('a2', 'A'), 10, pending);
    assert.equal(admitted.run, true);
    assert.deepEqual(ids(admitted.stop), ['b1', 'b2', 'c1']);
    assert.equal(p.typed(), 'A');
  });

  it('the first completion request of all makes its window the typed one', () => {
    const p = new CompletionPriority<string>();
    assert.deepEqual(p.admit(work('b', 'B'), 0, []), { run: true, stop: [] });
    assert.equal(p.typed(), 'B');
  });

  it('another window’s request runs behind the typed window’s work until that window is quiet for the hold time', () => {
    const p = new CompletionPriority<string>();
    const a1 = work('a1', 'A');
    p.admit(a1, 0, []);
    // B keeps asking while A is being typed in: B's requests stop nothing, A's stop B's.
    const b1 = work('b1', 'B');
    assert.deepEqual(p.admit(b1, 300, [a1]), { run: true, stop: [] });
    assert.equal(p.typed(), 'A');
    assert.deepEqual(ids(p.admit(work('a2', 'A'), 900, [b1]).stop), ['b1']);
    const b2 = work('b2', 'B');
    assert.deepEqual(p.admit(b2, 900 + typingHoldMs - 1, []).stop, []);
    // A quiet for the hold time: the user went to B.
    const a3 = work('a3', 'A', 'background');
    assert.deepEqual(ids(p.admit(work('b3', 'B'), 900 + typingHoldMs, [a3, b2]).stop), ['a3']);
    assert.equal(p.typed(), 'B');
  });

  it('activity moves the typed window at once and stops the background work of the others, not their completions', () => {
    const p = new CompletionPriority<string>();
    p.admit(work('b1', 'B'), 0, []);
    const pending = [work('b1', 'B'), work('b-ring', 'B', 'background'), work('a-next', 'A', 'background')];
    assert.deepEqual(ids(p.activity('A', 1, pending)), ['b-ring']);
    assert.equal(p.typed(), 'A');
    assert.deepEqual(ids(p.admit(work('a1', 'A'), 2, pending).stop), ['b1', 'b-ring']);
  });

  it('background work runs for the typed window, or when there is none, and yields elsewhere', () => {
    const p = new CompletionPriority<string>();
    assert.equal(p.admit(work('b-ring', 'B', 'background'), 0, []).run, true, 'nobody typed yet');
    p.activity('A', 0, []);
    assert.equal(p.admit(work('a-ring', 'A', 'background'), 5000, []).run, true);
    const refused = p.admit(work('b-next', 'B', 'background'), 5000, [work('a1', 'A')]);
    assert.deepEqual(refused, { run: false, stop: [] }, 'it stops nothing either');
    assert.equal(p.typed(), 'A', 'background work does not make its window the typed one');
  });

  it('a window that detached is no longer the typed one', () => {
    const p = new CompletionPriority<string>();
    p.activity('A', 0, []);
    p.activity('B', 1, []);
    p.forget('A');
    assert.equal(p.typed(), 'B', 'another window leaving changes nothing');
    p.forget('B');
    assert.equal(p.typed(), undefined);
    assert.equal(p.admit(work('c', 'C', 'background'), 2, []).run, true);
    assert.deepEqual(p.admit(work('c1', 'C'), 3, [work('d', 'D')]).stop.length, 1, 'C, asking first, is typed now');
  });

  it('turned off, every request runs in arrival order and stops nothing', () => {
    const p = new CompletionPriority<string>(false);
    const pending = [work('b1', 'B'), work('b2', 'B', 'background')];
    p.activity('A', 0, []);
    assert.deepEqual(p.admit(work('a', 'A'), 1, pending), { run: true, stop: [] });
    assert.deepEqual(p.activity('A', 2, pending), []);
    assert.equal(p.admit(work('b3', 'B', 'background'), 3, []).run, true);
  });

  it('over random schedules: the typed window’s completions always run and stop all the others; no work of its own is stopped', () => {
    let seed = 7;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const windows = ['A', 'B', 'C'];
    for (let round = 0; round < 2000; round++) {
      const p = new CompletionPriority<string>();
      let pending: Work[] = [];
      let now = 0;
      for (let step = 0; step < 12; step++) {
        now += random(3) * 600;
        const window = windows[random(3)]!;
        const choice = random(3);
        if (choice === 0) {
          const stopped = p.activity(window, now, pending);
          assert.equal(p.typed(), window);
          assert.ok(stopped.every((w) => w.window !== window && w.kind === 'background'));
          pending = pending.filter((w) => !stopped.includes(w));
          continue;
        }
        const next = work(`${round}-${step}`, window, choice === 1 ? 'completion' : 'background');
        const typedBefore = p.typed();
        const { run, stop } = p.admit(next, now, pending);
        assert.ok(
          stop.every((w) => w.window !== window),
          'never its own window',
        );
        if (next.kind === 'completion') {
          assert.equal(run, true);
          if (p.typed() === window)
            assert.deepEqual(new Set(pending.filter((w) => w.window !== window)), new Set(stop), 'all of the others');
          else assert.deepEqual(stop, [], 'a window that is not the typed one stops nothing');
          if (typedBefore === undefined || typedBefore === window) assert.equal(p.typed(), window);
        } else {
          assert.equal(run, typedBefore === undefined || typedBefore === window);
          assert.equal(p.typed(), typedBefore, 'background work never moves the typed window');
        }
        pending = pending.filter((w) => !stop.includes(w));
        if (run) pending.push(next);
        if (random(4) === 0 && pending.length > 0) pending.splice(random(pending.length), 1);
      }
    }
  });
});
