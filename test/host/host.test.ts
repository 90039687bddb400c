// The real, built model host (dist/host.js) driven through HostProcess, on generated GGUF models,
// reached as production reaches it: started detached and attached through its socket, in a
// rendezvous folder of each test host's own (LOCAL_LLM_RUNTIME_DIR). A host serves one model and
// load settings (its identity): a test of another file starts another host, as a window would.
// Random weights write noise, so these tests assert stop reasons, counts, states and memory;
// never text content and never timings.
// Run: npm run build && node --import tsx --test test/host/host.test.ts
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { GenerationResult, InfillParams, LoadParams } from '../../server/src/engine/types';
import { describeExit, HostProcess, type HostExit } from '../../server/src/engine/local/hostProcess';
import type { HostDeadlines } from '../../server/src/engine/hostDeadlines';
import { testHooksEnv } from '../../server/src/shared/testHooks';
import { processState } from '../fixtures/processes';
import { brokenModels, largeModel, tinyModel, tinyOptions, type BrokenModels } from '../fixtures/models';
import { writeGguf } from '../../scripts/dev/gguf';

const hostPath = path.resolve(__dirname, '..', '..', 'dist', 'host.js');
const threads = os.availableParallelism();
const mb = 1024 * 1024;
const finished = ['eos', 'maxTokens', 'maxLines', 'suffix'];

interface TestHost {
  host: HostProcess;
  lines: string[];
  exits: HostExit[];
  /** The host's rendezvous folder; another handle attached there reaches the same host. */
  dir: string;
  params: LoadParams;
}

/** Rendezvous folders of the test hosts, removed at the end (a host a test failed to end leaves after its grace). */
const runtimeDirs: string[] = [];
after(() => {
  for (const dir of runtimeDirs) rmSync(dir, { recursive: true, force: true });
});

/** A handle on the host of `params` in `dir`: it starts the host when none runs there. */
function attachHost(params: LoadParams, dir: string, deadlines?: Partial<HostDeadlines>): TestHost {
  const lines: string[] = [];
  const exits: HostExit[] = [];
  const { modelPath, gpu, gpuLayers, contextSize, threads } = params;
  const host = new HostProcess({
    hostPath,
    log: (line) => lines.push(line),
    env: { ...process.env, LOCAL_LLM_RUNTIME_DIR: dir, ...testHooksEnv({ hostGraceMs: 1000 }) },
    deadlines,
    identity: { modelPath, gpu, gpuLayers, contextSize, threads },
    // No idle sleep: the tests decide every sleep.
    hello: { idleMs: 0, sleepMode: 'deep', stateCapBytes: 0 },
  });
  host.onExit((exit) => exits.push(exit));
  return { host, lines, exits, dir, params };
}

/** A new host for these load settings, in a rendezvous folder of its own. */
function spawnHost(params: LoadParams, deadlines?: Partial<HostDeadlines>): TestHost {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'llm-rt-host-'));
  runtimeDirs.push(dir);
  return attachHost(params, dir, deadlines);
}

const loadParams = (modelPath: string, overrides: Partial<LoadParams> = {}): LoadParams => ({
  modelPath,
  gpu: 'auto',
  gpuLayers: 'auto',
  // A one-token-per-character vocabulary needs room for the chat template.
  contextSize: 1024,
  threads,
  ...overrides,
});

const infillParams = (overrides: Partial<InfillParams> = {}): InfillParams => ({
  prefix: 'function add(a, b) {\n',
  middle: '  return ',
  suffix: '\n}\n',
  prefixTokens: 256,
  suffixTokens: 64,
  maxTokens: 16,
  maxLines: 100,
  stopTexts: [],
  ...overrides,
});

const newlines = (text: string): number => text.split('\n').length - 1;

/** Rejects with an Error whose message (not its `Error: ` string form) matches. */
async function rejectsWith(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof Error, `an Error, not ${String(err)}`);
    assert.match(err.message, pattern);
    return true;
  });
}

let tiny: string;
let broken: BrokenModels;

