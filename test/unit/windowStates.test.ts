import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WindowStates } from '../../server/src/host/llama/windowStates';

const cap = 1000;

describe('WindowStates', () => {
  it('a first window takes the sequence with nothing to save or restore', () => {
    const w = new WindowStates<string>(4);
    assert.deepEqual(w.plan('a'), { save: null, restore: null });
    w.hold('a');
    assert.deepEqual(w.plan('a'), { save: null, restore: null }, 'the holder switches nothing');
  });

  it('A, B, A: B saves A, A gets its own state back (taken out), and saves B', () => {
    const w = new WindowStates<string>(4);
    w.hold('a');
    assert.deepEqual(w.plan('b'), { save: 'a', restore: null });
    assert.deepEqual(w.keep('a', 100, 'file-a', cap), []);
    w.hold('b');
    assert.deepEqual(w.plan('a'), { save: 'b', restore: 'file-a' });
    assert.deepEqual(w.windows(), [], 'a restored state is no longer kept');
    assert.deepEqual(w.keep('b', 100, 'file-b', cap), []);
    w.hold('a');
    assert.equal(w.holder, 'a');
    assert.deepEqual(w.windows(), ['b']);
  });

  it('never gives one window’s state to another', () => {
    const w = new WindowStates<string>(4);
    w.hold('a');
    w.keep('a', 100, 'file-a', cap);
    w.hold('b');
    assert.deepEqual(w.plan('c'), { save: 'b', restore: null });
    w.hold('c');
    assert.equal(w.plan('b').restore, null);
    assert.equal(w.plan('a').restore, 'file-a');
  });

  it('keeps at most maxWindows states, the least recently saved going first', () => {
    const w = new WindowStates<string>(2);
    assert.deepEqual(w.keep('a', 10, 'fa', cap), []);
    assert.deepEqual(w.keep('b', 10, 'fb', cap), []);
    assert.deepEqual(w.keep('c', 10, 'fc', cap), ['fa']);
    // b saved again is the most recent: c goes next.
    assert.deepEqual(w.keep('b', 10, 'fb2', cap), ['fb']);
    assert.deepEqual(w.keep('d', 10, 'fd', cap), ['fc']);
    assert.deepEqual(w.windows(), ['b', 'd']);
  });

  it('keeps the states within the byte cap; one alone over the cap is not kept', () => {
    const w = new WindowStates<string>(4);
    w.keep('a', 400, 'fa', cap);
    w.keep('b', 400, 'fb', cap);
    assert.deepEqual(w.keep('c', 400, 'fc', cap), ['fa']);
    assert.equal(w.totalBytes, 800);
    assert.deepEqual(w.keep('d', 2000, 'fd', cap), ['fb', 'fc', 'fd']);
    assert.equal(w.count, 0);
    assert.deepEqual(w.keep('e', 10, 'fe', 0), ['fe'], 'a cap of 0 keeps nothing');
  });

  it('a detached window’s state is given back for deletion, and it holds the sequence no more', () => {
    const w = new WindowStates<string>(4);
    w.keep('a', 10, 'fa', cap);
    w.hold('b');
    assert.equal(w.forget('a'), 'fa');
    assert.equal(w.forget('a'), null);
    assert.equal(w.forget('b'), null);
    assert.equal(w.holder, null);
    assert.deepEqual(w.plan('c'), { save: null, restore: null }, 'nobody’s tokens are saved');
  });

  it('clear gives back every state and frees the sequence (an unload)', () => {
    const w = new WindowStates<string>(4);
    w.keep('a', 10, 'fa', cap);
    w.keep('b', 10, 'fb', cap);
    w.hold('c');
    assert.deepEqual(w.clear(), ['fa', 'fb']);
    assert.equal(w.holder, null);
    assert.equal(w.count, 0);
  });

  it('find names the least recently saved state its test accepts, and takes nothing out (a chat picks the conversation it continues)', () => {
    const w = new WindowStates<{ turns: number }>(4);
    w.keep('a', 10, { turns: 1 }, cap);
    w.keep('b', 10, { turns: 3 }, cap);
    w.keep('c', 10, { turns: 3 }, cap);
    assert.equal(
      w.find((v) => v.turns === 3),
      'b',
    );
    assert.equal(
      w.find((v) => v.turns === 2),
      null,
    );
    assert.equal(w.count, 3);
    assert.deepEqual(w.plan('b'), { save: null, restore: { turns: 3 } });
    assert.equal(
      w.find((v) => v.turns === 3),
      'c',
    );
  });
});
