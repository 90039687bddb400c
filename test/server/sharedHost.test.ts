// Several language servers (VS Code windows) of one user share one model host: the built server
// over stdio, real LSP clients, the real detached host and the generated tiny GGUF. Each describe
// gives its servers one rendezvous folder of their own. Asserts processes, states, counts and file
// modes; never text or timings.
// Run: npm run build && node --import tsx --test test/server/sharedHost.test.ts
import * as assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CancellationTokenSource, InlineCompletionRequest, type InlineCompletionItem } from 'vscode-languageserver-protocol/node';
import {
  ActivityNotification,
  ChatRequest,
  SleepRequest,
  type ChatChunk,
  type ChatResult,
  type ModelStatus,
  type TokenFigures,
} from '../../server/src/shared/protocol';
import { largeModel, tinyModel } from '../fixtures/models';
import { hostPidsOf, isAlive, standbyAfterDeepSleep } from '../fixtures/processes';
import { until } from '../fixtures/until';
import { testHooksEnv } from '../../server/src/shared/testHooks';
import { quietWindow, startServer, type TestServer } from './lspClient';

const docUri = 'file:///work/shared.ts';
const docText = 'function add(a: number, b: number) {\n  return \n}\n';
const cursor = { line: 1, character: 9 };
const linuxOnly = process.platform !== 'linux' && '/proc and Unix socket modes';

let tiny: string;

function settings(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return quietWindow(tiny, extra);
}

function runtimeDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'llm-shared-'));
}

async function startWindows(count: number, dir: string, extra: Record<string, unknown> = {}): Promise<TestServer[]> {
  // All at the same instant: the race at start must end with one host.
  const servers = await Promise.all(
    Array.from({ length: count }, () => startServer(settings(extra), { env: { LOCAL_LLM_RUNTIME_DIR: dir } })),
  );
  for (const server of servers) server.open(docUri, docText);
  return servers;
}

/** A completion in a document of its own (opened here), so that no cache answers it. */
function complete(server: TestServer, uri = docUri): Promise<InlineCompletionItem[] | null> {
  if (uri !== docUri) server.open(uri, docText);
  return server.connection.sendRequest(InlineCompletionRequest.type, {
    textDocument: { uri },
    position: cursor,
    context: { triggerKind: 2 },
  }) as Promise<InlineCompletionItem[] | null>;
}

function chat(server: TestServer, sessionId: string, message: string): Promise<ChatResult> {
  return server.connection.sendRequest(ChatRequest.type, { sessionId, message });
}

/** Everything the model hosts of this rendezvous folder wrote to their logs, for a failure's message. */
function hostLogs(dir: string): string {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.log'))
    .map((f) => readFileSync(path.join(dir, f), 'utf8'))
    .join('\n');
}

/** User + system CPU time of a process in clock ticks (/proc/<pid>/stat). */
function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

async function stopAll(servers: TestServer[]): Promise<void> {
  await Promise.all(servers.map((s) => (s.process.exitCode === null && s.process.signalCode === null ? s.stop() : Promise.resolve())));
}

before(async () => {
  tiny = await tinyModel();
});