before(async () => {
  tiny = await tinyModel();
  broken = await brokenModels(mkdtempSync(path.join(os.tmpdir(), 'local-llm-host-broken-')));
});

describe('a loaded tiny model', () => {
  let t: TestHost;
  before(async () => {
    t = spawnHost(loadParams(tiny));
    await t.host.load(loadParams(tiny));
  });
  after(() => t.host.shutdown(5000));

  it('load reports the model, its layers, FIM support and the backend', async () => {
    const result = await t.host.load(loadParams(tiny));
    assert.equal(result.name, 'tiny-random');
    assert.equal(result.sizeBytes, statSync(tiny).size);
    assert.equal(result.totalLayers, 3, 'two blocks plus the output layer');
    if (result.backend === 'cpu') assert.equal(result.gpuLayers, 0);
    else
      assert.ok(
        result.gpuLayers >= 1 && result.gpuLayers <= result.totalLayers,
        `${result.gpuLayers} of ${result.totalLayers} layers on the GPU`,
      );
    assert.equal(result.contextSize, 1024);
    assert.equal(result.hasFim, true);
    assert.ok(['cpu', 'cuda', 'metal', 'vulkan'].includes(result.backend));
    assert.equal(result.fallbackReason, null, 'auto never needs a fallback');
    assert.equal((await t.host.stats()).loaded, true);
  });

  it('infill stops with a valid reason and never goes past maxTokens', async () => {
    for (const maxTokens of [1, 5, 16]) {
      const result = await t.host.infill(infillParams({ maxTokens }));
      assert.ok(finished.includes(result.stopReason), result.stopReason);
      // The library may take one more token to finish a UTF-8 character it started.
      assert.ok(result.tokens >= 1 && result.tokens <= maxTokens + 1, `${result.tokens} tokens for maxTokens ${maxTokens}`);
      if (result.stopReason === 'maxTokens') assert.ok(result.tokens >= maxTokens);
    }
  });

  it('infill stops at maxLines and keeps only the text before that line break', async () => {
    // Greedy decoding is deterministic: find a prompt whose free answer has several lines.
    let free: GenerationResult | null = null;
    let prefix = '';
    for (let i = 0; i < 20 && !free; i++) {
      prefix = `let v${i} = [${i}, ${i * 7}];\nif (v${i}) {\n`;
      const r = await t.host.infill(infillParams({ prefix, middle: '  ', maxTokens: 48 }));
      if (newlines(r.text) >= 2) free = r;
    }
    assert.ok(free, 'the tiny model writes line breaks for some prompt');
    const one = await t.host.infill(infillParams({ prefix, middle: '  ', maxTokens: 48, maxLines: 1 }));
    assert.equal(one.stopReason, 'maxLines');
    assert.equal(one.text, free.text.slice(0, free.text.indexOf('\n')));
    const two = await t.host.infill(infillParams({ prefix, middle: '  ', maxTokens: 48, maxLines: 2 }));
    assert.equal(two.stopReason, 'maxLines');
    assert.equal(newlines(two.text), 1);
    assert.ok(free.text.startsWith(`${two.text}\n`));
  });

  it('a stop text ends the infill with stopReason suffix, before the stop text', async () => {
    const free = await t.host.infill(infillParams({ maxTokens: 32 }));
    // A printable piece from the middle of what the model writes anyway.
    const match = /[!-~]{2}/.exec(free.text.slice(3));
    assert.ok(match, `printable text in the free answer: ${JSON.stringify(free.text)}`);
    const stop = match[0];
    const stopped = await t.host.infill(infillParams({ maxTokens: 32, stopTexts: ['', stop] }));
    assert.equal(stopped.stopReason, 'suffix');
    assert.ok(!stopped.text.includes(stop));
    assert.ok(free.text.startsWith(stopped.text));
  });

  it('a 10 MB prefix and suffix complete like small ones, cut to their token budgets', async () => {
    const huge = 'const value = compute(1, 2, 3);\n'.repeat(330_000);
    assert.ok(huge.length > 10_000_000);
    const params = infillParams({ prefix: huge, suffix: huge, maxTokens: 4 });
    const result = await t.host.infill(params);
    assert.ok(finished.includes(result.stopReason), result.stopReason);
    assert.ok(result.tokens <= 5);
    // Within the budgets (the prefix's includes the middle), plus the FIM control tokens and BOS;
    // and more than the suffix alone: the cut kept the end of the prefix, not nothing of it.
    const { promptTokens } = result.figures;
    const budget = params.prefixTokens + params.suffixTokens + 8;
    assert.ok(promptTokens <= budget, `${promptTokens} prompt tokens for a budget of ${budget}`);
    assert.ok(promptTokens > params.suffixTokens + params.middle.length, `${promptTokens} prompt tokens: some of the prefix was kept`);
  });

  it('chat streams chunks that add up to the answer', async () => {
    const chunks: string[] = [];
    const result = await t.host.chat(
      {
        messages: [
          { role: 'system', text: 'You are terse.' },
          { role: 'user', text: 'What is 2 + 2?' },
          { role: 'assistant', text: '4' },
          { role: 'user', text: 'And 3 + 3?' },
        ],
        maxTokens: 24,
      },
      (text) => chunks.push(text),
    );
    assert.ok(['eos', 'maxTokens'].includes(result.stopReason), result.stopReason);
    assert.ok(chunks.length >= 1, 'at least one chunk streamed');
    assert.equal(chunks.join(''), result.text);
    assert.ok(result.tokens >= 1 && result.tokens <= 25);
  });

  it('aborting a chat mid-answer stops the generation in the host with stopReason abort', async () => {
    // A second window on the same host that waits for the host's own answer to a cancel, however
    // long it takes, so that the answer below is the host's (its figures), never the handle's.
    const patient = attachHost(t.params, t.dir, { cancelGraceMs: 10 * 60_000 });
    try {
      const controller = new AbortController();
      let chunks = 0;
      const result = await patient.host.chat(
        { messages: [{ role: 'user', text: 'Write a very long story.' }], maxTokens: 900 },
        () => {
          chunks++;
          controller.abort();
        },
        controller.signal,
      );
      assert.equal(result.stopReason, 'abort');
      assert.ok(chunks >= 1);
      assert.ok(result.figures.promptTokens > 0, 'the host answered the cancel itself');
      // It generated the chunk that aborted it, and stopped long before the 900 it was allowed.
      assert.ok(result.tokens >= 1 && result.tokens < 900, `${result.tokens} tokens`);
    } finally {
      await patient.host.detach();
    }
  });

  it('a request cancelled before it runs answers abort, and the next one runs normally', async () => {
    const result = await t.host.infill(infillParams(), AbortSignal.abort());
    assert.equal(result.stopReason, 'abort');
    const next = await t.host.infill(infillParams({ maxTokens: 3 }));
    assert.ok(finished.includes(next.stopReason));
  });

  it('a request waiting behind a running generation on its sequence leaves the queue at once when cancelled', async () => {
    const first = new AbortController();
    const second = new AbortController();
    let onFirstChunk = (): void => undefined;
    const waiting = new Promise<GenerationResult>((resolve) => {
      onFirstChunk = () => {
        onFirstChunk = () => undefined;
        // The chat is generating now, so a second chat queues behind it (a completion would run
        // beside it, on its own sequence); then it is cancelled.
        resolve(t.host.chat({ messages: [{ role: 'user', text: 'And more.' }], maxTokens: 50 }, () => undefined, second.signal));
        second.abort();
      };
    });
    const running = t.host.chat(
      { messages: [{ role: 'user', text: 'Tell me everything.' }], maxTokens: 900 },
      () => onFirstChunk(),
      first.signal,
    );
    const cancelled = await waiting;
    assert.equal(cancelled.stopReason, 'abort');
    assert.equal(cancelled.tokens, 0, 'it never ran');
    first.abort();
    const answer = await running;
    assert.ok(['abort', 'eos', 'maxTokens'].includes(answer.stopReason));
  });

  it('unload frees the model; a request then wakes it with the last load; a second load works', async () => {
    const stats = await t.host.unload();
    assert.equal(stats.loaded, false);
    const again = await t.host.unload();
    assert.equal(again.loaded, false, 'unloading twice is harmless');
    // A request that finds the model asleep (a window that had not heard of the sleep yet) wakes it.
    const woken = await t.host.chat({ messages: [{ role: 'user', text: 'hi' }], maxTokens: 4 }, () => undefined);
    assert.ok(['eos', 'maxTokens'].includes(woken.stopReason), woken.stopReason);
    assert.equal((await t.host.stats()).loaded, true);
    await t.host.unload();
    await t.host.load(loadParams(tiny));
    const result = await t.host.infill(infillParams({ maxTokens: 3 }));
    assert.ok(finished.includes(result.stopReason));
    assert.equal(t.exits.length, 0);
  });
});

