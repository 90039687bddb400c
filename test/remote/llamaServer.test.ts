// The built language server over LSP with `localLlm.engine` pointing at a real llama-server (built
// from the llama.cpp source node-llama-cpp ships, with the tiny ASCII model). Asserts states,
// counts, the server's own sleep and wake (counted from its log) and the sentences of each
// failure; never text or timings.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { InlineCompletionRequest, type InlineCompletionItem } from 'vscode-languageserver-protocol/node';
import {
  ChatPrefillRequest,
  ChatRequest,
  SetApiKeyNotification,
  SleepRequest,
  type ChatChunk,
  type ChatResult,
  type ModelStatus,
} from '../../server/src/shared/protocol';
import { freePort } from '../../scripts/dev/freePort';
import { cachedModel, tinyAsciiModel, tinyAsciiOptions } from '../../scripts/dev/models';
import { startLlamaServer, type LlamaServer } from '../fixtures/llamaServer';
import { startServer, type TestServer } from '../server/lspClient';
import { testHooksEnv } from '../../server/src/shared/testHooks';

const docText = 'function add(a: number, b: number) {\n  return \n}\n\nconsole.log(add(1, 2));\n';
const cursor = { line: 1, character: 9 };
/** Our server asks llama-server for its sleep this often (instead of every 2 s). */
const pollEnv = testHooksEnv({ remotePollMs: 200 });

function settingsFor(url: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    engine: url,
    sleepIdleSeconds: 0,
    // A line limit the random model's newlines often reach: a completion cut there still has the
    // server's figures (they come in every event, not only in the last one, which a cut never reads).
    completion: { debounceMs: 0, maxTokens: 16, maxLines: 4 },
    ...extra,
  };
}

function complete(server: TestServer, uri: string): Promise<InlineCompletionItem[] | null> {
  return server.connection.sendRequest(InlineCompletionRequest.type, {
    textDocument: { uri },
    position: cursor,
    context: { triggerKind: 2 },
  }) as Promise<InlineCompletionItem[] | null>;
}

function chat(server: TestServer, message: string, onChunk: (chunk: ChatChunk) => void = () => undefined): Promise<ChatResult> {
  const partialResultToken = `chat-${Math.random()}`;
  server.connection.onProgress(ChatRequest.type, partialResultToken, onChunk);
  return server.connection.sendRequest(ChatRequest.type, { sessionId: 's1', message, partialResultToken });
}

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits until the status (asked, so no push is missed) satisfies the predicate. */
async function until(server: TestServer, predicate: (s: ModelStatus) => boolean, what: string, timeoutMs = 20_000): Promise<ModelStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await server.status();
    if (predicate(status)) return status;
    if (Date.now() > deadline)
      throw new Error(
        `Timed out waiting for ${what}; last status: ${JSON.stringify(status.engine)} ${status.state} ${status.error}\n${server.logs.join('')}`,
      );
    await delay(100);
  }
}

