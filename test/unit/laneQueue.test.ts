import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LaneQueue } from '../../server/src/host/llama/laneQueue';

/** A task that records its start and end and finishes when told. */
function gated(log: string[], name: string): { task: () => Promise<string>; finish: () => void } {
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  return {
    task: async () => {
      log.push(`${name}+`);
      await done;
      log.push(`${name}-`);
      return name;
    },
    finish: () => finish(),
  };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('LaneQueue', () => {
  it('runs two lanes side by side, each lane in order', async () => {
    const q = new LaneQueue();
    const log: string[] = [];
    const chat = gated(log, 'chat');
    const c1 = gated(log, 'c1');
    const c2 = gated(log, 'c2');
    const results = [q.lane('chat', chat.task), q.lane('completion', c1.task), q.lane('completion', c2.task)];
    await tick();
    assert.deepEqual(log, ['chat+', 'c1+'], 'the completion starts while the chat runs; the second waits for the first');
    c1.finish();
    await tick();
    assert.deepEqual(log, ['chat+', 'c1+', 'c1-', 'c2+']);
    c2.finish();
    chat.finish();
    assert.deepEqual(await Promise.all(results), ['chat', 'c1', 'c2']);
  });

  it('run() waits for every lane and holds back what is queued after it', async () => {
    const q = new LaneQueue();
    const log: string[] = [];
    const chat = gated(log, 'chat');
    const unload = gated(log, 'unload');
    const after = gated(log, 'after');
    const results = [q.lane('chat', chat.task), q.run(unload.task), q.lane('completion', after.task)];
    await tick();
    assert.deepEqual(log, ['chat+']);
    chat.finish();
    await tick();
    assert.deepEqual(log, ['chat+', 'chat-', 'unload+']);
    unload.finish();
    await tick();
    await tick();
    assert.deepEqual(log.slice(-2), ['unload-', 'after+']);
    after.finish();
    await Promise.all(results);
  });

  it('a failed task does not stop the queue', async () => {
    const q = new LaneQueue();
    const failed = q.lane('chat', () => Promise.reject(new Error('boom')));
    await assert.rejects(failed, /boom/);
    assert.equal(await q.lane('chat', () => Promise.resolve(1)), 1);
    assert.equal(await q.run(() => Promise.resolve(2)), 2);
  });
});
