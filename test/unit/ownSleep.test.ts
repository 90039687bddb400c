// A sleep a window decides for an engine of its own: save first, then end the engine (deep) or
// free its model (light); a light sleep on an engine that died meanwhile still counts as slept.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Engine, EngineExit } from '../../server/src/engine/types';
import { ownSleep } from '../../server/src/engine/ownSleep';
import type { HostStats } from '../../server/src/engine/types';

const freed: HostStats = { rssBytes: 10, vramUsedBytes: null, vramTotalBytes: null, loaded: false };
const ended: EngineExit = { code: 0, signal: null, expected: true, hung: false, message: 'The model host stopped.' };

/** The calls ownSleep makes, in order; `unload` fails when given an error, and may end the engine first. */
function engineThatRecords(calls: string[], unload: { fails?: Error; endsFirst?: boolean } = {}): Engine {
  let exit: EngineExit | null = null;
  const engine = {
    get exit() {
      return exit;
    },
    shutdown: (timeoutMs?: number) => {
      calls.push(`shutdown ${timeoutMs}`);
      exit = ended;
      return Promise.resolve(ended);
    },
    unload: () => {
      calls.push('unload');
      if (unload.endsFirst) exit = { ...ended, expected: false, message: 'The model host was killed.' };
      return unload.fails ? Promise.reject(unload.fails) : Promise.resolve(freed);
    },
  };
  return engine as unknown as Engine;
}

describe('ownSleep', () => {
  it('deep: saves, then shuts the engine down within the bound; nothing is kept', async () => {
    const calls: string[] = [];
    const engine = engineThatRecords(calls);
    const slept = await ownSleep(engine, { deep: true, shutdownMs: 5000, save: async () => void calls.push('save') });
    assert.deepEqual(calls, ['save', 'shutdown 5000']);
    assert.deepEqual(slept, { kept: false, stats: null });
  });

  it('light: saves, then frees the model and keeps the engine, with its figures', async () => {
    const calls: string[] = [];
    const slept = await ownSleep(engineThatRecords(calls), { deep: false, shutdownMs: 5000, save: async () => void calls.push('save') });
    assert.deepEqual(calls, ['save', 'unload']);
    assert.deepEqual(slept, { kept: true, stats: freed });
  });

  it('light on an engine that died under the unload: slept all the same, nothing kept', async () => {
    const engine = engineThatRecords([], { fails: new Error('The model host was killed.'), endsFirst: true });
    assert.deepEqual(await ownSleep(engine, { deep: false, shutdownMs: 5000, save: () => Promise.resolve() }), {
      kept: false,
      stats: null,
    });
  });

  it('light on a live engine whose unload failed: the failure is the sleep’s', async () => {
    const engine = engineThatRecords([], { fails: new Error('The model could not be freed.') });
    await assert.rejects(ownSleep(engine, { deep: false, shutdownMs: 5000, save: () => Promise.resolve() }), /could not be freed/);
  });
});
