import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CompletionPriority, type CompletionWork } from '../../server/src/host/completionPriority';

type Work = CompletionWork<string> & { id: string };

const work = (id: string, window: string, kind: Work['kind'] = 'completion'): Work => ({ id, window, kind });
const ids = (list: Work[]): string[] => list.map((w) => w.id);

describe('CompletionPriority', () => {
  it('a completion request stops the queued and running work of every other window, never its own', () => {
    const p = new CompletionPriority<string>();
    const pending = [work('b1', 'B'), work('b2', 'B', 'background'), work('c1', 'C'), work('a0', 'A'), work('a1', 'A', 'background')];
    const admitted = p.admit(work('a2', 'A'), pending);
    assert.equal(admitted.run, true);
    assert.deepEqual(ids(admitted.stop), ['b1', 'b2', 'c1']);
    assert.equal(p.typed(), 'A');
  });

  it('the newest completion request wins across windows, as within one window', () => {
    const p = new CompletionPriority<string>();
    const a = work('a', 'A');
    assert.deepEqual(ids(p.admit(a, []).stop), []);
    assert.deepEqual(ids(p.admit(work('b', 'B'), [a]).stop), ['a']);
    assert.equal(p.typed(), 'B');
  });

  it('background work runs for the typed window, or when no window was active yet, and yields elsewhere', () => {
    const p = new CompletionPriority<string>();
    assert.equal(p.admit(work('b-ring', 'B', 'background'), []).run, true, 'nobody typed yet');
    p.activity('A', []);
    assert.equal(p.admit(work('a-ring', 'A', 'background'), []).run, true);
    const refused = p.admit(work('b-next', 'B', 'background'), [work('a1', 'A')]);
    assert.deepEqual(refused, { run: false, stop: [] }, 'it stops nothing either');
    assert.equal(p.typed(), 'A', 'background work does not make its window the typed one');
  });

  it('activity in a window stops the background work of the others but lets their completions finish', () => {
    const p = new CompletionPriority<string>();
    p.admit(work('b1', 'B'), []);
    const pending = [work('b1', 'B'), work('b-ring', 'B', 'background'), work('a-next', 'A', 'background')];
    assert.deepEqual(ids(p.activity('A', pending)), ['b-ring']);
    assert.equal(p.typed(), 'A');
  });

  it('a window that detached is no longer the typed one', () => {
    const p = new CompletionPriority<string>();
    p.activity('A', []);
    p.activity('B', []);
    p.forget('B');
    assert.equal(p.typed(), 'A');
    assert.equal(p.admit(work('b', 'B', 'background'), []).run, false);
    p.forget('A');
    assert.equal(p.typed(), undefined);
  });

  it('turned off, every request runs in arrival order and stops nothing', () => {
    const p = new CompletionPriority<string>(false);
    const pending = [work('b1', 'B'), work('b2', 'B', 'background')];
    assert.deepEqual(p.admit(work('a', 'A'), pending), { run: true, stop: [] });
    assert.deepEqual(p.activity('A', pending), []);
    assert.equal(p.admit(work('b3', 'B', 'background'), []).run, true);
  });

  it('over random schedules: the typed window never yields, and only other windows’ work is stopped', () => {
    let seed = 7;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const windows = ['A', 'B', 'C'];
    for (let round = 0; round < 2000; round++) {
      const p = new CompletionPriority<string>();
      let pending: Work[] = [];
      for (let step = 0; step < 12; step++) {
        const window = windows[random(3)]!;
        const choice = random(3);
        if (choice === 0) {
          const stopped = p.activity(window, pending);
          assert.ok(stopped.every((w) => w.window !== window && w.kind === 'background'));
          pending = pending.filter((w) => !stopped.includes(w));
          continue;
        }
        const next = work(`${round}-${step}`, window, choice === 1 ? 'completion' : 'background');
        const { run, stop } = p.admit(next, pending);
        assert.ok(stop.every((w) => w.window !== window), 'never its own window');
        if (next.kind === 'completion') {
          assert.equal(run, true);
          assert.equal(p.typed(), window);
          assert.deepEqual(new Set(pending.filter((w) => w.window !== window)), new Set(stop), 'all of the others');
        } else {
          const typed = p.typed();
          assert.equal(run, typed === undefined || typed === window);
        }
        pending = pending.filter((w) => !stop.includes(w));
        if (run) pending.push(next);
        if (random(4) === 0 && pending.length > 0) pending.splice(random(pending.length), 1);
      }
    }
  });
});
