// The standby host of a deep sleep (host/standby.ts, engine/local/standbyWatch.ts): the built
// server over stdio, the real detached host and a generated tiny GGUF. The standby holds no model
// (no model file mapped or open, no device), the wake attaches to it, it ends when the last window
// closes, when the setting turns it off and when the model changes, and a standby killed with
// SIGKILL costs only a fresh start. Asserts processes, states and what a process has open; never
// text or timings. No process is left after any test.
// Run: npm run build && node --import tsx --test --test-concurrency=1 test/server/standby.test.ts
import * as assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { InlineCompletionRequest, type InlineCompletionItem } from 'vscode-languageserver-protocol/node';
import { SleepRequest, type ModelStatus } from '../../server/src/shared/protocol';
import { tinyModel, tinyRoundTripModel } from '../fixtures/models';
import { hostPidsOf, isAlive, standbyAfterDeepSleep } from '../fixtures/processes';
import { until } from '../fixtures/until';
import { quietWindow, startServer, type TestServer } from './lspClient';

const docText = 'function add(a: number, b: number) {\n  return \n}\n';
const cursor = { line: 1, character: 9 };
const linuxOnly = process.platform !== 'linux' && '/proc and Unix sockets';

let tiny: string;
let otherTiny: string;

function settings(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return quietWindow(tiny, { sleepMode: 'deep', ...extra });
}

/** What a process maps and holds open: the paths of its mappings and of its file descriptors. */
function openPaths(pid: number): string[] {
  const maps = readFileSync(`/proc/${pid}/maps`, 'utf8')
    .split('\n')
    .map((line) => line.split(/\s+/).slice(5).join(' '))
    .filter((p) => p !== '');
  const fds: string[] = [];
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      fds.push(readlinkSync(`/proc/${pid}/fd/${fd}`));
    } catch {
      // Closed meanwhile.
    }
  }
  return [...maps, ...fds];
}

/** The shared host's log lines of this folder. */
function hostLog(dir: string): string {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.log'))
    .map((f) => readFileSync(path.join(dir, f), 'utf8'))
    .join('');
}

function complete(server: TestServer, uri: string): Promise<InlineCompletionItem[] | null> {
  server.open(uri, docText);
  return server.connection.sendRequest(InlineCompletionRequest.type, {
    textDocument: { uri },
    position: cursor,
    context: { triggerKind: 2 },
  }) as Promise<InlineCompletionItem[] | null>;
}

/**
 * One window, its model loaded, then Sleep Now (deep): the old host exits and a standby takes its
 * place, which the window holds. Returns the window and the standby's pid.
 */
async function sleepIntoStandby(dir: string, extra: Record<string, unknown> = {}): Promise<{ server: TestServer; standby: number }> {
  const server = await startServer(settings(extra), { env: { LOCAL_LLM_RUNTIME_DIR: dir } });
  const awake = await server.waitForState('ready');
  const first = awake.memory.hostPid!;
  await server.connection.sendRequest(SleepRequest.type);
  const standby = await standbyAfterDeepSleep(first, dir);
  assert.notEqual(standby, first, 'the standby is a new process');
  await until(
    () => server.status(),
    (s) => (s.memory.standbyRssBytes ?? 0) > 0,
    'the window to hold the standby',
  );
  return { server, standby };
}

/** Stops the window and waits until no host of the folder is left; removes the folder. */
async function stopAndCheckNothingLeft(server: TestServer, dir: string): Promise<void> {
  if (server.process.exitCode === null && server.process.signalCode === null) await server.stop();
  await until(
    () => hostPidsOf(dir),
    (pids) => pids.length === 0,
    'no host process left',
    30_000,
  );
  rmSync(dir, { recursive: true, force: true });
}

function runtimeDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'llm-standby-'));
}

before(async () => {
  tiny = await tinyModel();
  otherTiny = await tinyRoundTripModel();
});

