// Background completion work on a fake clock: a prefill waits for a quiet moment (no key for
// quietMs, no completion running), a keystroke stops the task running and a stopped prefill runs
// again at the next quiet moment, and nothing runs while the door (the gate) says no.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BackgroundWork, type BackgroundDoor } from '../../server/src/completion/background';
import { trimCapped } from '../../server/src/completion/capped';
import { workspacePath } from '../../server/src/completion/workspacePath';
import { FakeClock, settle } from './fakeClock';

function setup(open = { value: true }, busy = { value: false }): { clock: FakeClock; work: BackgroundWork; logs: string[] } {
  const clock = new FakeClock(0);
  const logs: string[] = [];
  const door: BackgroundDoor = (fn) => (open.value ? fn(new AbortController().signal) : null);
  const work = new BackgroundWork({ door, clock, quietMs: 1000, busy: () => busy.value, log: (l) => logs.push(l) });
  return { clock, work, logs };
}

/** A task that runs until aborted (then reports it stopped) or until finished by hand. */
function task(): { run: (signal: AbortSignal) => Promise<boolean>; starts: number; finish(): void } {
  let finish = (): void => undefined;
  const t = {
    starts: 0,
    run: (signal: AbortSignal): Promise<boolean> => {
      t.starts++;
      return new Promise<boolean>((resolve) => {
        finish = () => resolve(true);
        signal.addEventListener('abort', () => resolve(false), { once: true });
      });
    },
    finish: () => finish(),
  };
  return t;
}

describe('BackgroundWork', () => {
  it('runs a quiet task only once no key came for the quiet time', async () => {
    const { clock, work } = setup();
    const t = task();
    work.touch();
    work.whenQuiet(t.run);
    await clock.advance(600);
    work.touch();
    await clock.advance(900);
    assert.equal(t.starts, 0);
    await clock.advance(100);
    assert.equal(t.starts, 1);
    t.finish();
    await settle();
    assert.equal(work.active, false);
  });

  it('a task may ask for a shorter pause (the next suggestion), and a key within it puts it off', async () => {
    const { clock, work } = setup();
    const t = task();
    work.touch();
    work.whenQuiet(t.run, 250);
    await clock.advance(200);
    work.touch();
    await clock.advance(200);
    assert.equal(t.starts, 0);
    await clock.advance(50);
    assert.equal(t.starts, 1);
  });

  it('a keystroke stops the task, which runs again at the next quiet moment', async () => {
    const { clock, work } = setup();
    const t = task();
    work.whenQuiet(t.run);
    await clock.advance(1000);
    assert.equal(t.starts, 1);
    work.stop();
    await settle();
    assert.equal(work.active, false);
    await clock.advance(999);
    assert.equal(t.starts, 1);
    await clock.advance(1);
    assert.equal(t.starts, 2);
  });

  it('waits while a completion runs and drops a task the door refuses', async () => {
    const busy = { value: true };
    const open = { value: true };
    const { clock, work } = setup(open, busy);
    const t = task();
    work.whenQuiet(t.run);
    await clock.advance(3000);
    assert.equal(t.starts, 0);
    busy.value = false;
    await clock.advance(1000);
    assert.equal(t.starts, 1);
    t.finish();
    await settle();
    open.value = false;
    const refused = task();
    work.whenQuiet(refused.run);
    await clock.advance(5000);
    assert.equal(refused.starts, 0);
  });
});

describe('trimCapped', () => {
  it('keeps whole lines once there is a line break, else the whole tokens given', () => {
    assert.equal(trimCapped('foo(a,\n  b'), 'foo(a,');
    assert.equal(trimCapped('a\nb\nc'), 'a\nb');
    assert.equal(trimCapped('total + '), 'total + ');
  });
});

describe('workspacePath', () => {
  const folders = [
    { uri: 'file:///w/shop', name: 'shop' },
    { uri: 'file:///w/shop/packages/api', name: 'api' },
  ];
  it('names the file relative to the deepest folder holding it, and that folder', () => {
    assert.deepEqual(workspacePath('file:///w/shop/src/cart.ts', folders), { path: 'src/cart.ts', repoName: 'shop' });
    assert.deepEqual(workspacePath('file:///w/shop/packages/api/a%20b.ts', folders), { path: 'a b.ts', repoName: 'api' });
    assert.deepEqual(workspacePath('file:///elsewhere/x.py', folders), { path: 'x.py', repoName: 'shop' });
    assert.deepEqual(workspacePath('untitled:Untitled-1', []), { path: 'untitled:Untitled-1', repoName: 'workspace' });
  });
});