describe('llama-server as the engine', () => {
  let llama: LlamaServer;
  let server: TestServer;

  before(async () => {
    llama = await startLlamaServer();
    server = await startServer(settingsFor(llama.url), { env: pollEnv });
  });
  after(async () => {
    await server?.stop();
    await llama?.stop();
  });

  it('finds llama-server and completes and chats through it', async () => {
    const ready = await server.waitForState('ready', 30_000);
    assert.equal(ready.engine?.kind, 'llama-server');
    assert.equal(ready.engine?.url, llama.url);
    assert.equal(ready.engine?.server, 'awake');
    assert.equal(ready.memory.hostPid, null, 'no model host runs on this machine');
    server.open('file:///work/a.ts', docText);
    await complete(server, 'file:///work/a.ts');
    const afterCompletion = await server.status();
    assert.equal(afterCompletion.completions.generated, 1);
    assert.ok((afterCompletion.lastCompletion?.promptTokens ?? 0) > 0, 'llama-server reported the prompt tokens');
    assert.ok((afterCompletion.lastCompletion?.generatedTokens ?? 0) > 0);
    assert.equal(afterCompletion.engine?.error, null);

    const chunks: ChatChunk[] = [];
    const answer = await chat(server, 'Say hi.', (c) => chunks.push(c));
    assert.notEqual(answer.stopReason, 'error');
    assert.equal(chunks.map((c) => c.text).join(''), answer.text, 'the answer streamed');
    const afterChat = await server.status();
    assert.ok((afterChat.lastChat?.promptTokens ?? 0) > 0);
  });

  it('reads a chat draft into its prompt cache: the turn sent as drafted evaluates almost none of its prompt', async (t) => {
    const drafted = { sessionId: 'drafted', message: `What do these lines add up to?\n${'total += 1;\n'.repeat(40)}` };
    const draft = await server.connection.sendRequest(ChatPrefillRequest.type, drafted);
    assert.equal(draft.skipped, undefined, `the draft was read (${draft.skipped})`);
    assert.ok(draft.evaluatedTokens > 100, `the draft evaluated ${draft.evaluatedTokens} of ${draft.promptTokens} tokens`);
    const answer = await server.connection.sendRequest(ChatRequest.type, drafted);
    assert.notEqual(answer.stopReason, 'error');
    const figures = (await server.status()).lastChat;
    assert.equal(figures?.promptTokens, draft.promptTokens, 'the turn is the prompt that was read');
    // The last token is evaluated again: the answer's first token is sampled from it.
    assert.ok((figures?.evaluatedTokens ?? Infinity) <= 2, `the turn evaluated ${figures?.evaluatedTokens} of ${figures?.promptTokens}`);
    t.diagnostic(
      `draft: ${draft.evaluatedTokens} of ${draft.promptTokens} evaluated; turn: ${figures?.evaluatedTokens} of ${figures?.promptTokens}`,
    );
  });

  it('says in a sentence that Sleep Now does not reach a server that sleeps on its own', async () => {
    const from = server.logs.length;
    const asleep = await server.connection.sendRequest(SleepRequest.type);
    assert.equal(asleep.state, 'sleeping');
    assert.equal(asleep.engine?.canSleep, false);
    await until(
      server,
      () => server.logs.slice(from).some((l) => /\[(shown|asked)\].*sleeps on its own/.test(l)),
      'the Sleep Now sentence',
    );
    assert.equal(llama.process.exitCode, null, 'llama-server still runs');
  });
});

describe("llama-server's own sleep", () => {
  let llama: LlamaServer;
  let server: TestServer;

  before(async () => {
    llama = await startLlamaServer({ args: ['--sleep-idle-seconds', '1'] });
    server = await startServer(settingsFor(llama.url), { env: pollEnv });
  });
  after(async () => {
    await server?.stop();
    await llama?.stop();
  });

  it('shows in our status, and our polling does not keep it awake', async () => {
    await server.waitForState('ready', 30_000);
    const sleeping = await until(server, (s) => s.engine?.server === 'sleeping', 'sleeping on the server');
    assert.equal(sleeping.state, 'ready', 'our side stays ready: the next request goes to the server');
    assert.equal(llama.sleeps(), 1);
    // Several more polls while it sleeps: none wakes it.
    await delay(1500);
    assert.equal(llama.wakes(), 0, 'polling /props never woke it');
    assert.equal((await server.status()).engine?.server, 'sleeping');
  });

  it('never reads a chat draft ahead while the server sleeps: the request would wake it', async () => {
    const draft = await server.connection.sendRequest(ChatPrefillRequest.type, { sessionId: 's1', message: 'What does this do?' });
    assert.match(draft.skipped ?? '', /reads the prompt when the question is sent/);
    assert.equal(draft.evaluatedTokens, 0);
    assert.equal(llama.wakes(), 0, 'the server still sleeps');
    assert.equal((await server.status()).engine?.server, 'sleeping');
  });

  it('wakes once for several waiting requests', async () => {
    const uris = ['file:///work/w1.ts', 'file:///work/w2.ts', 'file:///work/w3.ts'];
    for (const uri of uris) server.open(uri, docText);
    const before = (await server.status()).completions.generated;
    await Promise.all(uris.map((uri) => complete(server, uri)));
    const status = await server.status();
    assert.equal(status.completions.generated - before, uris.length, 'every request got its completion');
    assert.equal(llama.wakes(), 1, 'one wake on the server');
    assert.equal(status.engine?.error, null);
    // It falls asleep again on its own.
    await until(server, (s) => s.engine?.server === 'sleeping', 'sleeping on the server again');
    assert.equal(llama.sleeps(), 2);
  });
});

