import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import * as vscode from 'vscode';
import { api, waitForClientState, waitForState } from './helpers';
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
});
