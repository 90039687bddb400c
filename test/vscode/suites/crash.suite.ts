import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import * as vscode from 'vscode';
import { api, recordStates, waitForClientState, waitForState, waitForStatus } from './helpers';
import { isAlive } from '../../fixtures/processes';

describe('server lifecycle', () => {
  it('Restart Server ends the old server process and brings the model back', async () => {
    const llm = await api();
    await waitForState(llm, 'ready');
    const pid = llm.getServerPid();
    assert.ok(pid, 'the server runs');
    await vscode.commands.executeCommand('localLlm.restartServer');
    assert.equal(isAlive(pid), false, `the old server ${pid} is gone once the restart returns`);
    await waitForClientState(llm, 'running');
    await waitForState(llm, 'ready');
    assert.notEqual(llm.getServerPid(), pid);
  });

  it('shows a crash, restarts the server, and loads the model again', async () => {
    const llm = await api();
    await waitForState(llm, 'ready');
    const pid = llm.getServerPid();
    assert.ok(pid, 'the server runs');
    const crashed = waitForClientState(llm, 'crashed');
    process.kill(pid, 'SIGKILL');
    await crashed;
    assert.equal(llm.getStatusView()?.key, 'crashed');
    assert.equal(llm.getStatus(), null);
    await waitForClientState(llm, 'running');
    await waitForState(llm, 'ready');
    assert.notEqual(llm.getServerPid(), pid);
    assert.ok(llm.getStatusView()?.tooltip.includes('crashed 1 time'));
  });

  it('a model host killed with kill -9 comes back by itself on a new host, without a request and without an error', async () => {
    const llm = await api();
    const ready = await waitForState(llm, 'ready');
    const pid = ready.memory.hostPid;
    assert.ok(pid, 'the model host runs');
    const seen = recordStates(llm);
    try {
      process.kill(pid, 'SIGKILL');
      const back = await waitForStatus(
        llm,
        (s) => s.counters.hostCrashes === ready.counters.hostCrashes + 1 && s.state === 'ready',
        'the model back after the host crash',
      );
      assert.notEqual(back.memory.hostPid, pid);
      assert.ok(!isAlive(pid), 'the killed host is gone');
      assert.ok(!seen.states.includes('error'), `states seen: ${seen.states.join(' ')}`);
      assert.ok(seen.states.includes('loading'), `states seen: ${seen.states.join(' ')}`);
      assert.equal(back.counters.loads, ready.counters.loads + 1);
    } finally {
      seen.dispose();
    }
  });
});