describe('three windows with the same model', { skip: linuxOnly }, () => {
  let dir: string;
  let servers: TestServer[];
  before(async () => {
    dir = runtimeDir();
    servers = await startWindows(3, dir, { sleepMode: 'light' });
  });
  after(async () => {
    await stopAll(servers);
    await until(
      () => hostPidsOf(dir),
      (pids) => pids.length === 0,
      'the host to leave after the last window',
    );
    rmSync(dir, { recursive: true, force: true });
  });

  it('started at the same instant, share one host process that loaded the model once', async () => {
    const ready = await Promise.all(servers.map((s) => s.waitForState('ready')));
    const pids = new Set(ready.map((s) => s.memory.hostPid));
    assert.equal(pids.size, 1, `one host pid: ${[...pids].join(' ')}`);
    assert.deepEqual(hostPidsOf(dir), [...pids]);
    const statuses = await until(
      () => Promise.all(servers.map((s) => s.status())),
      (all) => all.every((s) => s.sharing?.otherWindows === 2),
      'every window to see the two others',
    );
    for (const s of statuses) assert.equal(s.sharing?.hostLoads, 1, 'one load for three windows');
    assert.equal(new Set(statuses.map((s) => s.memory.hostBaselineRssBytes)).size, 1, 'one pre-load baseline, the host’s');
    assert.deepEqual(
      statuses.map((s) => s.counters.hostCrashes),
      [0, 0, 0],
    );
  });

  it('the rendezvous folder is 0700 and the socket 0600', () => {
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    const sockets = readdirSync(dir).filter((f) => f.endsWith('.sock'));
    assert.equal(sockets.length, 1);
    const socket = statSync(path.join(dir, sockets[0]));
    assert.ok(socket.isSocket());
    assert.equal(socket.mode & 0o777, 0o600);
  });

  it('every window completes on the shared model; one window’s chat history is not another’s', async () => {
    for (const server of servers) assert.ok(Array.isArray(await complete(server)));
    const [a, b] = servers;
    await chat(a, 'same-id', 'What is a closure?');
    const first = (await a.status()).lastChat!;
    await chat(a, 'same-id', 'And a promise?');
    const second = (await a.status()).lastChat!;
    assert.ok(second.reusedTokens > 0, 'the second turn continues the first');
    // The same session id in another window starts empty: its prompt is exactly the first turn's.
    await chat(b, 'same-id', 'What is a closure?');
    assert.equal((await b.status()).lastChat!.promptTokens, first.promptTokens);
  });

  it('activity in one window keeps all awake; idleness in all puts the model to sleep for all', async () => {
    for (const server of servers) server.configure(settings({ sleepMode: 'light', sleepIdleSeconds: 2 }));
    const [a] = servers;
    // Three idle periods of activity in window A alone.
    const end = Date.now() + 6000;
    while (Date.now() < end) {
      void a.connection.sendNotification(ActivityNotification.type, { kind: 'typing' });
      await new Promise((r) => setTimeout(r, 300));
    }
    const awake = await Promise.all(servers.map((s) => s.status()));
    assert.deepEqual(
      awake.map((s) => s.state),
      ['ready', 'ready', 'ready'],
    );
    for (const s of awake) assert.equal(s.counters.sleeps, 0);
    const asleep = await Promise.all(servers.map((s) => s.waitForState('sleeping', 30_000)));
    assert.equal(new Set(asleep.map((s) => s.memory.hostPid)).size, 1, 'light sleep keeps the one host');
    // What the sleep freed is the host's own figure, the same in every window (none of them asked for it).
    const freed = await until(
      () => Promise.all(servers.map((s) => s.status())),
      (all) => all.every((s) => s.lastSleepFreed !== null),
      'every window to say what the sleep freed',
    );
    assert.equal(new Set(freed.map((s) => s.lastSleepFreed!.rssBytes)).size, 1, 'one figure for all windows');
    for (const server of servers) server.configure(settings({ sleepMode: 'light', sleepIdleSeconds: 0 }));
  });

  it('a request from any window wakes the model once, for every window', async () => {
    const before = await servers[1].status();
    assert.equal(before.state, 'sleeping');
    const loadsBefore = before.sharing?.hostLoads ?? 0;
    const results = await Promise.all([complete(servers[1], 'file:///work/w1.ts'), complete(servers[2], 'file:///work/w2.ts')]);
    for (const r of results) assert.ok(Array.isArray(r) || r === null);
    const all = await until(
      () => Promise.all(servers.map((s) => s.status())),
      (statuses) => statuses.every((s) => s.state === 'ready'),
      'every window to follow the wake',
    );
    for (const s of all) assert.equal(s.sharing?.hostLoads, loadsBefore + 1, 'one load for the wake');
  });

  it('Sleep Now in one window is seen by all', async () => {
    await servers[0].connection.sendRequest(SleepRequest.type);
    const seen = await Promise.all(servers.map((s) => s.waitForState('sleeping', 10_000)));
    assert.equal(seen.length, 3);
    for (const s of await Promise.all(servers.map((x) => x.status()))) assert.equal(s.state, 'sleeping');
  });
});

