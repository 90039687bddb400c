// The built server over stdio, a real LSP client connection, the real model host and a generated
// GGUF. Asserts states, counts, stop reasons and memory; never text or timings.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  CancellationTokenSource,
  InlineCompletionRequest,
  ResponseError,
  type InlineCompletionItem,
} from 'vscode-languageserver-protocol/node';
import { defaultHistoryLimits } from '../../server/src/chat/history';
import { cursorLineReserveChars, defaultBudget, lineBoundaryScanChars, windowStepChars } from '../../server/src/completion/prompt';
import {
  ChatRequest,
  ChatResetRequest,
  SleepRequest,
  WakeRequest,
  type ChatChunk,
  type ChatContext,
  type ChatResult,
} from '../../server/src/shared/protocol';
import { brokenModels, largeModel, tinyModel, type BrokenModels } from '../fixtures/models';
import { startServer, type TestServer } from './lspClient';
import { isAlive } from '../fixtures/processes';

const mb = 1024 * 1024;
const docUri = 'file:///work/sample.ts';
const docText = 'function add(a: number, b: number) {\n  return \n}\n\nconsole.log(add(1, 2));\n';
const cursor = { line: 1, character: 9 };

let tiny: string;
let broken: BrokenModels;

function baseSettings(model: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model,
    contextSize: 1024,
    // Two llama.cpp threads on two busy cores spin against each other (300 tokens: 20 s instead of 0.4 s).
    threads: 1,
    sleepIdleSeconds: 0,
    completion: { debounceMs: 0, maxTokens: 16, maxLines: 4 },
    ...extra,
  };
}

function complete(
  server: TestServer,
  token?: CancellationTokenSource['token'],
  uri = docUri,
  position = cursor,
): Promise<InlineCompletionItem[] | null> {
  return server.connection.sendRequest(
    InlineCompletionRequest.type,
    { textDocument: { uri }, position, context: { triggerKind: 2 } },
    token,
  ) as Promise<InlineCompletionItem[] | null>;
}

function chat(
  server: TestServer,
  message: string,
  chunks: ChatChunk[],
  token?: CancellationTokenSource['token'],
  context?: ChatContext,
): Promise<ChatResult> {
  const partialResultToken = `chat-${Math.random()}`;
  server.connection.onProgress(ChatRequest.type, partialResultToken, (chunk) => {
    chunks.push(chunk);
  });
  return server.connection.sendRequest(
    ChatRequest.type,
    { sessionId: 's1', message, partialResultToken, ...(context ? { context } : {}) },
    token,
  );
}

/** The server's log lines from index `from` on that start with `prefix`. */
function logLines(server: TestServer, from: number, prefix: string): string[] {
  return server.logs.slice(from).filter((l) => l.startsWith(prefix));
}

before(async () => {
  tiny = await tinyModel();
  broken = await brokenModels(mkdtempSync(path.join(os.tmpdir(), 'local-llm-broken-')));
});

