import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { processPresence } from '../../server/src/shared/processes';

describe('processPresence', () => {
  it('finds this process and not one that has ended', () => {
    assert.equal(processPresence(process.pid), 'ours');
    const ended = spawnSync(process.execPath, ['-e', '']).pid;
    assert.ok(ended);
    assert.equal(processPresence(ended), 'none');
  });
});