describe('the standby host of a deep sleep', { skip: linuxOnly }, () => {
  it('holds no model and no device, is reported while asleep, and serves the wake', async () => {
    const dir = runtimeDir();
    const { server, standby } = await sleepIntoStandby(dir);
    try {
      // Its warm-up (import, CPU backend, one read of the model file) is over: look at what it holds.
      await until(
        () => hostLog(dir),
        (log) => log.includes('Standby host ready'),
        'the standby to finish its warm-up',
      );
      const held = openPaths(standby);
      assert.deepEqual(
        held.filter((p) => p.endsWith('.gguf')),
        [],
        'no model file mapped or open',
      );
      assert.deepEqual(
        held.filter((p) => p.startsWith('/dev/nvidia') || p.startsWith('/dev/dri')),
        [],
        'no GPU device open',
      );
      const asleep: ModelStatus = await server.status();
      assert.equal(asleep.state, 'sleeping');
      assert.equal(asleep.memory.hostPid, null, 'no model host while asleep');
      assert.equal(asleep.memory.vramUsedBytes, null);
      assert.ok((asleep.memory.standbyRssBytes ?? 0) > 0, 'the standby RSS is reported');

      assert.ok(Array.isArray(await complete(server, 'file:///work/wake.ts')));
      const woke = await server.status();
      assert.equal(woke.state, 'ready');
      assert.equal(woke.memory.hostPid, standby, 'the wake attached to the standby');
      assert.equal(woke.memory.standbyRssBytes ?? null, null, 'no standby while awake');
      assert.match(hostLog(dir), /Wake breakdown: .*\(the standby host/);
    } finally {
      await stopAndCheckNothingLeft(server, dir);
    }
  });

  it('ends when the last window closes', async () => {
    const dir = runtimeDir();
    const { server, standby } = await sleepIntoStandby(dir);
    await server.stop();
    await until(
      () => isAlive(standby),
      (alive) => !alive,
      'the standby to end with the last window',
      30_000,
    );
    await stopAndCheckNothingLeft(server, dir);
  });

  it('ends when the setting turns it off, and then a deep sleep leaves no process', async () => {
    const dir = runtimeDir();
    const { server, standby } = await sleepIntoStandby(dir);
    try {
      server.configure(settings({ sleep: { standby: false } }));
      await until(
        () => isAlive(standby),
        (alive) => !alive,
        'the standby to end when turned off',
        30_000,
      );
      assert.equal((await server.status()).state, 'sleeping', 'turning it off does not wake the model');
      assert.equal((await server.status()).memory.standbyRssBytes ?? null, null);
      assert.ok(Array.isArray(await complete(server, 'file:///work/off.ts')));
      const woke = await server.status();
      assert.equal(woke.state, 'ready');
      await server.connection.sendRequest(SleepRequest.type);
      await until(
        () => isAlive(woke.memory.hostPid!),
        (alive) => !alive,
        'the host to exit',
      );
      assert.deepEqual(hostPidsOf(dir), [], 'with the standby off, a deep sleep leaves nothing');
    } finally {
      await stopAndCheckNothingLeft(server, dir);
    }
  });

  it('ends when the model changes', async () => {
    const dir = runtimeDir();
    const { server, standby } = await sleepIntoStandby(dir);
    try {
      server.configure(settings({ model: otherTiny }));
      await until(
        () => isAlive(standby),
        (alive) => !alive,
        'the standby of the old model to end',
        30_000,
      );
    } finally {
      await stopAndCheckNothingLeft(server, dir);
    }
  });

  it('killed with SIGKILL, it costs only a fresh start: the next wake succeeds', async () => {
    const dir = runtimeDir();
    const { server, standby } = await sleepIntoStandby(dir);
    try {
      process.kill(standby, 'SIGKILL');
      await until(
        () => isAlive(standby),
        (alive) => !alive,
        'the standby to die',
      );
      assert.ok(Array.isArray(await complete(server, 'file:///work/killed.ts')));
      const woke = await server.status();
      assert.equal(woke.state, 'ready');
      assert.notEqual(woke.memory.hostPid, standby);
      assert.ok(woke.memory.hostPid !== null && isAlive(woke.memory.hostPid));
      assert.deepEqual(
        server.statuses.filter((s) => s.state === 'error').map((s) => s.error),
        [],
        'the wake never failed',
      );
    } finally {
      await stopAndCheckNothingLeft(server, dir);
    }
  });
});
