// #25: a completion model and a chat model of its own, served by one model host: the built server
// over stdio, a real LSP client, the real detached host and generated GGUFs with different
// general.name values. Which files the host holds is read from its memory map (llama.cpp maps the
// model file), so "loaded" and "freed" are the host's own, not what it says. Never asserts
// timings or text.
// Run: npm run build && node --import tsx --test --test-concurrency=1 test/server/modelRoles.test.ts
import * as assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InlineCompletionRequest, type InlineCompletionItem } from 'vscode-languageserver-protocol/node';
import { ChatRequest, SleepRequest, type ChatResult, type ModelStatus } from '../../server/src/shared/protocol';
import { testHooksEnv } from '../../server/src/shared/testHooks';
import { cachedModel, tinyOptions } from '../fixtures/models';
import { until } from '../fixtures/until';
import { quietWindow, startServer, type TestServer } from './lspClient';

const linuxOnly = process.platform !== 'linux' && '/proc';
const docUri = 'file:///work/roles.ts';
const docText = 'function add(a: number, b: number) {\n  return \n}\n';

const completionOptions = { ...tinyOptions, name: 'tiny-completion', seed: 11 };
const chatOptions = { ...tinyOptions, name: 'tiny-chat', seed: 12 };
const noFimOptions = { ...tinyOptions, name: 'tiny-no-fim', seed: 13, withFim: false };
const noTemplateOptions = { ...tinyOptions, name: 'tiny-no-template', seed: 14, omitKeys: ['tokenizer.chat_template'] };

function settings(model: string, chatModel: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return quietWindow(model, { chat: { model: chatModel }, ...extra });
}

let uriCount = 0;
/** A completion in a document of its own, so that no cache answers it. */
function complete(server: TestServer): Promise<InlineCompletionItem[] | null> {
  const uri = `file:///work/roles-${++uriCount}.ts`;
  server.open(uri, docText);
  return server.connection.sendRequest(InlineCompletionRequest.type, {
    textDocument: { uri },
    position: { line: 1, character: 9 },
    context: { triggerKind: 2 },
  }) as Promise<InlineCompletionItem[] | null>;
}

function chat(server: TestServer, message: string, sessionId = `roles-${++uriCount}`): Promise<ChatResult> {
  return server.connection.sendRequest(ChatRequest.type, { sessionId, message });
}

/** The model files a process has mapped (llama.cpp maps the GGUF it loaded). */
function mappedModels(pid: number): string[] {
  try {
    const maps = readFileSync(`/proc/${pid}/maps`, 'utf8');
    return [...new Set(maps.split('\n').flatMap((line) => (line.endsWith('.gguf') ? [line.slice(line.indexOf('/'))] : [])))].sort();
  } catch {
    return [];
  }
}

function alive(pid: number): boolean {
  return existsSync(`/proc/${pid}`);
}

function hostPidOf(status: ModelStatus): number {
  const pid = status.memory.hostPid;
  assert.ok(pid !== null, 'a host runs');
  return pid;
}

describe('a completion model and a chat model in one host', { skip: linuxOnly }, () => {
  let completionModel: string;
  let chatModel: string;
  let dir: string;
  let server: TestServer;
  before(async () => {
    completionModel = await cachedModel(completionOptions);
    chatModel = await cachedModel(chatOptions);
    dir = mkdtempSync(path.join(os.tmpdir(), 'llm-roles-'));
    server = await startServer(settings(completionModel, chatModel, { sleepMode: 'light' }), { env: { LOCAL_LLM_RUNTIME_DIR: dir } });
    server.open(docUri, docText);
  });
  after(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads both in one host process, and the status names each', async () => {
    const ready = await server.waitForState('ready');
    assert.equal(ready.model?.name, 'tiny-completion');
    assert.equal(ready.chatModel?.name, 'tiny-chat');
    assert.equal(ready.chatModel?.path, chatModel);
    assert.ok((ready.chatModel?.memoryBytes ?? 0) > 0, 'the chat model says what it takes');
    const pid = hostPidOf(ready);
    await until(
      () => mappedModels(pid),
      (files) => files.length === 2,
      'the host to hold both models',
    );
    assert.deepEqual(mappedModels(pid), [chatModel, completionModel].sort());
  });

  it('completions go to the completion model and chat to the chat model', async () => {
    assert.ok(Array.isArray(await complete(server)));
    await chat(server, 'What is a closure?');
    const status = await server.status();
    assert.equal(status.lastCompletion?.model, 'tiny-completion');
    assert.equal(status.lastChat?.model, 'tiny-chat');
    assert.ok((status.lastChat?.promptTokens ?? 0) > 0);
    assert.equal(status.completionsEnabled, true);
  });

  it('a light sleep frees both; a chat question wakes both, the chat model first, and its chat state is kept', async () => {
    const pid = hostPidOf(await server.status());
    await chat(server, 'What is a closure?', 'kept');
    await server.connection.sendRequest(SleepRequest.type);
    await server.waitForState('sleeping');
    await until(
      () => mappedModels(pid),
      (files) => files.length === 0,
      'the light sleep to free both models',
    );
    assert.ok(alive(pid), 'a light sleep keeps the host');
    const logsBefore = server.logs.length;
    await chat(server, 'And a promise?', 'kept');
    const awake = await server.status();
    assert.equal(awake.state, 'ready');
    assert.equal(awake.lastChat?.model, 'tiny-chat');
    assert.ok((awake.lastChat?.reusedTokens ?? 0) > 0, 'the follow-up continues from the chat model’s state saved across the sleep');
    assert.equal(hostPidOf(awake), pid);
    await until(
      () => mappedModels(pid),
      (files) => files.length === 2,
      'the completion model to load behind the chat model',
    );
    const order = server.logs.slice(logsBefore).find((line) => /first; the \w+ model loads behind it/.test(line));
    assert.match(order ?? '', /Loaded the chat model \(tiny-chat\) first/);
  });

  it('a deep sleep ends the host; a keystroke wakes both in a new one, the completion model first', async () => {
    server.configure(settings(completionModel, chatModel, { sleepMode: 'deep' }));
    const pid = hostPidOf(await server.status());
    await server.connection.sendRequest(SleepRequest.type);
    await server.waitForState('sleeping');
    await until(
      () => alive(pid),
      (running) => !running,
      'the deep sleep to end the host',
    );
    const logsBefore = server.logs.length;
    assert.ok(Array.isArray(await complete(server)));
    const awake = await server.status();
    assert.equal(awake.state, 'ready');
    assert.equal(awake.lastCompletion?.model, 'tiny-completion');
    const newPid = hostPidOf(awake);
    assert.notEqual(newPid, pid);
    await until(
      () => mappedModels(newPid),
      (files) => files.length === 2,
      'the chat model to load behind the completion model',
    );
    const order = server.logs.slice(logsBefore).find((line) => /first; the \w+ model loads behind it/.test(line));
    assert.match(order ?? '', /Loaded the completion model \(tiny-completion\) first/);
    await chat(server, 'And now?');
    assert.equal((await server.status()).lastChat?.model, 'tiny-chat');
  });
});