describe('completion and chat', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer(baseSettings(tiny));
    await server.waitForState('ready');
    server.open(docUri, docText);
  });
  after(() => server.stop());

  it('an inline completion returns items from the model', async () => {
    // Random weights can produce nothing but whitespace; a few positions make that unlikely to matter.
    let items: InlineCompletionItem[] = [];
    for (const character of [9, 2, 0]) {
      items = (await complete(server, undefined, docUri, { line: 1, character })) ?? [];
      if (items.length) break;
    }
    assert.ok(items.length > 0, 'expected at least one completion item');
    assert.equal(typeof items[0].insertText, 'string');
    const lines = (items[0].insertText as string).split('\n').length;
    assert.ok(lines <= 4, `maxLines is 4, got ${lines} lines`);
  });

  it('typing along a shown completion is served from the cache, without generating', async () => {
    const uri = 'file:///work/along.ts';
    const text = 'const values = [1, 2, 3];\nconst total = \n';
    server.open(uri, text);
    const shown = await someCompletion(server, uri, 2);
    const before = (await server.status()).completions;
    const { line, character } = shown.position;
    const lines = text.split('\n');
    lines[line] = lines[line].slice(0, character) + shown.text[0] + lines[line].slice(character);
    server.change(uri, 2, lines.join('\n'));
    const items = (await complete(server, undefined, uri, { line, character: character + 1 })) ?? [];
    const after = (await server.status()).completions;
    assert.equal(items[0]?.insertText, shown.text.slice(1));
    assert.equal(after.cacheHits - before.cacheHits, 1);
    assert.equal(after.generated, before.generated);
  });

  it('status carries the pace of the completions the user waited for, once a few ran', async () => {
    const uri = 'file:///work/pace.ts';
    server.open(uri, 'function one() {\n  return 1;\n}\nfunction two() {\n  return 2;\n}\n');
    for (const line of [1, 4, 5]) await complete(server, undefined, uri, { line, character: 0 });
    const status = await server.status();
    const pace = status.completionPace;
    assert.ok(pace, 'three completions ran, so the status judges their pace');
    // Every completion that ran to its end (capped or not) is one sample, up to the last ten.
    assert.equal(pace.samples, Math.min(10, status.completions.generated));
    assert.ok(pace.p50Ms > 0 && pace.capped <= pace.samples, JSON.stringify(pace));
    assert.equal(pace.maxTokens, 16);
  });

  it('a chat turn streams partial results and finishes', async () => {
    const chunks: ChatChunk[] = [];
    const result = await chat(server, 'Say hello', chunks);
    assert.ok(['eos', 'maxTokens'].includes(result.stopReason), result.stopReason);
    assert.ok(chunks.length > 0, 'expected streamed chunks');
    assert.equal(chunks.map((c) => c.text).join(''), result.text);
  });

  it('cancelling a chat stops it', async () => {
    await server.connection.sendRequest(ChatResetRequest.type, { sessionId: 's1' });
    const source = new CancellationTokenSource();
    // Cancelled as the second piece arrives, not after a poll the tiny model's answer could outrun.
    let pieces = 0;
    const partialResultToken = 'chat-cancelled';
    server.connection.onProgress(ChatRequest.type, partialResultToken, () => {
      if (++pieces === 2) source.cancel();
    });
    const pending = server.connection.sendRequest(
      ChatRequest.type,
      { sessionId: 's1', message: 'Write a long story', partialResultToken },
      source.token,
    );
    const outcome = await pending.then(
      (r) => r.stopReason,
      (e: unknown) => (e instanceof ResponseError ? `error ${e.code}` : String(e)),
    );
    assert.ok(outcome === 'abort' || outcome === 'error -32800', `unexpected outcome ${outcome}`);
    const status = await server.status();
    assert.equal(status.inFlight, 0);
    assert.equal(status.state, 'ready');
  });

  it('a chat turn carries the editor context to the model, and the next turn remembers it', async () => {
    await server.connection.sendRequest(ChatResetRequest.type, { sessionId: 's1' });
    const selection = readFileSync(path.join(__dirname, '..', 'fixtures', 'workspace', 'fibonacci.ts'), 'utf8');
    const context: ChatContext = { fileName: 'src/fibonacci.ts', languageId: 'typescript', selection };
    const from = server.logs.length;
    // The context is taken before the first piece streams; stop there.
    const stopAtFirstChunk = async (message: string, withContext?: ChatContext): Promise<void> => {
      const source = new CancellationTokenSource();
      const chunks: ChatChunk[] = [];
      let settled = false;
      const pending = chat(server, message, chunks, source.token, withContext).then(
        () => void (settled = true),
        () => void (settled = true),
      );
      await waitUntil(() => chunks.length >= 1 || settled, 'the first chunk');
      source.cancel();
      await pending;
    };
    await stopAtFirstChunk('What does this file do?', context);
    await stopAtFirstChunk('And the next one?');
    await server.connection.sendRequest(ChatResetRequest.type, { sessionId: 's1' });
    await stopAtFirstChunk('And this huge one?', { ...context, selection: selection.repeat(100) });
    const turns = logLines(server, from, 'Chat turn:');
    assert.equal(turns.length, 3, turns.join('\n'));
    assert.match(turns[0], new RegExp(`with ${selection.length} characters of context from src/fibonacci\\.ts; 0 earlier turns kept`));
    assert.match(turns[1], /without editor context; 1 earlier turn kept/);
    // The context is cut to its limit, then trimmed at a line to fit the tiny model's context, and the turn says so.
    const kept = Number(/with (\d+) characters of context from src\/fibonacci\.ts; 0 earlier turns kept/.exec(turns[2])?.[1]);
    assert.ok(kept > 0 && kept < defaultHistoryLimits.maxContextChars, turns[2]);
    assert.match(turns[2], /src\/fibonacci\.ts trimmed to \d+ lines/);
    assert.equal((await server.status()).state, 'ready');
  });

  it('rejects malformed params and unknown methods with an LSP error, and stays up', async () => {
    await assert.rejects(
      server.connection.sendRequest(ChatRequest.method, { message: 42 }),
      (e: unknown) => e instanceof ResponseError && e.code === -32602,
    );
    await assert.rejects(
      server.connection.sendRequest('localLlm/noSuchMethod', {}),
      (e: unknown) => e instanceof ResponseError && e.code === -32601,
    );
    const items = await complete(server, undefined, 'file:///never-opened.ts');
    assert.deepEqual(items, []);
    assert.equal((await server.status()).state, 'ready');
  });

  it('a huge document costs a bounded prompt and a binary one gets no completion', async () => {
    const uri = 'file:///work/huge.ts';
    const huge = 'const x = 1;\n'.repeat(800_000); // ~10 MB
    server.open(uri, huge);
    const before = await server.status();
    const from = server.logs.length;
    const items = await complete(server, undefined, uri, { line: 400_000, character: 0 });
    assert.ok(Array.isArray(items));
    assert.equal(
      (await server.status()).completions.generated - before.completions.generated,
      1,
      `the model was asked; the server said: ${server.logs.slice(from).join('\n')}`,
    );
    // What the model was sent: the character window around the cursor, not the 10 MB.
    const sent = logLines(server, from, `Completion in ${uri} `).map((l) => /sent (\d+) characters before and (\d+) after/.exec(l));
    assert.equal(sent.length, 1, server.logs.slice(from).join('\n'));
    assert.ok(sent[0], 'the log line gives the characters sent');
    const [prefixChars, suffixChars] = [Number(sent[0][1]), Number(sent[0][2])];
    // The window's start moves in steps and keeps room for the cursor line (prompt.ts), so it may be that much shorter.
    const prefixSlack = windowStepChars + cursorLineReserveChars + lineBoundaryScanChars;
    assert.ok(
      prefixChars <= defaultBudget.prefixChars && prefixChars > defaultBudget.prefixChars - prefixSlack,
      `${prefixChars} characters before the cursor`,
    );
    assert.ok(
      suffixChars <= defaultBudget.suffixChars && suffixChars > defaultBudget.suffixChars - lineBoundaryScanChars,
      `${suffixChars} characters after the cursor`,
    );
    server.open('file:///work/blob.bin', 'PNG\u0000\u0001\u0002\u0003'.repeat(1000), 'plaintext');
    assert.deepEqual(await complete(server, undefined, 'file:///work/blob.bin', { line: 0, character: 10 }), []);
    assert.equal((await server.status()).state, 'ready');
  });
});