describe('router mode', () => {
  let llama: LlamaServer;
  let server: TestServer;
  let modelsDir: string;

  before(async () => {
    modelsDir = mkdtempSync(path.join(os.tmpdir(), 'local-llm-router-'));
    copyFileSync(await tinyAsciiModel(), path.join(modelsDir, 'tiny-ascii.gguf'));
    llama = await startLlamaServer({ model: null, args: ['--models-dir', modelsDir] });
    server = await startServer(settingsFor(llama.url, { remote: { controlSleep: true } }), { env: pollEnv });
  });
  after(async () => {
    await server?.stop();
    await llama?.stop();
    rmSync(modelsDir, { recursive: true, force: true });
  });

  async function routerState(): Promise<string | undefined> {
    const body = (await (await fetch(`${llama.url}/models`)).json()) as { data: Array<{ status: { value: string } }> };
    return body.data[0]?.status.value;
  }

  it('loads the model on the first request and unloads it on Sleep Now when the server is the user’s', async () => {
    const ready = await server.waitForState('ready', 30_000);
    assert.equal(ready.engine?.kind, 'llama-server');
    assert.equal(ready.engine?.canSleep, true);
    assert.equal(ready.engine?.server, 'sleeping', 'not loaded yet on the server');
    server.open('file:///work/r.ts', docText);
    await complete(server, 'file:///work/r.ts');
    assert.equal((await server.status()).completions.generated, 1);
    assert.equal(await routerState(), 'loaded');
    const asleep = await server.connection.sendRequest(SleepRequest.type);
    assert.equal(asleep.state, 'sleeping');
    assert.equal(asleep.engine?.server, 'sleeping');
    // The router stops the model's process; it lists it as unloaded once that is gone.
    const deadline = Date.now() + 20_000;
    while ((await routerState()) !== 'unloaded') {
      assert.ok(Date.now() < deadline, `the router still lists the model as ${await routerState()}`);
      await delay(100);
    }
  });
});

describe('the API key', () => {
  let llama: LlamaServer;

  before(async () => {
    llama = await startLlamaServer({ args: ['--api-key', 'right-key'] });
  });
  after(async () => {
    await llama?.stop();
  });

  it('is sent as a bearer token', async () => {
    const server = await startServer(settingsFor(llama.url), { env: pollEnv, apiKey: 'right-key' });
    try {
      await server.waitForState('ready', 30_000);
      server.open('file:///work/k.ts', docText);
      await complete(server, 'file:///work/k.ts');
      assert.equal((await server.status()).completions.generated, 1);
      assert.ok(!server.logs.join('').includes('right-key'), 'the key is never logged');
    } finally {
      await server.stop();
    }
  });

  it('gives the 401 sentence for a wrong one, and works once the right one is set', async () => {
    const server = await startServer(settingsFor(llama.url), { env: pollEnv, apiKey: 'wrong-key' });
    try {
      const failed = await server.waitForState('error', 30_000);
      assert.match(failed.error ?? '', /refused the API key \(HTTP 401\).*Set Server API Key/);
      assert.match(failed.engine?.error ?? '', /HTTP 401/);
      await until(server, () => server.logs.some((l) => /\[(shown|asked)\].*HTTP 401/.test(l)), 'the notification');
      void server.connection.sendNotification(SetApiKeyNotification.type, { apiKey: 'right-key' });
      const ready = await server.waitForState('ready', 30_000);
      assert.equal(ready.engine?.error, null);
      assert.ok(!server.logs.join('').includes('wrong-key') && !server.logs.join('').includes('right-key'), 'no key is ever logged');
    } finally {
      await server.stop();
    }
  });
});