describe('a window that goes, a host that crashes', { skip: linuxOnly }, () => {
  let dir: string;
  let servers: TestServer[];
  before(async () => {
    dir = runtimeDir();
    servers = await startWindows(3, dir);
    await Promise.all(servers.map((s) => s.waitForState('ready')));
  });
  after(async () => {
    await stopAll(servers);
    rmSync(dir, { recursive: true, force: true });
  });

  it('killing one window leaves the others working', async () => {
    const pid = (await servers[1].status()).memory.hostPid;
    const died = new Promise<void>((resolve) => servers[0].process.once('exit', () => resolve()));
    servers[0].process.kill('SIGKILL');
    await died;
    await until(
      () => servers[1].status(),
      (s) => s.sharing?.otherWindows === 1,
      'the window to be counted gone',
    );
    for (const server of servers.slice(1)) assert.ok(Array.isArray(await complete(server)));
    assert.equal((await servers[2].status()).memory.hostPid, pid);
  });

  it('kill -9 of the host is recovered: one new host serves the remaining windows, with no request', async () => {
    const [, b, c] = servers;
    const pid = (await b.status()).memory.hostPid!;
    process.kill(pid, 'SIGKILL');
    // Both windows load again on their own; the rendezvous makes that one host and one load.
    const back = await Promise.all(
      [b, c].map((s) => s.waitFor((x) => x.counters.hostCrashes === 1 && x.state === 'ready', 'ready again after the crash', 30_000)),
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\nB's log: ${b.logs.join('')}\nC's log: ${c.logs.join('')}\nHost log: ${hostLogs(dir)}`);
    });
    assert.notEqual(back[0].memory.hostPid, pid);
    assert.equal(back[0].memory.hostPid, back[1].memory.hostPid, 'both windows on the same new host');
    assert.ok(Array.isArray(await complete(b, 'file:///work/k1.ts')));
    assert.ok(Array.isArray(await complete(c, 'file:///work/k2.ts')));
    const [sb, sc] = await Promise.all([b.status(), c.status()]);
    assert.equal(sb.sharing?.hostLoads, 1, 'the new host loaded once for both');
    assert.equal(sb.memory.hostPid, sc.memory.hostPid);
    assert.deepEqual(hostPidsOf(dir), [sb.memory.hostPid]);
  });

  it('a window that restarts its server finds the model still loaded (Restart Server, a reload)', async () => {
    const before = await servers[1].status();
    await servers[2].stop();
    servers[2] = await startServer(settings(), { env: { LOCAL_LLM_RUNTIME_DIR: dir } });
    const ready = await servers[2].waitForState('ready');
    assert.equal(ready.memory.hostPid, before.memory.hostPid, 'the same host');
    // Its memory figures are the host's: the pre-load baseline the host took, not its RSS now with the model in it.
    assert.ok(before.memory.hostBaselineRssBytes !== null && ready.memory.hostBaselineRssBytes !== null);
    assert.equal(ready.memory.hostBaselineRssBytes, before.memory.hostBaselineRssBytes, 'the same baseline as the window that loaded');
    const after = await until(
      () => servers[2].status(),
      (s) => s.sharing?.otherWindows === 1,
      'the new server to see the other window',
    );
    assert.equal(after.sharing?.hostLoads, before.sharing?.hostLoads, 'no second load');
    assert.equal((await servers[1].status()).state, 'ready', 'the other window was not touched');
  });

  it('no host outlives the last window past the grace period (1 s here)', async () => {
    const pid = (await servers[1].status()).memory.hostPid!;
    await stopAll(servers);
    await until(
      () => isAlive(pid),
      (alive) => !alive,
      'the host to exit after the grace period',
      20_000,
    );
    assert.deepEqual(hostPidsOf(dir), []);
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.endsWith('.sock') || f.endsWith('.lock')),
      [],
      'socket and lock are gone',
    );
  });
});

describe('a crashed shared host is restarted once', { skip: linuxOnly }, () => {
  let dir: string;
  let servers: TestServer[];
  before(async () => {
    dir = runtimeDir();
    servers = await startWindows(3, dir);
    await Promise.all(servers.map((s) => s.waitForState('ready')));
  });
  after(async () => {
    await stopAll(servers);
    rmSync(dir, { recursive: true, force: true });
  });

  it('kill -9: every window loads again on its own, and they end on one new host that loaded once', async () => {
    const pid = (await servers[0].status()).memory.hostPid!;
    const killedAt = Date.now();
    process.kill(pid, 'SIGKILL');
    const back = await Promise.all(
      servers.map((s) => s.waitFor((x) => x.counters.hostCrashes === 1 && x.state === 'ready', 'ready again after the crash', 30_000)),
    ).catch((err: unknown) => Promise.reject(new Error(`${String(err)}\nHost log: ${hostLogs(dir)}`)));
    console.log(`kill -9 of the shared host to all 3 windows ready again: ${Date.now() - killedAt} ms`);
    const pids = new Set(back.map((s) => s.memory.hostPid));
    assert.equal(pids.size, 1, `one new host: ${[...pids].join(' ')}`);
    assert.ok(!pids.has(pid));
    assert.deepEqual(hostPidsOf(dir), [...pids], 'exactly one host process');
    const statuses = await until(
      () => Promise.all(servers.map((s) => s.status())),
      (all) => all.every((s) => s.sharing?.otherWindows === 2),
      'every window on the new host',
    );
    for (const s of statuses) {
      assert.equal(s.sharing?.hostLoads, 1, 'the new host loaded once for three windows');
      assert.equal(s.state, 'ready');
    }
  });

  it('a second crash before the restarted host served anything is not restarted: error in every window, until a request', async () => {
    const pid = (await servers[0].status()).memory.hostPid!;
    process.kill(pid, 'SIGKILL');
    const failed = await Promise.all(
      servers.map((s) => s.waitFor((x) => x.counters.hostCrashes === 2 && x.state === 'error', 'error after the second crash', 30_000)),
    );
    for (const s of failed) assert.match(s.error ?? '', /killed.*not restarted on its own again; the next request starts it\.$/);
    assert.deepEqual(hostPidsOf(dir), [], 'nobody started a host');
    // A request in one window starts one host; the others follow it.
    assert.ok(Array.isArray(await complete(servers[1], 'file:///work/again.ts')));
    const back = await Promise.all(
      servers.map((s) => s.waitFor((x) => x.counters.hostCrashes === 2 && x.state === 'ready', 'ready after the request', 30_000)),
    );
    assert.equal(new Set(back.map((s) => s.memory.hostPid)).size, 1);
    assert.equal(hostPidsOf(dir).length, 1);
  });
});

describe('deep sleep of a shared host', { skip: linuxOnly }, () => {
  it('Sleep Now ends the host for all; a request from one window starts one host, and the other follows', async () => {
    const dir = runtimeDir();
    const servers = await startWindows(2, dir);
    try {
      const [a, b] = servers;
      await Promise.all(servers.map((s) => s.waitForState('ready')));
      const pid = (await a.status()).memory.hostPid!;
      const slept = await a.connection.sendRequest(SleepRequest.type);
      await b.waitForState('sleeping');
      // What is left is the standby of the deep sleep (host/standby.ts): a new process without the model.
      const standby = await standbyAfterDeepSleep(pid, dir);
      assert.notEqual(standby, pid);
      // The window that asked and the one that followed say the same: all of the host's RSS.
      const followedSleep = await until(
        () => b.status(),
        (s) => s.lastSleepFreed !== null,
        'B to say what the sleep freed',
      );
      assert.ok((slept.lastSleepFreed?.rssBytes ?? 0) > 0);
      assert.equal(followedSleep.lastSleepFreed?.rssBytes, slept.lastSleepFreed?.rssBytes);
      assert.ok(Array.isArray(await complete(b, 'file:///work/deep.ts')));
      const woke = await b.status();
      assert.equal(woke.state, 'ready');
      const followed = await a.waitForState('ready', 30_000);
      assert.equal(followed.memory.hostPid, woke.memory.hostPid);
      assert.deepEqual(hostPidsOf(dir), [woke.memory.hostPid]);
      assert.equal(woke.memory.hostPid, standby, 'the wake attached to the standby');
      const statuses = await until(
        () => Promise.all(servers.map((s) => s.status())),
        (all) => all.every((s) => s.sharing?.otherWindows === 1),
        'both windows on the new host',
      );
      for (const s of statuses) assert.equal(s.sharing?.hostLoads, 1, 'the new host loaded once');
    } finally {
      await stopAll(servers);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a wake that meets the shared host on its way out (deep sleep)', { skip: linuxOnly }, () => {
  it('waits for it to go and starts a new host: the wake succeeds, never error', async () => {
    const dir = runtimeDir();
    const gateDir = mkdtempSync(path.join(os.tmpdir(), 'llm-load-gate-'));
    const loadGate = path.join(gateDir, 'go');
    const servers = await startWindows(1, dir);
    try {
      const [a] = servers;
      const pid = (await a.waitForState('ready')).memory.hostPid!;
      // B attaches (its hello) and holds its load until the file exists.
      const b = await startServer(settings(), { env: { LOCAL_LLM_RUNTIME_DIR: dir, ...testHooksEnv({ loadGateFile: loadGate }) } });
      servers.push(b);
      await until(
        () => a.status(),
        (s) => s.sharing?.otherWindows === 1,
        'B attached',
      );
      assert.equal((await b.status()).state, 'loading');
      // Sleep Now (deep) in A ends the host B is attached to; then B's load goes to it.
      await a.connection.sendRequest(SleepRequest.type);
      await until(
        () => isAlive(pid),
        (alive) => !alive,
        'the host to exit',
      );
      writeFileSync(loadGate, '');
      const ready = await b.waitFor((s) => s.state === 'ready', 'B ready', 30_000);
      assert.deepEqual(
        b.statuses.filter((s) => s.state === 'error').map((s) => s.error),
        [],
        'the wake never failed',
      );
      assert.ok(
        b.logs.some((l) => /going to sleep \(deep\) as this window woke it/.test(l)),
        'the load met the leaving host',
      );
      assert.notEqual(ready.memory.hostPid, pid);
      // A follows the wake onto the same new host, and B stays awake.
      const followed = await a.waitForState('ready', 30_000);
      assert.equal(followed.memory.hostPid, ready.memory.hostPid);
      assert.deepEqual(hostPidsOf(dir), [ready.memory.hostPid]);
      assert.equal((await b.status()).state, 'ready');
      assert.ok(Array.isArray(await complete(b, 'file:///work/race.ts')));
    } finally {
      await stopAll(servers);
      rmSync(dir, { recursive: true, force: true });
      rmSync(gateDir, { recursive: true, force: true });
    }
  });
});

describe('windows with other settings', { skip: linuxOnly }, () => {
  it('another context size gets its own host, and its status says why it does not share', async () => {
    const dir = runtimeDir();
    const servers: TestServer[] = [];
    try {
      servers.push(...(await startWindows(1, dir)));
      const first = await servers[0].waitForState('ready');
      servers.push(await startServer(settings({ contextSize: 512 }), { env: { LOCAL_LLM_RUNTIME_DIR: dir } }));
      const second: ModelStatus = await servers[1].waitForState('ready');
      assert.notEqual(second.memory.hostPid, first.memory.hostPid);
      assert.equal(hostPidsOf(dir).length, 2);
      assert.match(second.sharing?.notShared ?? '', /contextSize 1024 \(here 512\)/);
      assert.equal(second.sharing?.otherWindows, 0);
    } finally {
      await stopAll(servers);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('completions of two windows on one host', { skip: linuxOnly }, () => {
  it('a completion in the window the user is in goes first: the other window’s long one yields and shows nothing', async () => {
    const dir = runtimeDir();
    const large = await largeModel();
    // The large model writes every token it may (random weights, no end of text), ~40 a second on one thread.
    const long = { debounceMs: 0, maxTokens: 1024, maxLines: 200, maxMs: 0 };
    const short = { debounceMs: 0, maxTokens: 4, maxLines: 1, maxMs: 0 };
    const servers = await Promise.all([
      startServer(settings({ model: large, completion: short }), { env: { LOCAL_LLM_RUNTIME_DIR: dir } }),
      startServer(settings({ model: large, completion: long }), { env: { LOCAL_LLM_RUNTIME_DIR: dir } }),
    ]);
    try {
      const [a, b] = servers;
      const ready = await Promise.all(servers.map((s) => s.waitForState('ready', 120_000)));
      const hostPid = ready[0].memory.hostPid!;
      assert.equal(ready[1].memory.hostPid, hostPid, 'one host');
      const cpuBefore = cpuTicks(hostPid);
      const longOne = complete(b, 'file:///work/b-long.ts');
      // B's completion has reached the host and runs: the host, idle before, has spent CPU on it.
      await until(
        () => cpuTicks(hostPid) - cpuBefore,
        (ticks) => ticks >= 20,
        'window B’s completion to run in the host',
      );
      void a.connection.sendNotification(ActivityNotification.type, { kind: 'typing' });
      const typed = await complete(a, 'file:///work/a-typed.ts');
      const cut = await longOne;
      assert.ok(Array.isArray(typed));
      assert.deepEqual(cut, [], 'the window the user left shows no suggestion');
      const [sa, sb] = await Promise.all([a.status(), b.status()]);
      assert.equal(sa.completions.generated, 1, 'A’s completion ran to its end');
      assert.ok((sa.lastCompletion?.generatedTokens ?? 0) > 0);
      assert.equal(sa.completions.yielded ?? 0, 0);
      assert.equal(sb.completions.generated, 0, 'B’s did not');
      assert.equal(sb.completions.yielded, 1, 'B’s yielded to A’s');
      assert.ok((sb.lastCompletion?.generatedTokens ?? 0) < long.maxTokens, `B was cut: ${JSON.stringify(sb.lastCompletion)}`);
      for (const s of [sa, sb]) assert.equal(s.state, 'ready');
      assert.ok(!b.logs.some((line) => /fail|error/i.test(line)), `B logged no failure: ${b.logs.join('')}`);
    } finally {
      await stopAll(servers);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A document of its own for each window, different from its first character on, so that their prompts share no more than the FIM layout. */
const lines = (name: string, count: number): string[] =>
  Array.from({ length: count }, (_, i) => `${name}${i} = compute(${name}, ${i % 11}) + ${i % 7};`);

describe('a switch between two windows on one host', { skip: linuxOnly }, () => {
  /** The window states of a load live in a windows-* folder of the storage's state folder. */
  const windowDirs = (storage: string): string[] => {
    try {
      return readdirSync(path.join(storage, 'state'))
        .filter((f) => f.startsWith('windows-'))
        .map((f) => path.join(storage, 'state', f));
    } catch {
      return [];
    }
  };

  for (const kept of [true, false]) {
    it(
      kept
        ? 'A, B, A: A’s completion state is kept while B completes, so A’s next key evaluates only a few tokens'
        : 'with the hostWindowStates hook off, A’s next key after B evaluates A’s whole prompt again (the old cost)',
      async (t) => {
        const dir = runtimeDir();
        const storages = [mkdtempSync(path.join(os.tmpdir(), 'llm-switch-a-')), mkdtempSync(path.join(os.tmpdir(), 'llm-switch-b-'))];
        const env = { LOCAL_LLM_RUNTIME_DIR: dir, ...(kept ? {} : testHooksEnv({ hostWindowStates: false })) };
        const servers = await Promise.all(storages.map((storageDir) => startServer(settings(), { env, storageDir })));
        try {
          const [a, b] = servers;
          await Promise.all(servers.map((s) => s.waitForState('ready')));
          const aLines = lines('alpha', 60);
          const aUri = 'file:///work/switch-a.ts';
          const row = 30;
          let version = 1;
          a.open(aUri, aLines.join('\n'));
          let typed = '';
          /** A types `key` along its cursor line and asks there: a new text, so its server's cache never answers. */
          const typeInA = async (key: string): Promise<TokenFigures> => {
            aLines[row] = typed + key + aLines[row]!.slice(typed.length);
            typed += key;
            a.change(aUri, ++version, aLines.join('\n'));
            void a.connection.sendNotification(ActivityNotification.type, { kind: 'typing' });
            const generated = (await a.status()).completions.generated;
            await a.connection.sendRequest(InlineCompletionRequest.type, {
              textDocument: { uri: aUri },
              position: { line: row, character: typed.length },
              context: { triggerKind: 2 },
            });
            const status = await a.status();
            assert.equal(status.completions.generated, generated + 1, 'A’s completion ran a generation: the figures are its own');
            return status.lastCompletion!;
          };
          const first = await typeInA('x');
          assert.ok(first.promptTokens > 100, `A's prompt is long enough to tell the cases apart: ${first.promptTokens} tokens`);
          // B is where the user goes now: A's background work (a next suggestion) yields to it.
          const bUri = 'file:///work/switch-b.ts';
          b.open(bUri, lines('omega', 60).join('\n'));
          void b.connection.sendNotification(ActivityNotification.type, { kind: 'typing' });
          assert.ok(
            Array.isArray(
              await b.connection.sendRequest(InlineCompletionRequest.type, {
                textDocument: { uri: bUri },
                position: { line: 30, character: 0 },
                context: { triggerKind: 2 },
              }),
            ),
          );
          const bFigures = (await b.status()).lastCompletion!;
          assert.ok(bFigures.evaluatedTokens > bFigures.promptTokens / 2, `B's prompt was evaluated: ${JSON.stringify(bFigures)}`);
          const back = await typeInA('y');
          t.diagnostic(
            `A ${first.evaluatedTokens}/${first.promptTokens}, B ${bFigures.evaluatedTokens}/${bFigures.promptTokens}, A after B ${back.evaluatedTokens}/${back.promptTokens} prompt tokens evaluated`,
          );
          if (kept) {
            assert.ok(back.evaluatedTokens <= 10, `A after B evaluated ${back.evaluatedTokens} of ${back.promptTokens} prompt tokens`);
            // A's saved state was private to the user while it was kept (B's is now).
            const folders = storages.flatMap(windowDirs);
            assert.equal(folders.length, 1, `one window folder for the load: ${folders.join(' ')}`);
            assert.equal(statSync(folders[0]!).mode & 0o777, 0o700);
            const files = readdirSync(folders[0]!);
            assert.ok(
              files.some((f) => f.endsWith('.bin')),
              `B's state is kept: ${files.join(' ')}`,
            );
            for (const f of files) assert.equal(statSync(path.join(folders[0]!, f)).mode & 0o777, 0o600, f);
            // B's window closes: its state goes with it.
            await b.stop();
            await until(
              () => readdirSync(folders[0]!),
              (left) => left.length === 0,
              'the state of the window that closed to be deleted',
              20_000,
            );
          } else {
            assert.ok(
              back.evaluatedTokens > back.promptTokens / 2,
              `A after B evaluated ${back.evaluatedTokens} of ${back.promptTokens} prompt tokens`,
            );
            assert.deepEqual(storages.flatMap(windowDirs), [], 'no window state was saved');
          }
          const pid = (await a.status()).memory.hostPid!;
          await stopAll(servers);
          await until(
            () => isAlive(pid),
            (alive) => !alive,
            'the host to exit after the last window',
          );
          assert.deepEqual(storages.flatMap(windowDirs), [], 'the window states are gone with the host');
        } finally {
          await stopAll(servers);
          rmSync(dir, { recursive: true, force: true });
          for (const s of storages) rmSync(s, { recursive: true, force: true });
        }
      },
    );
  }
});