describe('a host with no model loaded', () => {
  it('refuses requests in words and lives on', async () => {
    const t = spawnHost(loadParams(tiny));
    try {
      await rejectsWith(t.host.infill(infillParams()), /No model is loaded/);
      await rejectsWith(
        t.host.chat({ messages: [{ role: 'user', text: 'hi' }], maxTokens: 4 }, () => undefined),
        /No model is loaded/,
      );
      assert.equal(t.host.exit, null);
      assert.equal((await t.host.stats()).loaded, false);
    } finally {
      await t.host.shutdown(5000);
    }
  });
});

describe('bad model files', () => {
  // The window's model, loaded before another window (or this one, after a settings change) asks
  // for a bad file: that is a host of its own, which must refuse it in words and live on.
  let t: TestHost;
  before(async () => {
    t = spawnHost(loadParams(tiny));
    await t.host.load(loadParams(tiny));
  });
  after(() => t.host.shutdown(5000));

  /** Runs `work` on a host for `params` of its own, shut down after it. */
  async function withHost(params: LoadParams, work: (b: TestHost) => Promise<void>): Promise<void> {
    const b = spawnHost(params);
    try {
      await work(b);
    } finally {
      await b.host.shutdown(5000);
    }
  }

  const cases: Array<[keyof BrokenModels, RegExp]> = [
    ['missing', /^The model file .*does-not-exist\.gguf does not exist\.$/],
    ['empty', /^The model file .*empty\.gguf is empty\.$/],
    ['notGguf', /^The model file .*not-gguf\.gguf is not a GGUF file\.$/],
    ['truncated', /^The model file .*truncated\.gguf is truncated or corrupt\.$/],
    ['noFeedForward', /^The model file .* is missing llama\.feed_forward_length, so llama\.cpp cannot load it\.$/],
    ['noHeadCount', /^The model file .* is missing llama\.attention\.head_count, so llama\.cpp cannot load it\.$/],
  ];
  for (const [kind, pattern] of cases) {
    it(`${kind}: one clear sentence; the host and the model loaded before live on`, async () => {
      await withHost(loadParams(broken[kind]), async (b) => {
        await rejectsWith(b.host.load(loadParams(broken[kind])), pattern);
        assert.equal(b.host.exit, null, 'the host process is still running');
        assert.equal((await b.host.stats()).loaded, false);
      });
      assert.equal((await t.host.stats()).loaded, true);
    });
  }

  it('a folder given as the model is refused in words', async () => {
    await withHost(loadParams(os.tmpdir()), async (b) => {
      await rejectsWith(b.host.load(loadParams(os.tmpdir())), /is a folder, not a \.gguf file/);
    });
  });

  it('after every bad file, the model loaded before still completes, and a host that refused a file loads it once it is good', async () => {
    assert.ok(finished.includes((await t.host.infill(infillParams({ maxTokens: 3 }))).stopReason));
    // The same path, empty at first and then a good model (a download that finished meanwhile).
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'local-llm-host-late-')), 'late.gguf');
    copyFileSync(broken.empty, file);
    await withHost(loadParams(file), async (b) => {
      await rejectsWith(b.host.load(loadParams(file)), /is empty/);
      assert.equal((await b.host.stats()).loaded, false);
      copyFileSync(tiny, file);
      await b.host.load(loadParams(file));
      const result = await b.host.infill(infillParams({ maxTokens: 3 }));
      assert.ok(finished.includes(result.stopReason));
      assert.equal(b.exits.length, 0);
    });
    assert.equal(t.exits.length, 0);
    rmSync(path.dirname(file), { recursive: true, force: true });
  });

  it('a model without FIM tokens loads, refuses infill in words and still chats', async () => {
    await withHost(loadParams(broken.noFim), async (b) => {
      const result = await b.host.load(loadParams(broken.noFim));
      assert.equal(result.hasFim, false);
      await rejectsWith(b.host.infill(infillParams()), /has no fill-in-the-middle tokens/);
      const answer = await b.host.chat({ messages: [{ role: 'user', text: 'hi' }], maxTokens: 8 }, () => undefined);
      assert.ok(['eos', 'maxTokens'].includes(answer.stopReason));
    });
  });

  it('a host refuses load settings other than its own, in words, and keeps its model', async () => {
    await rejectsWith(
      t.host.load(loadParams(broken.noFim)),
      /^This model host serves .* with other settings; the server asked the wrong host\.$/,
    );
    assert.equal((await t.host.stats()).loaded, true);
  });

  it(
    'an unavailable GPU backend falls back to the CPU and says so',
    { skip: process.platform !== 'linux' && 'Metal exists off Linux' },
    async () => {
      await withHost(loadParams(tiny, { gpu: 'metal' }), async (b) => {
        const result = await b.host.load(loadParams(tiny, { gpu: 'metal' }));
        assert.equal(result.backend, 'cpu');
        assert.match(result.fallbackReason ?? '', /^Metal is not available on this machine, so the model runs on the CPU\.$/);
        const answer = await b.host.infill(infillParams({ maxTokens: 2 }));
        assert.ok(finished.includes(answer.stopReason));
      });
    },
  );
});

