import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { processPresence } from '../../server/src/shared/processes';

describe('processPresence', () => {
  it('finds this process and not one that has ended', () => {
    assert.equal(processPresence(process.pid), 'ours');
    const ended = spawnSync(process.execPath, ['-e', '']).pid;
    assert.ok(ended);
    assert.equal(processPresence(ended), 'none');
  });

  it('takes an exited process nobody reaped (a zombie) for gone', { skip: process.platform !== 'linux' }, async () => {
    // The shell starts a child that ends at once, then becomes `sleep`, which never reaps it.
    const parent = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 5'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const [line] = (await once(parent.stdout, 'data')) as [Buffer];
      const zombie = Number(line.toString().trim());
      let stat = '';
      for (let i = 0; i < 100 && !/\) Z /.test(stat); i++) {
        await new Promise((r) => setTimeout(r, 20));
        stat = readFileSync(`/proc/${zombie}/stat`, 'utf8');
      }
      assert.match(stat, /\) Z /, 'the child became a zombie');
      assert.equal(processPresence(zombie), 'none');
    } finally {
      parent.kill('SIGKILL');
    }
  });
});