describe('sleep and wake', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer(baseSettings(tiny, { sleepIdleSeconds: 1, wakeOnActivity: false }));
    server.open(docUri, docText);
  });
  after(() => server.stop());

  it('sleeps after sleepIdleSeconds, and status does not wake it', async () => {
    await server.waitForState('ready');
    const asleep = await server.waitForState('sleeping', 30_000);
    assert.equal(asleep.memory.hostPid, null, 'deep sleep: the host process is gone');
    for (let i = 0; i < 5; i++) assert.equal((await server.status()).state, 'sleeping');
    await new Promise((r) => setTimeout(r, 300));
    const after = await server.status();
    assert.equal(after.state, 'sleeping');
    assert.equal(after.counters.wakes, 0);
  });

  it('polling localLlm/status never resets the idle timer: the model still sleeps on time', async () => {
    // Its own server, with an idle time long enough to watch the countdown.
    const polled = await startServer(baseSettings(tiny, { sleepIdleSeconds: 3, wakeOnActivity: false }));
    try {
      await polled.waitForState('ready');
      const left: number[] = [];
      const deadline = Date.now() + 30_000;
      for (;;) {
        const s = await polled.status();
        if (s.state === 'sleeping') break;
        assert.equal(s.state, 'ready');
        assert.ok(s.idleSecondsLeft !== null, 'a ready model with sleepIdleSeconds counts down');
        left.push(s.idleSecondsLeft);
        assert.ok(
          Date.now() < deadline,
          `still ${s.state} after 30 s of polling; the last idle seconds left: ${left.slice(-10).join(' ')}`,
        );
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(left.length >= 10, `polled ${left.length} times before the sleep`);
      for (let i = 1; i < left.length; i++) assert.ok(left[i] <= left[i - 1], `the countdown went back up: ${left.join(' ')}`);
      assert.ok(left[0] > left[left.length - 1], `the countdown never moved: ${left.join(' ')}`);
      const asleep = await polled.status();
      assert.equal(asleep.counters.sleeps, 1);
      assert.equal(asleep.counters.wakes, 0);
    } finally {
      await polled.stop();
    }
  });

  it('a completion already in the cache is answered while asleep, without waking', async () => {
    const uri = 'file:///work/cached.ts';
    server.open(uri, docText);
    await server.connection.sendRequest(WakeRequest.type);
    const shown = await someCompletion(server, uri);
    const asleep = await server.connection.sendRequest(SleepRequest.type);
    const again = await complete(server, undefined, uri, shown.position);
    const status = await server.status();
    assert.equal(again?.[0]?.insertText, shown.text);
    assert.equal(status.state, 'sleeping');
    assert.equal(status.counters.wakes, asleep.counters.wakes);
    assert.equal(status.completions.cacheHits - asleep.completions.cacheHits, 1);
  });

  it('a completion sent while asleep wakes the model and returns', async () => {
    const before = await server.status();
    assert.equal(before.state, 'sleeping');
    const items = await complete(server);
    assert.ok(Array.isArray(items));
    const status = await server.status();
    assert.equal(status.counters.loads, before.counters.loads + 1);
    assert.equal(status.counters.wakes, before.counters.wakes + 1);
    assert.ok(status.state === 'ready' || status.state === 'sleeping');
  });

  it('10 concurrent completions during one wake cause exactly one load', async () => {
    await server.connection.sendRequest(SleepRequest.type);
    const before = await server.status();
    assert.equal(before.state, 'sleeping');
    const uris = Array.from({ length: 10 }, (_, i) => `file:///work/c${i}.ts`);
    for (const uri of uris) server.open(uri, docText);
    const results = await Promise.all(uris.map((uri) => complete(server, undefined, uri)));
    assert.equal(results.length, 10);
    for (const r of results) assert.ok(Array.isArray(r));
    const status = await server.status();
    assert.equal(status.counters.loads - before.counters.loads, 1, 'exactly one load for ten waiting requests');
  });

  it('a request cancelled while waiting does not stop the wake', async () => {
    await server.connection.sendRequest(SleepRequest.type);
    const before = await server.status();
    // Fresh documents: a cached completion would be served without waking the model.
    server.open('file:///work/w1.ts', docText);
    server.open('file:///work/w2.ts', docText);
    const source = new CancellationTokenSource();
    const cancelled = complete(server, source.token, 'file:///work/w1.ts');
    const other = complete(server, undefined, 'file:///work/w2.ts');
    await server.waitForState('waking');
    source.cancel();
    const [a, b] = await Promise.allSettled([cancelled, other]);
    assert.equal(b.status, 'fulfilled');
    assert.ok(a.status === 'fulfilled' || (a.reason instanceof ResponseError && a.reason.code === -32800));
    const status = await server.status();
    assert.equal(status.counters.loads - before.counters.loads, 1);
    assert.notEqual(status.state, 'error');
  });

  it('"Sleep Now" during a wake stands: the shared host saying ready for that wake does not undo it', async () => {
    await server.connection.sendRequest(SleepRequest.type);
    const before = await server.status();
    const woken = server.connection.sendRequest(WakeRequest.type);
    await server.waitForState('waking');
    const slept = await server.connection.sendRequest(SleepRequest.type);
    await woken;
    assert.equal(slept.state, 'sleeping');
    const after = await server.status();
    assert.equal(after.state, 'sleeping');
    assert.equal(after.memory.hostPid, null);
    assert.equal(after.counters.wakes - before.counters.wakes, 1);
  });

  it('"Sleep Now" during a running chat neither crashes nor leaks', async () => {
    await server.connection.sendRequest(WakeRequest.type);
    const chunks: ChatChunk[] = [];
    const answer = chat(server, 'Tell me about sleep', chunks);
    await waitUntil(() => chunks.length >= 1, 'the first chunk');
    const slept = await server.connection.sendRequest(SleepRequest.type);
    assert.equal(slept.state, 'sleeping');
    assert.equal(slept.inFlight, 0);
    assert.equal(slept.memory.hostPid, null);
    const result = await answer;
    assert.ok(['eos', 'maxTokens', 'abort'].includes(result.stopReason));
    const woke = await server.connection.sendRequest(WakeRequest.type);
    assert.equal(woke.state, 'ready');
  });
});