describe('memory of a large model', () => {
  it('after unload, RSS falls back to within 64 MB of what it was before the first load', async (ctx) => {
    const model = await largeModel();
    const size = statSync(model).size;
    assert.ok(size >= 200 * mb, `the large model is ${Math.round(size / mb)} MB`);
    const t = spawnHost(loadParams(model, { contextSize: 2048 }));
    try {
      const before = (await t.host.stats()).rssBytes;
      for (let cycle = 1; cycle <= 2; cycle++) {
        await t.host.load(loadParams(model, { contextSize: 2048 }));
        await t.host.infill(infillParams({ prefix: '', middle: 'let x = ', suffix: ';', maxTokens: 1 }));
        const loaded = (await t.host.stats()).rssBytes;
        const unloaded = (await t.host.unload()).rssBytes;
        const report = `cycle ${cycle}: before ${Math.round(before / mb)} MB, loaded ${Math.round(loaded / mb)} MB, after unload ${Math.round(unloaded / mb)} MB`;
        ctx.diagnostic(report);
        assert.ok(loaded - before > size * 0.8, `the weights were resident (${report})`);
        assert.ok(unloaded - before < 64 * mb, `memory came back (${report})`);
        // The /proc reader used while the host is busy agrees with the host's own figure.
        const fromProc = t.host.rssBytes();
        assert.ok(fromProc !== null && Math.abs(fromProc - unloaded) < 16 * mb, report);
      }
    } finally {
      await t.host.shutdown(5000);
    }
  });
});