describe('faults', () => {
  it('a server that is not running: a sentence, and the next request tries again', async () => {
    const port = await freePort();
    const server = await startServer(settingsFor(`http://127.0.0.1:${port}`), { env: pollEnv });
    let llama: LlamaServer | null = null;
    try {
      const failed = await server.waitForState('error', 30_000);
      assert.match(failed.error ?? '', /refused the connection: no model server is running there/);
      // Now one starts there: the next request connects.
      llama = await startLlamaServer({ port });
      server.open('file:///work/n.ts', docText);
      await complete(server, 'file:///work/n.ts');
      const status = await until(server, (s) => s.state === 'ready', 'ready after the retry');
      assert.equal(status.engine?.kind, 'llama-server');
    } finally {
      await server.stop();
      await llama?.stop();
    }
  });

  it('a server that is not a model server', async () => {
    const port = await freePort();
    const other: Server = createServer((_req, res) => {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('Not found');
    });
    await new Promise<void>((resolve) => other.listen(port, '127.0.0.1', resolve));
    const server = await startServer(settingsFor(`http://127.0.0.1:${port}`), { env: pollEnv });
    try {
      const failed = await server.waitForState('error', 30_000);
      assert.match(failed.error ?? '', /is not a model server this extension knows/);
    } finally {
      await server.stop();
      await new Promise((resolve) => other.close(resolve));
    }
  });

  it('a model without FIM tokens: completions off in a sentence, chat still works', async () => {
    const noFim = await cachedModel({ ...tinyAsciiOptions, name: 'tiny-ascii-no-fim', withFim: false });
    const llama = await startLlamaServer({ model: noFim });
    const server = await startServer(settingsFor(llama.url), { env: pollEnv });
    try {
      await server.waitForState('ready', 30_000);
      server.open('file:///work/f.ts', docText);
      await complete(server, 'file:///work/f.ts');
      const status = await server.status();
      assert.equal(status.completionsEnabled, false);
      assert.match(status.notice ?? '', /has no fill-in-the-middle tokens/);
      const answer = await chat(server, 'Hi.');
      assert.notEqual(answer.stopReason, 'error');
    } finally {
      await server.stop();
      await llama.stop();
    }
  });

  it('killed in the middle of a streamed answer, then stopped (SIGSTOP) past the timeout', async () => {
    // Slow enough (a few ms a token) that the answer is still streaming when the first piece arrives,
    // and never ended early by an end-of-text token (random weights sample one now and then).
    const slower = await cachedModel({ ...tinyAsciiOptions, name: 'small-ascii', layers: 4, embd: 512, ff: 1536, heads: 8 });
    const llama = await startLlamaServer({ model: slower, args: ['--ignore-eos'] });
    const server = await startServer(settingsFor(llama.url, { remote: { timeoutMs: 1500, wakeTimeoutMs: 1500 } }), { env: pollEnv });
    let second: LlamaServer | null = null;
    try {
      await server.waitForState('ready', 30_000);
      // Stopped at the first streamed piece, then killed: the rest of the answer never comes.
      const cut = chat(server, 'Tell me a long story.', () => {
        if (llama.process.signalCode === null && llama.process.exitCode === null) {
          llama.process.kill('SIGSTOP');
          llama.process.kill('SIGKILL');
        }
      });
      await assert.rejects(cut, (e: Error) => /cut in the middle of the answer/.test(e.message));
      const afterCut = await server.status();
      // The status poll may have found the dead server by now: its sentence replaces the cut's.
      assert.match(afterCut.engine?.error ?? '', /cut in the middle of the answer|refused the connection|closed the connection/);
      assert.equal(afterCut.state, 'ready', 'the next request tries again');

      second = await startLlamaServer({ port: llama.port });
      // A new document each time: a repeated request would be answered from the cache.
      server.open('file:///work/s1.ts', docText);
      await complete(server, 'file:///work/s1.ts');
      await until(server, (s) => s.engine?.error === null, 'the error cleared by a good request');

      second.process.kill('SIGSTOP');
      server.open('file:///work/s2.ts', docText);
      await complete(server, 'file:///work/s2.ts');
      const stuck = await until(
        server,
        (s) => /did not answer within 1\.5 s|stopped sending/.test(s.engine?.error ?? ''),
        'the timeout sentence',
      );
      assert.equal(stuck.state, 'ready');
      second.process.kill('SIGCONT');
      server.open('file:///work/s3.ts', docText);
      await complete(server, 'file:///work/s3.ts');
      await until(server, (s) => s.engine?.error === null, 'working again after SIGCONT');
    } finally {
      await server.stop();
      await llama.stop();
      await second?.stop();
    }
  });
});
