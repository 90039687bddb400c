import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ContextFeed, historySize } from '../../client/src/context/feed';
import type { ContextChunk } from '../../server/src/shared/protocol';
import { FakeClock, settle } from './fakeClock';

function chunk(path: string, text = `text of ${path}\n`, startLine = 0): ContextChunk {
  return { path, uri: `file:///w/${path}`, startLine, text, kind: 'file' };
}

/** A feed on a fake clock whose sender records every notification. */
function setup(options: { connected?: boolean } = {}) {
  const clock = new FakeClock();
  const sent: ContextChunk[][] = [];
  const state = { enabled: true, connected: options.connected ?? true, excluded: new Set<string>() };
  const feed = new ContextFeed({
    clock,
    batchMs: 100,
    enabled: () => state.enabled,
    allowed: (c) => !state.excluded.has(c.path),
    send: (chunks) => {
      if (!state.connected) return Promise.resolve(false);
      sent.push(chunks);
      return Promise.resolve(true);
    },
  });
  const paths = (): string[][] => sent.map((n) => n.map((c) => c.path));
  return { clock, sent, state, feed, paths };
}

describe('context feed', () => {
  it('batches offers into one notification, oldest first', async () => {
    const { clock, feed, paths } = setup();
    feed.offer(chunk('a.ts'));
    feed.offer(chunk('b.ts'));
    await clock.advance(50);
    assert.deepEqual(paths(), []);
    feed.offer(chunk('c.ts'));
    await clock.advance(100);
    assert.deepEqual(paths(), [['a.ts', 'b.ts', 'c.ts']]);
  });

  it('sends a chunk once, and again only when its text or place changed', async () => {
    const { clock, feed, paths } = setup();
    feed.offer(chunk('a.ts'));
    feed.offer(chunk('a.ts'));
    await clock.runAll();
    feed.offer(chunk('a.ts'));
    await clock.runAll();
    assert.deepEqual(paths(), [['a.ts']]);
    feed.offer(chunk('a.ts', 'edited\n'));
    feed.offer(chunk('a.ts', 'edited\n', 40));
    await clock.runAll();
    assert.deepEqual(paths(), [['a.ts'], ['a.ts', 'a.ts']]);
  });

  it('sends nothing while context is off, and forgets what it had when turned off', async () => {
    const { clock, feed, state, sent } = setup();
    feed.offer(chunk('a.ts'));
    state.enabled = false;
    feed.settingsChanged();
    feed.offer(chunk('b.ts'));
    await clock.runAll();
    assert.equal(sent.length, 0);
    state.enabled = true;
    feed.settingsChanged();
    feed.serverStarted();
    await clock.runAll();
    assert.equal(sent.length, 0, 'nothing from before it was turned off comes back');
  });

  it('drops a pending chunk when context is turned off before the batch goes', async () => {
    const { clock, feed, state, sent } = setup();
    feed.offer(chunk('a.ts'));
    state.enabled = false;
    await clock.runAll();
    assert.equal(sent.length, 0);
  });

  it('checks privacy on offer and again at send time', async () => {
    const { clock, feed, state, paths } = setup();
    state.excluded.add('.env');
    feed.offer(chunk('.env'));
    feed.offer(chunk('a.ts'));
    feed.offer(chunk('b.ts'));
    state.excluded.add('b.ts');
    await clock.runAll();
    assert.deepEqual(paths(), [['a.ts']]);
  });

  it('gives a new server what is still current, without what has since been excluded', async () => {
    const { clock, feed, state, paths } = setup();
    feed.offer(chunk('a.ts'));
    feed.offer(chunk('b.ts'));
    await clock.runAll();
    state.excluded.add('a.ts');
    feed.settingsChanged();
    feed.serverStarted();
    await clock.runAll();
    assert.deepEqual(paths(), [['a.ts', 'b.ts'], ['b.ts']]);
  });

  it('keeps what no server took for the next one', async () => {
    const { clock, feed, state, paths } = setup({ connected: false });
    feed.offer(chunk('a.ts'));
    await clock.runAll();
    assert.deepEqual(paths(), []);
    state.connected = true;
    feed.serverStarted();
    await clock.runAll();
    assert.deepEqual(paths(), [['a.ts']]);
  });

  it('keeps a bounded history; a chunk that fell out may be sent again', async () => {
    const { clock, feed, sent } = setup();
    for (let i = 0; i <= historySize; i++) feed.offer(chunk(`f${i}.ts`));
    await clock.runAll();
    assert.equal(sent.flat().length, historySize, 'the oldest fell out before the batch went');
    assert.equal(sent[0][0].path, 'f1.ts');
    feed.serverStarted();
    await clock.runAll();
    assert.equal(sent.at(-1)?.length, historySize);
    assert.equal(sent.at(-1)?.[0].path, 'f1.ts');
    feed.offer(chunk('f0.ts'));
    await clock.runAll();
    assert.deepEqual(
      sent.at(-1)?.map((c) => c.path),
      ['f0.ts'],
    );
  });

  it('flush hands over what is pending at once; a failing sender loses nothing for the next server', async () => {
    const clock = new FakeClock();
    let fail = true;
    const sent: string[] = [];
    const feed = new ContextFeed({
      clock,
      enabled: () => true,
      allowed: () => true,
      send: (chunks) =>
        fail ? Promise.reject(new Error('connection closed')) : Promise.resolve(sent.push(...chunks.map((c) => c.path)) > 0),
    });
    feed.offer(chunk('a.ts'));
    await feed.flush();
    assert.deepEqual(sent, []);
    fail = false;
    feed.serverStarted();
    await feed.flush();
    assert.deepEqual(sent, ['a.ts']);
    feed.dispose();
    feed.offer(chunk('b.ts'));
    await settle();
    assert.equal(clock.pending, 0);
  });
});