describe('the host process dying', () => {
  it('SIGKILL mid-request rejects the request with a sentence, and a new host works', async () => {
    const t = spawnHost(loadParams(tiny));
    await t.host.load(loadParams(tiny));
    const pid = t.host.pid;
    assert.ok(pid);
    let killed = false;
    const pending = t.host.chat({ messages: [{ role: 'user', text: 'Write a very long story.' }], maxTokens: 900 }, () => {
      if (!killed) process.kill(pid, 'SIGKILL');
      killed = true;
    });
    await rejectsWith(pending, /^The model host was killed, most often because the system ran out of memory\.$/);
    assert.equal(t.exits.length, 1);
    assert.equal(t.exits[0]!.signal, 'SIGKILL');
    assert.equal(t.exits[0]!.expected, false);
    await rejectsWith(t.host.stats(), /was killed/);
    assert.equal(t.host.rssBytes(), null);

    const fresh = attachHost(t.params, t.dir);
    try {
      await fresh.host.load(loadParams(tiny));
      const result = await fresh.host.infill(infillParams({ maxTokens: 3 }));
      assert.ok(finished.includes(result.stopReason));
    } finally {
      await fresh.host.shutdown(5000);
    }
  });

  it('SIGABRT (what llama.cpp does on a GPU fault) is reported as a llama.cpp abort', async () => {
    const t = spawnHost(loadParams(tiny));
    await t.host.stats();
    const exited = new Promise<HostExit>((resolve) => t.host.onExit(resolve));
    process.kill(t.host.pid!, 'SIGABRT');
    const exit = await exited;
    assert.equal(exit.signal, 'SIGABRT');
    assert.equal(exit.expected, false);
    assert.match(exit.message, /^llama\.cpp aborted the model host/);
  });

  it('shutdown ends the host as an expected exit; requests after it fail in words', async () => {
    const t = spawnHost(loadParams(tiny));
    await t.host.load(loadParams(tiny));
    const exit = await t.host.shutdown(5000);
    assert.equal(exit.expected, true);
    assert.equal(exit.code, 0, 'it exited by itself, not by a signal');
    assert.equal(t.exits.length, 1);
    await rejectsWith(t.host.infill(infillParams()), /^The model host stopped\.$/);
  });

  it('a missing host bundle is refused in words', () => {
    const { modelPath, gpu, gpuLayers, contextSize, threads } = loadParams(tiny);
    assert.throws(
      () =>
        new HostProcess({
          hostPath: path.join(os.tmpdir(), 'no-such-host.js'),
          identity: { modelPath, gpu, gpuLayers, contextSize, threads },
          hello: { idleMs: 0, sleepMode: 'deep', stateCapBytes: 0 },
        }),
      /does not exist; the extension is not built/,
    );
  });
});

