// The built server when what it depends on misbehaves: a model path whose open never returns
// (a named pipe, standing in for a hung network drive), a model host that stops answering
// (SIGSTOP), a light-sleeping host killed from outside, a server that dies while its host is
// stopped. Asserts what answered while the host was stopped, states, counts and sentences; never
// timings. Every test lets a stopped host run again and ends every process it started.
// Run: node esbuild.mjs && node --import tsx --test test/server/robustness.test.ts
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  CancellationTokenSource,
  InlineCompletionRequest,
  ResponseError,
  type InlineCompletionItem,
} from 'vscode-languageserver-protocol/node';
import {
  ActivityNotification,
  ChatRequest,
  SleepRequest,
  WakeRequest,
  type ChatResult,
  type ModelStatus,
} from '../../server/src/shared/protocol';
import { tinyModel, tinyOptions } from '../fixtures/models';
import { writeGguf } from '../../scripts/dev/gguf';
import { isAlive, processState } from '../fixtures/processes';
import { quietWindow, startServer, type TestServer } from './lspClient';

const docUri = 'file:///work/robust.ts';
const docText = 'function add(a: number, b: number) {\n  return \n}\n';
const cursor = { line: 1, character: 9 };
const linuxOnly = process.platform !== 'linux' && 'named pipes, SIGSTOP and /proc';

let tiny: string;
let dir: string;
/** Every host pid a test stopped, so that the end of the file can let it run and end it. */
const stopped = new Set<number>();

/** A quiet window with longer completions. */
function settings(model: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return quietWindow(model, { completion: { debounceMs: 0, maxTokens: 16, maxLines: 4 }, ...extra });
}

function complete(server: TestServer, token?: CancellationTokenSource['token'], uri = docUri): Promise<InlineCompletionItem[] | null> {
  return server.connection.sendRequest(
    InlineCompletionRequest.type,
    { textDocument: { uri }, position: cursor, context: { triggerKind: 2 } },
    token,
  ) as Promise<InlineCompletionItem[] | null>;
}

function chat(server: TestServer, message: string, token?: CancellationTokenSource['token']): Promise<ChatResult> {
  return server.connection.sendRequest(ChatRequest.type, { sessionId: 'robust', message }, token);
}

function stopHost(pid: number): void {
  stopped.add(pid);
  process.kill(pid, 'SIGSTOP');
  // The stop is delivered asynchronously: on a busy machine the host may still be running for a
  // while. Wait (bounded) until it is stopped, so that what follows meets a stopped host.
  const deadline = Date.now() + 5000;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let state = processState(pid); state !== 'T' && state !== null && Date.now() < deadline; state = processState(pid))
    Atomics.wait(pause, 0, 0, 10);
}

/** Lets a stopped host run again (a stopped process ignores everything but SIGKILL and SIGCONT). */
function resume(pid: number): void {
  stopped.delete(pid);
  try {
    process.kill(pid, 'SIGCONT');
  } catch {
    // Already gone.
  }
}