describe('memory after sleep', () => {
  it('deep sleep ends the host; light sleep brings its RSS back near the pre-load value (large model)', async () => {
    const large = await largeModel();
    const server = await startServer(baseSettings(large, { sleepMode: 'light' }));
    try {
      const ready = await server.waitForState('ready', 120_000);
      const loadedRss = ready.memory.hostRssBytes ?? 0;
      const baseline = ready.memory.hostBaselineRssBytes ?? 0;
      const hostPid = ready.memory.hostPid;
      assert.ok(hostPid !== null && baseline > 0);
      const light = await server.connection.sendRequest(SleepRequest.type);
      assert.equal(light.memory.hostPid, hostPid, 'light sleep keeps the host');
      const lightRss = light.memory.hostRssBytes ?? Infinity;
      console.log(
        `host RSS MB: pre-load ${(baseline / mb).toFixed(0)}, loaded ${(loadedRss / mb).toFixed(0)}, light sleep ${(lightRss / mb).toFixed(0)}`,
      );
      assert.ok(lightRss - baseline <= 64 * mb, `light sleep RSS ${lightRss / mb} MB vs pre-load ${baseline / mb} MB`);

      server.configure(baseSettings(large, { sleepMode: 'deep' }));
      await server.connection.sendRequest(WakeRequest.type);
      const deep = await server.connection.sendRequest(SleepRequest.type);
      assert.equal(deep.memory.hostPid, null);
      assert.equal(deep.memory.hostRssBytes, null);
      assert.ok(!isAlive(hostPid), 'the old host process has exited');
    } finally {
      await server.stop();
    }
  });

  it('50 sleep/wake cycles end with no error and no RSS growth over 32 MB', async () => {
    const server = await startServer(baseSettings(tiny, { sleepMode: 'light' }));
    try {
      await server.waitForState('ready');
      const rss = (s: { memory: { serverRssBytes: number; hostRssBytes: number | null } }): number =>
        s.memory.serverRssBytes + (s.memory.hostRssBytes ?? 0);
      let first = 0;
      let last = 0;
      for (let i = 0; i < 50; i++) {
        await server.connection.sendRequest(SleepRequest.type);
        // A new document each time, so the completion is not served from the cache.
        const uri = `file:///work/cycle${i}.ts`;
        server.open(uri, docText);
        await complete(server, undefined, uri);
        const s = await server.status();
        assert.notEqual(s.state, 'error', s.error ?? '');
        if (i === 4) first = rss(s); // after warm-up
        last = rss(s);
      }
      const status = await server.status();
      assert.ok(status.counters.wakes >= 50);
      console.log(`RSS server+host after cycle 5: ${(first / mb).toFixed(1)} MB, after 50: ${(last / mb).toFixed(1)} MB`);
      assert.ok(last - first <= 32 * mb, `RSS grew ${(last - first) / mb} MB`);
    } finally {
      await server.stop();
    }
  });
});