describe('window switches while a third window streams a chat', { skip: linuxOnly }, () => {
  // A window switch saves one window's completion state and loads another's into the completion
  // sequence while the chat sequence decodes (they share the context); this must neither crash
  // the host nor lose a state.
  it('the states are saved and restored beside the chat: one host all along, no failed save or restore, each switch evaluates a few tokens', async (t) => {
    const dir = runtimeDir();
    const large = await largeModel();
    // The large model writes every token it may, so the chat streams until it is cancelled.
    const short = { debounceMs: 0, maxTokens: 4, maxLines: 1, maxMs: 0 };
    const servers = await Promise.all(
      [0, 1, 2].map(() => startServer(settings({ model: large, completion: short }), { env: { LOCAL_LLM_RUNTIME_DIR: dir } })),
    );
    const chatSource = new CancellationTokenSource();
    try {
      const [a, b, c] = servers;
      const ready = await Promise.all(servers.map((s) => s.waitForState('ready', 120_000)));
      const hostPid = ready[0].memory.hostPid!;
      const docs = [a, b].map((server, i) => {
        const text = lines(i === 0 ? 'alpha' : 'omega', 20);
        const uri = `file:///work/chat-switch-${i}.ts`;
        server.open(uri, text.join('\n'));
        return { server, uri, text, typed: '', version: 1 };
      });
      /** The window types one key along line 10 and asks there: a new text, so its server's cache never answers. */
      const typeAndAsk = async (doc: (typeof docs)[number], key: string): Promise<TokenFigures> => {
        doc.text[10] = doc.typed + key + doc.text[10]!.slice(doc.typed.length);
        doc.typed += key;
        doc.server.change(doc.uri, ++doc.version, doc.text.join('\n'));
        void doc.server.connection.sendNotification(ActivityNotification.type, { kind: 'typing' });
        const items = await doc.server.connection.sendRequest(InlineCompletionRequest.type, {
          textDocument: { uri: doc.uri },
          position: { line: 10, character: doc.typed.length },
          context: { triggerKind: 2 },
        });
        assert.ok(Array.isArray(items));
        return (await doc.server.status()).lastCompletion!;
      };
      // Each window's prompt is evaluated once, before the chat.
      for (const doc of docs) await typeAndAsk(doc, 'k');

      const chunks: ChatChunk[] = [];
      const partialResultToken = 'chat-beside-switches';
      c.connection.onProgress(ChatRequest.type, partialResultToken, (chunk) => void chunks.push(chunk));
      let chatDone = false;
      const answer = c.connection
        .sendRequest(
          ChatRequest.type,
          { sessionId: 'beside', message: 'Explain closures at length.', partialResultToken },
          chatSource.token,
        )
        .then(
          (result) => ({ result, error: null }),
          (error: unknown) => ({ result: null, error }),
        )
        .finally(() => (chatDone = true));
      await until(
        () => chunks.length,
        (n) => n > 0,
        'the chat to stream',
      );

      const figures: TokenFigures[] = [];
      let duringChat = 0;
      for (let round = 0; round < 3; round++) {
        for (const doc of docs) {
          figures.push(await typeAndAsk(doc, String(round)));
          if (!chatDone) duringChat++;
        }
      }
      chatSource.cancel();
      const { error } = await answer;
      t.diagnostic(
        `${duringChat} of ${figures.length} switched completions ended while the chat streamed; ${chunks.length} chat chunks; evaluated ${figures.map((f) => `${f.evaluatedTokens}/${f.promptTokens}`).join(' ')}`,
      );
      assert.equal(error, null, `the chat ended without an error: ${String(error)}`);
      for (const f of figures) assert.ok(f.evaluatedTokens <= 10, `each switch restored the window's own state: ${JSON.stringify(f)}`);
      const log = hostLogs(dir);
      assert.ok(/Window switch: saved/.test(log) && /Window switch: restored/.test(log), 'the switches went through saved states');
      assert.ok(!/Could not (save|restore|keep)/.test(log), `no save or restore failed: ${log}`);
      const after = await Promise.all(servers.map((s) => s.status()));
      for (const s of after) {
        assert.equal(s.state, 'ready');
        assert.equal(s.memory.hostPid, hostPid, 'the same host all along');
        assert.equal(s.counters.hostCrashes, 0);
      }
    } finally {
      chatSource.dispose();
      await stopAll(servers);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