async function until<T>(read: () => Promise<T>, ok: (value: T) => boolean, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A completion that reached the model host: the status counts it in flight. */
async function completionInFlight(
  server: TestServer,
  token: CancellationTokenSource['token'],
): Promise<{ pending: Promise<InlineCompletionItem[] | null> }> {
  const pending = complete(server, token);
  await until(
    () => server.status(),
    (s) => s.inFlight >= 1,
    'the completion in flight',
  );
  return { pending };
}

before(async () => {
  tiny = await tinyModel();
  dir = mkdtempSync(path.join(os.tmpdir(), 'local-llm-robust-'));
});

after(() => {
  for (const pid of [...stopped]) {
    resume(pid);
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

/** A server whose host is up; afterwards the host may run again (if a test stopped it) and the server stops. */
async function withStoppableHost(extra: Record<string, unknown>, body: (server: TestServer, pid: number) => Promise<void>): Promise<void> {
  const server = await startServer(settings(tiny, extra));
  let pid: number | null = null;
  try {
    pid = (await server.waitForState('ready')).memory.hostPid;
    assert.ok(pid !== null);
    await body(server, pid);
  } finally {
    if (pid !== null) resume(pid);
    await server.stop();
  }
}

describe('a model path whose open never returns', { skip: linuxOnly }, () => {
  it('a named pipe is refused in a sentence; requests answer; a new setting loads', { timeout: 120_000 }, async () => {
    const fifo = path.join(dir, 'hung.gguf');
    execFileSync('mkfifo', [fifo]);
    const server = await startServer(settings(fifo));
    try {
      const failed = await server.waitForState('error', 30_000);
      assert.match(failed.error ?? '', /hung\.gguf .*named pipe, not a regular file/);
      server.open(docUri, docText);
      // Each of these retries the load and is refused again, in words, instead of waiting forever.
      assert.equal((await server.connection.sendRequest(WakeRequest.type)).state, 'error');
      assert.deepEqual(await complete(server), []);
      await assert.rejects(chat(server, 'hi'), (e: unknown) => e instanceof ResponseError && /named pipe/.test(e.message));
      assert.equal((await server.connection.sendRequest(SleepRequest.type)).state, 'error');
      server.configure(settings(tiny));
      const ready = await server.waitForState('ready');
      assert.equal(ready.model?.path, tiny);
    } finally {
      await server.stop();
    }
  });
});

describe('a model host that stops answering', { skip: linuxOnly }, () => {
  it('status and cancelled requests answer while the host is stopped; the hung host is then replaced', { timeout: 120_000 }, async () => {
    await withStoppableHost({}, async (server, pid) => {
      server.open(docUri, docText);
      stopHost(pid);

      const status = await server.status();
      assert.equal(status.state, 'ready');
      assert.equal(processState(pid), 'T', 'status answered while the host was stopped');

      const completion = new CancellationTokenSource();
      const { pending: pendingCompletion } = await completionInFlight(server, completion.token);
      completion.cancel();
      const items = await pendingCompletion.catch((e: unknown) =>
        e instanceof ResponseError && e.code === -32800 ? [] : Promise.reject(e),
      );
      assert.deepEqual(items, []);
      assert.equal(processState(pid), 'T', 'the cancelled completion ended while the host was stopped');

      const chatCancel = new CancellationTokenSource();
      const pendingChat = chat(server, 'Tell me a long story', chatCancel.token);
      await until(
        () => server.status(),
        (s) => s.inFlight >= 1,
        'the chat in flight',
      );
      chatCancel.cancel();
      const outcome = await pendingChat.then(
        (r) => r.stopReason,
        (e: unknown) => (e instanceof ResponseError ? `error ${e.code}` : String(e)),
      );
      assert.ok(outcome === 'abort' || outcome === 'error -32800', outcome);
      assert.equal(processState(pid), 'T', 'the cancelled chat ended while the host was stopped');

      // The host never answers: it is treated as crashed, in a sentence, and killed.
      const crashed = await server.waitFor((s) => s.counters.hostCrashes === 1, 'the hung host counted as a crash');
      assert.equal(crashed.state, 'error');
      assert.match(
        crashed.error ?? '',
        /^The model host did not answer .* within \d+ s, so it was stopped; the next request starts a new one\.$/,
      );
      // A host we killed for hanging is not restarted on its own (a crash is): it stays in error until a request.
      const waited = await server.status();
      assert.equal(waited.state, 'error');
      assert.equal(waited.counters.loads, crashed.counters.loads);
      assert.equal(waited.memory.hostPid, null);
      await until(
        async () => processState(pid!),
        (s) => s === null,
        'the hung host to be gone',
      );
      stopped.delete(pid);

      // The next request starts a new host.
      const answer = await chat(server, 'hi');
      assert.ok(['eos', 'maxTokens'].includes(answer.stopReason), answer.stopReason);
      const after = await server.status();
      assert.equal(after.state, 'ready');
      assert.notEqual(after.memory.hostPid, pid);
      assert.equal(after.counters.hostCrashes, 1);
    });
  });

  it('while the host is stopped during a wake, status answers and a new setting replaces the load', { timeout: 120_000 }, async () => {
    await withStoppableHost({ sleepMode: 'light' }, async (server, pid) => {
      const asleep = await server.connection.sendRequest(SleepRequest.type);
      assert.equal(asleep.state, 'sleeping');
      assert.equal(asleep.memory.hostPid, pid, 'light sleep keeps the host');
      stopHost(pid);

      const wake = server.connection.sendRequest(WakeRequest.type);
      const waking = await until(
        () => server.status(),
        (s) => s.state === 'waking',
        'the wake to reach the stopped host',
      );
      assert.equal(processState(pid), 'T', 'status answered while the host was stopped');
      assert.equal(waking.memory.hostPid, pid);

      // The new setting cancels the load (and the host it was sent to). Should the setting come
      // before the load reached the host, the reload goes to the stopped host, which is then found
      // hung; either way the wake answers, and Wake Up loads the new setting on a new host.
      server.configure(settings(tiny, { sleepMode: 'light', contextSize: 2048 }));
      let woke = await wake;
      for (let i = 0; i < 3 && !(woke.state === 'ready' && woke.model?.contextSize === 2048); i++) {
        if (woke.state === 'error') assert.match(woke.error ?? '', /cancelled|did not answer/);
        woke = await server.connection.sendRequest(WakeRequest.type);
      }
      assert.equal(woke.state, 'ready');
      assert.equal(woke.model?.contextSize, 2048);
      assert.notEqual(woke.memory.hostPid, pid, 'the stopped host was replaced');
      await until(
        async () => processState(pid!),
        (s) => s === null,
        'the stopped host to be gone',
      );
      stopped.delete(pid);
    });
  });

  it('Sleep Now (light) with the host stopped returns, and the model sleeps', { timeout: 120_000 }, async () => {
    await withStoppableHost({ sleepMode: 'light' }, async (server, pid) => {
      stopHost(pid);
      const slept = await server.connection.sendRequest(SleepRequest.type);
      assert.equal(slept.state, 'sleeping');
      assert.equal(slept.counters.hostCrashes, 1, 'the hung host was ended and counted');
      assert.equal(slept.memory.hostPid, null);
      stopped.delete(pid);
      const woke = await server.connection.sendRequest(WakeRequest.type);
      assert.equal(woke.state, 'ready');
      assert.notEqual(woke.memory.hostPid, pid);
    });
  });

  it('a host whose server died while it was stopped exits once it runs again', { timeout: 60_000 }, async () => {
    const server = await startServer(settings(tiny));
    let pid: number | null = null;
    try {
      const ready = await server.waitForState('ready');
      pid = ready.memory.hostPid;
      assert.ok(pid !== null);
      stopHost(pid);
      const died = new Promise<void>((resolve) => server.process.once('exit', () => resolve()));
      server.process.kill('SIGKILL');
      await died;
      assert.equal(processState(pid), 'T', 'the orphan waits, stopped');
      resume(pid);
      await until(
        async () => isAlive(pid!),
        (alive) => !alive,
        'the orphaned host to exit',
      );
    } finally {
      if (pid !== null) {
        resume(pid);
        if (isAlive(pid)) process.kill(pid, 'SIGKILL');
      }
      if (server.process.exitCode === null && server.process.signalCode === null) await server.stop();
      else server.connection.dispose();
    }
  });
});

describe('a light-sleeping host killed from outside', { skip: linuxOnly }, () => {
  it('leaves the model sleeping, counts the crash, and the next wake starts a new host', { timeout: 120_000 }, async () => {
    const server = await startServer(settings(tiny, { sleepMode: 'light' }));
    try {
      await server.waitForState('ready');
      const asleep = await server.connection.sendRequest(SleepRequest.type);
      assert.equal(asleep.state, 'sleeping');
      const pid = asleep.memory.hostPid;
      assert.ok(pid !== null, 'light sleep keeps the host');
      process.kill(pid, 'SIGKILL');
      const counted = await server.waitFor((s) => s.counters.hostCrashes === asleep.counters.hostCrashes + 1, 'the crash in the status');
      assert.equal(counted.state, 'sleeping');
      assert.equal(counted.error, null);
      const status: ModelStatus = await server.status();
      assert.equal(status.state, 'sleeping');
      assert.equal(status.memory.hostPid, null);

      server.open(docUri, docText);
      const items = await complete(server);
      assert.ok(Array.isArray(items));
      const woke = await server.status();
      assert.equal(woke.state, 'ready');
      assert.equal(woke.counters.wakes, asleep.counters.wakes + 1);
      assert.ok(woke.memory.hostPid !== null && woke.memory.hostPid !== pid, 'a new host');
      assert.equal(woke.counters.hostCrashes, asleep.counters.hostCrashes + 1);
    } finally {
      await server.stop();
    }
  });
});

describe('Sleep Now on a hung host (#24)', { skip: linuxOnly }, () => {
  for (const sleepMode of ['deep', 'light'] as const) {
    it(
      `(${sleepMode}) with a chat in flight ends sleeping as the user asked, and focus does not wake it`,
      { timeout: 180_000 },
      async () => {
        await withStoppableHost({ sleepMode, wakeOnActivity: true }, async (server, pid) => {
          stopHost(pid);
          const pendingChat = chat(server, 'Tell me a long story').then(
            (r) => r.stopReason,
            (e: unknown) => (e instanceof ResponseError ? `error ${e.code}` : String(e)),
          );
          await until(
            () => server.status(),
            (s) => s.inFlight >= 1,
            'the chat in flight',
          );
          // The drain waits for the chat, which ends when the hung host is found and killed.
          const slept = await server.connection.sendRequest(SleepRequest.type);
          assert.equal(slept.state, 'sleeping', slept.error ?? '');
          assert.equal(slept.error, null);
          assert.equal(slept.memory.hostPid, null);
          assert.match(await pendingChat, /error|abort/);
          await until(
            async () => processState(pid),
            (s) => s === null,
            'the hung host to be gone',
          );
          stopped.delete(pid);
          assert.ok(
            server.logs.some((l) => /did not answer .* so it was stopped/.test(l)),
            'the hang is in the log',
          );
          // After Sleep Now only typing wakes the model: window focus does not.
          await server.connection.sendNotification(ActivityNotification.type, { kind: 'focus' });
          const still = await server.status();
          assert.equal(still.state, 'sleeping');
          await server.connection.sendNotification(ActivityNotification.type, { kind: 'typing' });
          const woke = await server.waitForState('ready');
          assert.notEqual(woke.memory.hostPid, pid);
        });
      },
    );
  }
});

describe('a rendezvous folder planted by another user (#24)', { skip: linuxOnly }, () => {
  /** Without XDG_RUNTIME_DIR the usual folder is local-llm-<uid> in the temp folder: a link to another user's folder is planted there. */
  function planted(): { base: string; env: Record<string, string>; theirs: string; fallback: string } {
    const base = mkdtempSync(path.join(os.tmpdir(), 'llm-planted-'));
    const tmp = path.join(base, 'tmp');
    const theirs = path.join(base, 'theirs');
    mkdirSync(tmp);
    mkdirSync(theirs);
    symlinkSync(theirs, path.join(tmp, `local-llm-${process.getuid!()}`));
    const cache = path.join(base, 'cache');
    // An empty LOCAL_LLM_RUNTIME_DIR keeps the test client from giving the server a folder of its own.
    const env = { LOCAL_LLM_RUNTIME_DIR: '', XDG_RUNTIME_DIR: '', TMPDIR: tmp, XDG_CACHE_HOME: cache };
    return { base, env, theirs, fallback: path.join(cache, 'local-llm', 'run') };
  }

  it('the model loads through a private folder under the cache folder, and the log says where', { timeout: 120_000 }, async () => {
    const { base, env, theirs, fallback } = planted();
    const server = await startServer(settings(tiny), { env });
    try {
      const ready = await server.waitForState('ready');
      assert.equal(ready.counters.hostCrashes, 0);
      assert.ok(
        server.logs.some((l) => l.includes('is not a directory') && l.includes(`shared through ${fallback} instead.`)),
        server.logs.join(''),
      );
      assert.ok(
        readdirSync(fallback).some((name) => name.endsWith('.sock')),
        'the host listens in the fallback folder',
      );
      assert.deepEqual(readdirSync(theirs), [], 'nothing went into the planted folder');
    } finally {
      await server.stop();
      rmSync(base, { recursive: true, force: true });
    }
  });

  it(
    'with the fallback planted too, the load fails in a sentence that is no crash: not counted, not restarted',
    { timeout: 120_000 },
    async () => {
      const { base, env, theirs, fallback } = planted();
      mkdirSync(path.dirname(fallback), { recursive: true });
      symlinkSync(theirs, fallback);
      const server = await startServer(settings(tiny), { env });
      try {
        const failed = await server.waitForState('error');
        assert.match(failed.error ?? '', /is not a directory, so no model host can be shared through it\./);
        assert.doesNotMatch(failed.error ?? '', /restarted after a crash/);
        assert.equal(failed.counters.hostCrashes, 0);
        const status = await server.status();
        assert.equal(status.state, 'error');
        assert.equal(status.counters.hostCrashes, 0);
        assert.deepEqual(readdirSync(theirs), [], 'nothing went into the planted folder');
      } finally {
        await server.stop();
        rmSync(base, { recursive: true, force: true });
      }
    },
  );
});

describe('a model host that hangs before its handshake (#24)', { skip: linuxOnly }, () => {
  /**
   * A preload that stops the first model host the server starts (only a host has
   * LOCAL_LLM_HOST_DIR) before any line of the host runs: it never listens. Later hosts run.
   */
  function stopFirstHost(): { env: Record<string, string>; stoppedPid(): Promise<number>; cleanup(): void } {
    const folder = mkdtempSync(path.join(os.tmpdir(), 'llm-stop-first-'));
    const marker = path.join(folder, 'stopped-pid');
    const preload = path.join(folder, 'stop-first-host.cjs');
    writeFileSync(
      preload,
      `if (process.env.LOCAL_LLM_HOST_DIR) {
  let first = true;
  try {
    require('node:fs').writeFileSync(process.env.STOP_FIRST_HOST, String(process.pid), { flag: 'wx' });
  } catch {
    first = false;
  }
  if (first) process.kill(process.pid, 'SIGSTOP');
}
`,
    );
    return {
      env: { NODE_OPTIONS: `--require ${preload}`, STOP_FIRST_HOST: marker },
      stoppedPid: async () => {
        await until(
          async () => existsSync(marker) && readFileSync(marker, 'utf8') !== '',
          (written) => written,
          'the first host to start',
        );
        const pid = Number(readFileSync(marker, 'utf8'));
        stopped.add(pid);
        await until(
          async () => processState(pid),
          (state) => state === 'T',
          'the first host to stop',
        );
        return pid;
      },
      cleanup: () => rmSync(folder, { recursive: true, force: true }),
    };
  }

  it(
    'stopped before it listens: loading ends in a sentence within the stats bound, the host is killed, the next request loads',
    { timeout: 120_000 },
    async () => {
      const stopper = stopFirstHost();
      const server = await startServer(settings(tiny), { env: stopper.env });
      try {
        const pid = await stopper.stoppedPid();
        const failed = await server.waitForState('error');
        assert.equal(
          failed.error,
          'The model host did not start listening within 10 s, so it was stopped; the next request starts a new one.',
        );
        assert.equal(failed.counters.hostCrashes, 1);
        await until(
          async () => processState(pid),
          (state) => state === null,
          'the stopped host to be killed',
        );
        stopped.delete(pid);
        // A hang is not restarted on its own; the next request starts a new host.
        const answer = await chat(server, 'hi');
        assert.ok(['eos', 'maxTokens'].includes(answer.stopReason), answer.stopReason);
        const after = await server.status();
        assert.equal(after.state, 'ready');
        assert.ok(after.memory.hostPid !== null && after.memory.hostPid !== pid);
      } finally {
        await server.stop();
        stopper.cleanup();
      }
    },
  );

  it('a new setting while it hangs gets through, and the stopped host is killed', { timeout: 120_000 }, async () => {
    const stopper = stopFirstHost();
    const server = await startServer(settings(tiny), { env: stopper.env });
    try {
      const pid = await stopper.stoppedPid();
      assert.equal((await server.status()).state, 'loading');
      server.configure(settings(tiny, { contextSize: 2048 }));
      const ready = await server.waitFor((s) => s.state === 'ready' && s.model?.contextSize === 2048, 'the new setting loaded');
      assert.ok(ready.memory.hostPid !== null && ready.memory.hostPid !== pid);
      await until(
        async () => processState(pid),
        (state) => state === null,
        'the stopped host to be killed',
      );
      stopped.delete(pid);
    } finally {
      await server.stop();
      stopper.cleanup();
    }
  });
});

describe('a failed-load host killed on a model switch (#24)', { skip: linuxOnly }, () => {
  it('leaves no socket, lock or description behind', { timeout: 120_000 }, async () => {
    const runtime = mkdtempSync(path.join(os.tmpdir(), 'llm-rt-killed-'));
    // Passes the server's header check; llama.cpp itself refuses it, and the host lives on without a model.
    const refused = path.join(dir, 'no-context-length.gguf');
    await writeGguf(refused, { ...tinyOptions, name: 'no-context-length', omitKeys: ['llama.context_length'] });
    const server = await startServer(settings(refused), { env: { LOCAL_LLM_RUNTIME_DIR: runtime } });
    try {
      const failed = await server.waitForState('error');
      assert.match(failed.error ?? '', /llama\.cpp could not load/);
      const pid = failed.memory.hostPid ?? (await server.status()).memory.hostPid;
      assert.ok(pid !== null, 'the host lives on after the failed load');
      const key = /^host-([0-9a-f]{16})\.lock$/.exec(readdirSync(runtime).find((n) => n.endsWith('.lock')) ?? '')?.[1];
      assert.ok(key, readdirSync(runtime).join(' '));
      const own = (): string[] => readdirSync(runtime).filter((n) => n.startsWith(`host-${key}.`) && !n.endsWith('.log'));
      assert.deepEqual(own().sort(), [`host-${key}.json`, `host-${key}.lock`, `host-${key}.sock`]);

      // Another model: the host of the refused one is killed (it holds nothing worth a clean exit).
      server.configure(settings(tiny));
      const ready = await server.waitFor((s) => s.state === 'ready' && s.model?.path === tiny, 'the new model');
      assert.notEqual(ready.memory.hostPid, pid);
      await until(
        async () => processState(pid),
        (state) => state === null,
        'the killed host to be gone',
      );
      await until(
        async () => own(),
        (left) => left.length === 0,
        "the killed host's files to be removed",
        30_000,
      );
    } finally {
      await server.stop();
      rmSync(runtime, { recursive: true, force: true });
    }
  });
});