describe('bad input', () => {
  const cases: Array<[keyof BrokenModels, RegExp]> = [
    ['missing', /does not exist|not found|no such/i],
    ['empty', /empty/i],
    ['notGguf', /not a GGUF/i],
    ['truncated', /truncated|corrupt|incomplete/i],
    ['noFeedForward', /feed.?forward|missing|corrupt/i],
  ];
  for (const [kind, pattern] of cases) {
    it(`a ${kind} model gives a clear error, fast answers, and the next valid model loads`, async () => {
      const server = await startServer(baseSettings(broken[kind]));
      try {
        const failed = await server.waitForState('error');
        assert.match(failed.error ?? '', pattern);
        assert.ok((failed.error ?? '').length < 300, 'one sentence, not a stack trace');
        server.open(docUri, docText);
        assert.deepEqual(await complete(server), []);
        await assert.rejects(chat(server, 'hi', []), (e: unknown) => e instanceof ResponseError && /./.test(e.message));
        server.configure(baseSettings(tiny));
        await server.waitForState('ready');
      } finally {
        await server.stop();
      }
    });
  }

  it('a model without FIM tokens turns completions off and keeps chat', async () => {
    const server = await startServer(baseSettings(broken.noFim));
    try {
      const ready = await server.waitForState('ready');
      assert.equal(ready.model?.hasFim, false);
      assert.equal(ready.completionsEnabled, false);
      assert.match(ready.notice ?? '', /fill-in-the-middle/);
      server.open(docUri, docText);
      assert.deepEqual(await complete(server), []);
      const result = await chat(server, 'hi', []);
      assert.ok(['eos', 'maxTokens'].includes(result.stopReason));
    } finally {
      await server.stop();
    }
  });

  it('invalid settings are reported in words and replaced by defaults', async () => {
    const server = await startServer(baseSettings(tiny, { sleepIdleSeconds: -5, gpu: 'quantum', completion: { maxTokens: 'many' } }));
    try {
      const ready = await server.waitForState('ready');
      assert.match(ready.notice ?? '', /sleepIdleSeconds/);
      assert.match(ready.notice ?? '', /gpu/);
      assert.ok(server.logs.some((l) => /maxTokens/.test(l)));
    } finally {
      await server.stop();
    }
  });

  it('asking for CUDA on a machine without it falls back to the CPU and says why', async () => {
    const server = await startServer(baseSettings(tiny, { gpu: 'cuda' }));
    try {
      const ready = await server.waitForState('ready');
      assert.equal(ready.model?.backend, 'cpu');
      assert.match(ready.notice ?? '', /CUDA/i);
    } finally {
      await server.stop();
    }
  });

  it('killing the host with SIGKILL mid-request gives an error answer, and the model comes back by itself on a new host', async () => {
    const server = await startServer(baseSettings(tiny));
    try {
      const ready = await server.waitForState('ready');
      const pid = ready.memory.hostPid;
      assert.ok(pid !== null);
      // Killed on the first streamed piece, not after a poll: the tiny model may finish a short answer first.
      let killed = false;
      let seenBeforeKill = 0;
      const partialResultToken = 'chat-killed';
      server.connection.onProgress(ChatRequest.type, partialResultToken, () => {
        if (killed) return;
        killed = true;
        seenBeforeKill = server.statuses.length;
        process.kill(pid, 'SIGKILL');
      });
      const pending = server.connection.sendRequest(ChatRequest.type, {
        sessionId: 's1',
        message: 'A long answer please',
        partialResultToken,
      });
      await assert.rejects(pending, (e: unknown) => e instanceof ResponseError && /killed|crash|exit/i.test(e.message));
      // No request after the kill: the server loads the model again on its own.
      const back = await server.waitFor((s) => s.counters.hostCrashes === 1 && s.state === 'ready', 'the model back after the crash');
      assert.notEqual(back.memory.hostPid, pid);
      assert.ok(back.memory.hostPid !== null && existsSync(`/proc/${back.memory.hostPid}`));
      assert.equal(back.counters.loads, 2);
      const after = server.statuses.slice(seenBeforeKill);
      assert.deepEqual(
        after.filter((s) => s.state === 'error'),
        [],
        'straight from the crash to loading, never error',
      );
      assert.ok(after.some((s) => s.state === 'loading'));
      assert.ok(
        server.logs.some((l) => /killed/.test(l)) && server.logs.some((l) => /started again/.test(l)),
        'the log says what happened',
      );
      server.open(docUri, docText);
      assert.ok(Array.isArray(await complete(server)));
      assert.equal((await server.status()).memory.hostPid, back.memory.hostPid);
    } finally {
      await server.stop();
    }
  });
});

/** Random weights sometimes give only whitespace; try a few cursor positions for a real completion. */
async function someCompletion(
  server: TestServer,
  uri: string,
  minLength = 1,
): Promise<{ text: string; position: { line: number; character: number } }> {
  for (const position of [
    cursor,
    { line: 1, character: 2 },
    { line: 0, character: 12 },
    { line: 1, character: 0 },
    { line: 0, character: 0 },
  ]) {
    const items = (await complete(server, undefined, uri, position)) ?? [];
    const text = items[0]?.insertText;
    if (typeof text === 'string' && text.length >= minLength) return { text, position };
  }
  throw new Error('the model gave no usable completion at any of the positions tried');
}

async function waitUntil(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
