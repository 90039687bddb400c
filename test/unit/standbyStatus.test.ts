// What the status tooltip says a deep sleep keeps (render.ts), and the wake breakdown line of the
// host's log read back as the benchmark reads it (host/wakeBreakdown.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ModelStatus } from '../../server/src/shared/protocol';
import { renderStatus, type StatusBarInput } from '../../client/src/status/render';
import { formatWakeBreakdown, parseWakeBreakdown, type WakeBreakdown } from '../../server/src/host/wakeBreakdown';
import { MB, modelStatus } from './statusFixture';

function asleep(standbyRssBytes: number | null | undefined, over: Partial<ModelStatus> = {}): StatusBarInput {
  const status = modelStatus({
    state: 'sleeping',
    asleepSince: Date.now(),
    memory: standbyRssBytes !== undefined ? { standbyRssBytes } : {},
    counters: { loads: 1, sleeps: 1, wakes: 0, hostCrashes: 0, lastLoadMs: 1234, lastWakeMs: null },
    ...over,
  });
  return { client: 'running', status, receivedAt: 0, now: 0, crashes: 0, crashMessage: null, contextEnabled: true };
}

describe('what a deep sleep keeps, in the tooltip', () => {
  it('names the standby process and its RAM, and 0 MB of VRAM', () => {
    const view = renderStatus(asleep(38 * MB));
    assert.match(view.tooltip, /Deep sleep keeps 0 MB of VRAM, 38 MB of RAM in a standby process/);
  });

  it('says nothing is kept without a standby (turned off, or a server that sends none)', () => {
    for (const rss of [null, undefined]) assert.match(renderStatus(asleep(rss)).tooltip, /Deep sleep keeps 0 MB of VRAM and no process/);
  });

  it('says nothing of it for a light sleep or a model server', () => {
    assert.doesNotMatch(renderStatus(asleep(38 * MB, { sleepMode: 'light' })).tooltip, /Deep sleep keeps/);
    const server = { kind: 'llama-server', url: 'http://gpu-box:8080', server: 'sleeping', error: null, canSleep: false } as const;
    assert.doesNotMatch(renderStatus(asleep(null, { engine: server })).tooltip, /Deep sleep keeps/);
  });
});

describe('the wake breakdown line', () => {
  it('reads back what it wrote, steps done ahead as none', () => {
    const cases: WakeBreakdown[] = [
      {
        processStartMs: 377,
        importMs: 570,
        getLlamaMs: 655,
        checkMs: 12,
        loadModelMs: 86,
        createContextMs: 58,
        restoreMs: 4,
        host: 'fresh',
      },
      {
        processStartMs: null,
        importMs: null,
        getLlamaMs: null,
        checkMs: 9,
        loadModelMs: 95,
        createContextMs: 59,
        restoreMs: 8,
        host: 'standby',
      },
      {
        processStartMs: null,
        importMs: null,
        getLlamaMs: null,
        checkMs: null,
        loadModelMs: 1,
        createContextMs: 0,
        restoreMs: null,
        host: 'kept',
      },
    ];
    for (const b of cases) assert.deepEqual(parseWakeBreakdown(`2026-12-07T18:52:47Z ${formatWakeBreakdown(b)}`), b);
  });

  it('is null for any other line', () => {
    assert.equal(parseWakeBreakdown('Model host 15047 listening at /tmp/x.sock.'), null);
    assert.equal(parseWakeBreakdown('Wake breakdown: weights 3 ms'), null);
  });
});
