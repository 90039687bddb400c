import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import * as vscode from 'vscode';
import { api, recordStates, waitForState } from './helpers';

describe('sleep and wake through the commands', () => {
  it('Sleep Now puts the model to sleep and reports what it freed', async () => {
    const llm = await api();
    const before = await waitForState(llm, 'ready');
    await vscode.commands.executeCommand('localLlm.sleepNow');
    const asleep = await waitForState(llm, 'sleeping');
    assert.equal(asleep.counters.sleeps, before.counters.sleeps + 1);
    assert.ok(asleep.lastSleepFreed, 'a sleep reports what it freed');
    assert.ok(asleep.asleepSince !== null);
    if (asleep.sleepMode === 'deep') assert.equal(asleep.memory.hostRssBytes, null, 'deep sleep ends the model process');
    const view = llm.getStatusView();
    assert.equal(view?.key, 'sleeping');
    assert.equal(view?.command, 'localLlm.wake');
  });

  it('Wake Up goes through waking back to ready', async () => {
    const llm = await api();
    const asleep = await waitForState(llm, 'sleeping');
    const seen = recordStates(llm);
    try {
      await vscode.commands.executeCommand('localLlm.wake');
      const awake = await waitForState(llm, 'ready');
      assert.deepEqual(seen.states.filter((s) => s === 'waking' || s === 'ready').slice(0, 2), ['waking', 'ready']);
      assert.equal(awake.counters.wakes, asleep.counters.wakes + 1);
      assert.ok(awake.counters.lastWakeMs !== null);
      assert.equal(llm.getStatusView()?.key === 'ready' || llm.getStatusView()?.key === 'generating', true);
    } finally {
      seen.dispose();
    }
  });

  it('the API sleeps and wakes the same way', async () => {
    const llm = await api();
    await waitForState(llm, 'ready');
    assert.equal((await llm.sleep()).state, 'sleeping');
    assert.equal((await llm.wake()).state, 'ready');
  });
});