describe('describeExit', () => {
  it('says what each ending means', () => {
    assert.equal(describeExit(0, null, true, null), 'The model host stopped.');
    assert.match(describeExit(null, 'SIGKILL', false, null), /ran out of memory/);
    assert.match(
      describeExit(null, 'SIGABRT', false, 'CUDA error: unsupported toolchain.'),
      /^llama\.cpp aborted the model host: CUDA error: unsupported toolchain\.$/,
    );
    const assertLine =
      '/home/runner/work/node-llama-cpp/llama/llama.cpp/src/llama-model-loader.cpp:1321: GGML_ASSERT(t_meta.ne[dim] >= 1) failed';
    assert.equal(
      describeExit(null, 'SIGABRT', false, assertLine),
      'llama.cpp aborted the model host: llama-model-loader.cpp:1321: GGML_ASSERT(t_meta.ne[dim] >= 1) failed.',
    );
    assert.match(describeExit(null, 'SIGABRT', false, null), /GPU fault/);
    assert.match(describeExit(null, 'SIGSEGV', false, null), /crashed in native code \(SIGSEGV\)/);
    assert.equal(describeExit(3, null, false, 'Model host error: boom'), 'The model host exited with code 3: Model host error: boom.');
    assert.equal(describeExit(0, null, false, null), 'The model host exited unexpectedly.');
  });
});

/** The pid of the host a handle is attached to (known from the host's hello on). */
function pidOf(host: HostProcess): number {
  const pid = host.pid;
  assert.ok(pid, 'the host said hello');
  return pid;
}

/** Whether the process is gone (not even a zombie) within `ms`. */
async function goneWithin(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (processState(pid) !== null && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  return processState(pid) === null;
}

/** Lets a stopped host run again and ends it, whatever the test did to it. */
async function release(host: HostProcess): Promise<void> {
  const pid = host.pid;
  if (pid !== undefined && !host.exit) {
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      // Already gone.
    }
  }
  await host.kill();
}