describe('after a deep sleep, a request is answered by its own model while the other still loads', { skip: linuxOnly }, () => {
  it('a keystroke gets the completion model in the new host before the chat model is loaded; a chat question then gets the chat model', async () => {
    const completionModel = await cachedModel(completionOptions);
    const chatModel = await cachedModel(chatOptions);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'llm-roles-gate-'));
    // The model loaded behind the other waits for this file (a host test hook); the very first
    // load answers only once both are loaded, so the file is there until then.
    const gate = path.join(dir, 'second-load');
    writeFileSync(gate, '');
    const server = await startServer(settings(completionModel, chatModel, { sleepMode: 'deep' }), {
      env: { LOCAL_LLM_RUNTIME_DIR: dir, ...testHooksEnv({ hostSecondLoadGateFile: gate }) },
    });
    try {
      const first = hostPidOf(await server.waitForState('ready'));
      rmSync(gate);
      await server.connection.sendRequest(SleepRequest.type);
      await until(
        () => alive(first),
        (running) => !running,
        'the deep sleep to end the host',
      );
      assert.ok(Array.isArray(await complete(server)));
      const awake = await server.status();
      assert.equal(awake.lastCompletion?.model, 'tiny-completion');
      // Named from the chat model's last load (kept in the state folder), not waited for.
      assert.equal(awake.chatModel?.name, 'tiny-chat');
      const host = hostPidOf(awake);
      assert.notEqual(host, first);
      assert.deepEqual(
        mappedModels(host),
        [completionModel],
        `the completion was answered while the chat model waited to load\n${server.logs.join('\n')}`,
      );
      writeFileSync(gate, '');
      await chat(server, 'Now the chat model?');
      assert.equal((await server.status()).lastChat?.model, 'tiny-chat');
      assert.deepEqual(mappedModels(host), [chatModel, completionModel].sort());
    } finally {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a model is refused for a role it cannot serve', { skip: linuxOnly }, () => {
  let dir: string;
  const servers: TestServer[] = [];
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'llm-roles-'));
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('a completion model without FIM tokens is refused for completions in a sentence, and still chats', async () => {
    const noFim = await cachedModel(noFimOptions);
    const server = await startServer(settings(noFim, ''), { env: { LOCAL_LLM_RUNTIME_DIR: dir } });
    servers.push(server);
    const ready = await server.waitForState('ready');
    assert.equal(ready.completionsEnabled, false);
    assert.match(ready.notice ?? '', /tiny-no-fim has no fill-in-the-middle tokens/);
    assert.equal(ready.chatModel ?? null, null, 'one model for both');
    assert.deepEqual((await complete(server)) ?? [], []);
    await chat(server, 'Hello?');
    assert.equal((await server.status()).lastChat?.model, 'tiny-no-fim');
  });

  it('beside a chat model of its own, it is refused for completions and the chat model answers chat', async () => {
    const noFim = await cachedModel(noFimOptions);
    const chatModel = await cachedModel(chatOptions);
    const server = await startServer(settings(noFim, chatModel), { env: { LOCAL_LLM_RUNTIME_DIR: dir } });
    servers.push(server);
    const ready = await server.waitForState('ready');
    assert.equal(ready.completionsEnabled, false);
    assert.match(ready.notice ?? '', /tiny-no-fim has no fill-in-the-middle tokens, so it cannot serve inline completions/);
    assert.deepEqual((await complete(server)) ?? [], []);
    await chat(server, 'Hello?');
    assert.equal((await server.status()).lastChat?.model, 'tiny-chat');
  });

  it('a chat model without a chat template is refused for chat in a sentence; completions go on', async () => {
    const completionModel = await cachedModel(completionOptions);
    const noTemplate = await cachedModel(noTemplateOptions);
    const server = await startServer(settings(completionModel, noTemplate), { env: { LOCAL_LLM_RUNTIME_DIR: dir } });
    servers.push(server);
    const ready = await server.waitForState('ready');
    assert.equal(ready.chatModel?.hasChatTemplate, false);
    assert.match(ready.notice ?? '', /tiny-no-template has no chat template, so it cannot serve chat/);
    await assert.rejects(chat(server, 'Hello?'), /tiny-no-template has no chat template/);
    assert.ok(Array.isArray(await complete(server)));
    assert.equal((await server.status()).lastCompletion?.model, 'tiny-completion');
  });
});
