// A shared model host that hangs before its handshake (#24): stopped before it listens, or after it
// listens but before it answers the hello. Stand-in hosts (tiny scripts that stop themselves with
// SIGSTOP, as a host stopped 150 ms after its spawn is) make each case certain. Asserts sentences,
// exits and that the stopped process is gone; never timings.
// Run: node --import tsx --test test/host/hostStart.test.ts
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HostProcess, type HostExit } from '../../server/src/engine/local/hostProcess';
import { hostKey, rendezvousPaths, type HostIdentity } from '../../server/src/shared/rendezvous';
import { processPresence } from '../../server/src/shared/processes';

const linuxOnly = process.platform !== 'linux' && 'SIGSTOP and Unix sockets';
const identity: HostIdentity = { modelPath: '/models/never-loaded.gguf', gpu: 'cpu', gpuLayers: 0, contextSize: 512, threads: 1 };
/** The bound on a host that does not answer (the heartbeat's stats deadline), short here; the start deadline stays long. */
const deadlines = { statsMs: 1500, heartbeatMs: 500, startMs: 30_000 };

let base: string;
let pidFile: string;
let stopBeforeListen: string;
let stopAfterListen: string;

before(() => {
  base = mkdtempSync(path.join(os.tmpdir(), 'llm-host-start-'));
  pidFile = path.join(base, 'pids');
  writeFileSync(pidFile, '');
  stopBeforeListen = path.join(base, 'stop-before-listen.cjs');
  writeFileSync(
    stopBeforeListen,
    `require('node:fs').appendFileSync(process.env.FAKE_HOST_PIDS, process.pid + '\\n');
process.kill(process.pid, 'SIGSTOP');
setInterval(() => undefined, 1000);
`,
  );
  stopAfterListen = path.join(base, 'stop-after-listen.cjs');
  writeFileSync(
    stopAfterListen,
    `require('node:net').createServer(() => undefined).listen(process.env.FAKE_HOST_SOCKET, () => {
  require('node:fs').appendFileSync(process.env.FAKE_HOST_PIDS, process.pid + '\\n');
  process.kill(process.pid, 'SIGSTOP');
});
`,
  );
});

/** Every stand-in host started: let it run and end it, whatever the test did. */
after(() => {
  for (const pid of startedPids()) {
    for (const signal of ['SIGCONT', 'SIGKILL'] as const) {
      try {
        process.kill(pid, signal);
      } catch {
        // Gone already.
      }
    }
  }
  rmSync(base, { recursive: true, force: true });
});

function startedPids(): number[] {
  return readFileSync(pidFile, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map(Number);
}

async function until(ok: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface StandIn {
  host: HostProcess;
  exits: HostExit[];
  lines: string[];
  /** Resolves with the pid of the stand-in this handle started, once it has stopped itself. */
  stoppedPid(): Promise<number>;
}

function standIn(script: string): StandIn {
  const runtime = mkdtempSync(path.join(base, 'rt-'));
  const known = new Set(startedPids());
  const lines: string[] = [];
  const exits: HostExit[] = [];
  const host = new HostProcess({
    hostPath: script,
    log: (line) => lines.push(line),
    deadlines,
    env: {
      ...process.env,
      LOCAL_LLM_RUNTIME_DIR: runtime,
      FAKE_HOST_PIDS: pidFile,
      FAKE_HOST_SOCKET: rendezvousPaths(runtime, hostKey(identity)).socket,
    },
    identity,
    hello: { idleMs: 0, sleepMode: 'deep', stateCapBytes: 0 },
  });
  host.onExit((exit) => exits.push(exit));
  const stoppedPid = async (): Promise<number> => {
    let pid: number | undefined;
    await until(() => (pid = startedPids().find((p) => !known.has(p))) !== undefined, 'the stand-in host to start');
    return pid!;
  };
  return { host, exits, lines, stoppedPid };
}

async function rejectsWith(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof Error, `an Error, not ${String(err)}`);
    assert.match(err.message, pattern);
    return true;
  });
}

describe('a shared host that hangs before its handshake (#24)', { skip: linuxOnly }, () => {
  it(
    'stopped before it listens: found within the stats bound, killed by its pid, a hang (not a crash to restart)',
    { timeout: 120_000 },
    async () => {
      const { host, exits, stoppedPid } = standIn(stopBeforeListen);
      const first = host.stats();
      const pid = await stoppedPid();
      await rejectsWith(
        first,
        /^The model host did not start listening within 1.5 s, so it was stopped; the next request starts a new one\.$/,
      );
      assert.equal(exits.length, 1);
      assert.equal(exits[0].hung, true);
      assert.equal(exits[0].expected, false);
      await until(() => processPresence(pid) === 'none', 'the stopped host to be killed');
    },
  );

  it('stopped after it listens, before its hello: found within the same bound and killed by its pid', { timeout: 120_000 }, async () => {
    const { host, exits, stoppedPid } = standIn(stopAfterListen);
    const first = host.stats();
    const pid = await stoppedPid();
    await rejectsWith(
      first,
      /^The model host did not answer the attach within 1.5 s, so it was stopped; the next request starts a new one\.$/,
    );
    assert.equal(exits.length, 1);
    assert.equal(exits[0].hung, true);
    await until(() => processPresence(pid) === 'none', 'the stopped host to be killed');
  });

  it(
    'a cancel (the handle killed, as a new setting does) ends the wait at once and the stopped host with it',
    { timeout: 120_000 },
    async () => {
      const { host, exits, stoppedPid } = standIn(stopBeforeListen);
      const first = host.stats();
      first.catch(() => undefined);
      const pid = await stoppedPid();
      const exit = await host.kill();
      assert.equal(exit.expected, true);
      await rejectsWith(first, /^The model host stopped\.$/);
      assert.equal(exits.length, 1);
      await until(() => processPresence(pid) === 'none', 'the stopped host to be killed');
    },
  );
});