describe('robustness of the host', { skip: process.platform !== 'linux' && 'named pipes, SIGSTOP and /proc' }, () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'local-llm-host-robust-'));
  });

  it('a named pipe given as the model is refused in words, without an open that never returns', { timeout: 60_000 }, async () => {
    const fifo = path.join(dir, 'pipe.gguf');
    execFileSync('mkfifo', [fifo]);
    const t = spawnHost(loadParams(fifo));
    try {
      await rejectsWith(
        t.host.load(loadParams(fifo)),
        /^The model file .*pipe\.gguf cannot be loaded: it is a named pipe, not a regular file\.$/,
      );
      // The host and its queue are free: a real model loads after it (at the same path: the host's one model).
      rmSync(fifo);
      copyFileSync(tiny, fifo);
      assert.equal((await t.host.load(loadParams(fifo))).hasFim, true);
    } finally {
      await release(t.host);
    }
  });

  it('after llama.cpp refused a file, shutdown ends with the host exiting by itself', { timeout: 60_000 }, async () => {
    // Passes our header check; llama.cpp itself refuses it ("key not found").
    const refused = path.join(dir, 'no-context-length.gguf');
    await writeGguf(refused, { ...tinyOptions, name: 'no-context-length', omitKeys: ['llama.context_length'] });
    const t = spawnHost(loadParams(refused));
    try {
      await rejectsWith(t.host.load(loadParams(refused)), /^llama\.cpp could not load .*no-context-length\.gguf/);
      // A good model at the same path (the host's one model) loads after it.
      copyFileSync(tiny, refused);
      await t.host.load(loadParams(refused));
      // The unload collects garbage, which is what left node-llama-cpp waiting forever.
      await t.host.unload();
      const exit = await t.host.shutdown(5000);
      assert.equal(exit.signal, null, `it ended by ${exit.signal}, not by itself`);
      assert.equal(exit.code, 0);
      assert.equal(exit.expected, true);
      // Disposing finished: the host did not have to give up on it and exit anyway.
      assert.deepEqual(
        t.lines.filter((l) => /Disposing the model did not finish/.test(l)),
        [],
      );
    } finally {
      await release(t.host);
    }
  });

  it('a host that misses a deadline is killed as hung, in a sentence', { timeout: 60_000 }, async () => {
    const { host: t, exits } = spawnHost(loadParams(tiny), { statsMs: 500 });
    try {
      // The first answer waits for node-llama-cpp's import; a load has a long deadline of its own.
      await t.load(loadParams(tiny));
      const pid = pidOf(t);
      process.kill(pid, 'SIGSTOP');
      await rejectsWith(
        t.stats(),
        /^The model host did not answer a status request within 500 ms, so it was stopped; the next request starts a new one\.$/,
      );
      assert.equal(exits.length, 1);
      assert.equal(exits[0]!.hung, true);
      assert.equal(exits[0]!.expected, false);
      // The handle lets go at the kill; the process is gone once the system has reaped it.
      assert.equal(await goneWithin(pid, 10_000), true, 'the stopped host is gone');
    } finally {
      await release(t);
    }
  });

  it(
    'a generation cancelled while the host is stopped is answered at once; the heartbeat then finds the host hung',
    { timeout: 60_000 },
    async () => {
      const { host: t, exits } = spawnHost(loadParams(tiny), { statsMs: 1000, heartbeatMs: 200 });
      try {
        await t.load(loadParams(tiny));
        const pid = pidOf(t);
        process.kill(pid, 'SIGSTOP');
        const controller = new AbortController();
        const pending = t.infill(infillParams({ maxTokens: 900 }), controller.signal);
        controller.abort();
        const result = await pending;
        assert.equal(result.stopReason, 'abort');
        // Answered while the host could not answer anything.
        assert.equal(exits.length, 0);
        assert.equal(processState(pid), 'T');
        const exit = await new Promise<HostExit>((resolve) => (exits.length ? resolve(exits[0]!) : t.onExit(resolve)));
        assert.equal(exit.hung, true);
        assert.match(exit.message, /^The model host did not answer a check that it still runs within 1 s, so it was stopped/);
      } finally {
        await release(t);
      }
    },
  );
});
