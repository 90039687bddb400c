// Which ring chunks go into a completion prompt (server/src/host/llama/ringFit.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ringChunksWithin } from '../../server/src/host/llama/ringFit';

describe('ringChunksWithin', () => {
  it('keeps every chunk that fits, in ring order', () => {
    assert.deepEqual(ringChunksWithin([10, 20, 30], 5, 100), [0, 1, 2]);
  });

  it('lets the oldest go first when the budget is spent', () => {
    assert.deepEqual(ringChunksWithin([40, 30, 30, 30], 0, 100), [1, 2, 3]);
    // The header is paid once, whichever chunk is first.
    assert.deepEqual(ringChunksWithin([30, 30, 30], 11, 100), [1, 2]);
  });

  it('passes over one oversized newest chunk instead of emptying the ring', () => {
    const sixteen = Array.from({ length: 16 }, () => 40);
    assert.deepEqual(ringChunksWithin([...sixteen, 6000], 0, 1024), [...sixteen.keys()].slice(-16));
    assert.equal(ringChunksWithin([...sixteen, 6000], 0, 1024).length, 16);
  });

  it('passes over an oversized chunk in the middle and keeps the older ones that fit', () => {
    assert.deepEqual(ringChunksWithin([10, 10, 2000, 10], 0, 1000), [0, 1, 3]);
  });

  it('keeps nothing with no budget, or when the header alone fills it', () => {
    assert.deepEqual(ringChunksWithin([1, 2], 0, 0), []);
    assert.deepEqual(ringChunksWithin([1, 2], 50, 50), []);
  });
});
