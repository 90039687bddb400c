// Ollama and vLLM cannot run here, so the engine is checked against their documented API, written
// down in test/fixtures/remote/: which requests it sends (paths, bodies, the bearer token) and what
// it makes of the answers. These are not runs against the real servers (the README says so).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fimPrompt } from '../../server/src/engine/http/openai';
import { replay, type ReplayServer } from '../fixtures/replayServer';
import { remoteEngineFor, remoteInfill, remoteLoad } from './remoteEngineFor';

describe('Ollama (documented API)', () => {
  let server: ReplayServer;
  before(async () => (server = await replay('ollama')));
  after(() => server.close());

  it('is found from /api/version and described from /api/tags and /api/ps without loading anything', async () => {
    const { engine } = remoteEngineFor(server.url);
    const loaded = await engine.load(remoteLoad);
    assert.equal(engine.kind, 'ollama');
    assert.equal(loaded.name, 'qwen2.5-coder:1.5b');
    assert.equal(engine.remote().server, 'awake', 'listed by /api/ps: in memory');
    assert.deepEqual(
      server.requests.map((r) => `${r.method} ${r.path}`),
      ['GET /props', 'GET /api/version', 'GET /api/tags', 'GET /api/ps'],
    );
    assert.ok(server.requests.every((r) => r.headers.authorization === 'Bearer k-123'));
    await engine.kill();
  });

  it('fills in the middle through /api/generate with suffix and keep_alive from sleepIdleSeconds', async () => {
    const { engine } = remoteEngineFor(server.url);
    await engine.load(remoteLoad);
    const from = server.requests.length;
    const result = await engine.infill(remoteInfill);
    const sent = server.requests.slice(from).find((r) => r.path === '/api/generate');
    assert.deepEqual(sent?.body, {
      model: 'qwen2.5-coder:1.5b',
      prompt: 'function add(a, b) {\n  return ',
      suffix: '\n}\n',
      stream: true,
      keep_alive: '300s',
      options: { num_predict: 16, stop: ['}'] },
    });
    assert.equal(result.text, 'a + b;\n');
    assert.equal(result.stopReason, 'eos');
    assert.equal(result.figures.promptTokens, 26);
    assert.equal(result.figures.generatedTokens, 3);
    await engine.kill();
  });

  it('chats through /api/chat and sleeps with keep_alive 0 when the server is the user’s', async () => {
    const { engine } = remoteEngineFor(server.url, { settings: { remote: { controlSleep: true } } });
    await engine.load(remoteLoad);
    const chunks: string[] = [];
    const result = await engine.chat({ messages: [{ role: 'user', text: 'Hi' }], maxTokens: 64 }, (t) => chunks.push(t));
    assert.deepEqual(chunks, ['Hel', 'lo.']);
    assert.equal(result.text, 'Hello.');
    assert.equal(result.figures.generatedTokens, 4);
    const chat = server.requests.find((r) => r.path === '/api/chat');
    assert.deepEqual((chat?.body as { messages: unknown }).messages, [{ role: 'user', content: 'Hi' }]);
    assert.ok(engine.remote().canSleep);
    const from = server.requests.length;
    await engine.shutdown();
    const unload = server.requests.slice(from).find((r) => r.path === '/api/generate');
    assert.deepEqual(unload?.body, { model: 'qwen2.5-coder:1.5b', keep_alive: 0 });
    assert.equal(engine.remote().server, 'sleeping');
  });
});

describe('vLLM (documented API, development mode)', () => {
  let server: ReplayServer;
  before(async () => (server = await replay('vllm')));
  after(() => server.close());

  it('is found from /version, described from /v1/models, and its own sleep read from /is_sleeping', async () => {
    const { engine } = remoteEngineFor(server.url, { settings: { remote: { controlSleep: true } } });
    const loaded = await engine.load(remoteLoad);
    assert.equal(engine.kind, 'openai');
    assert.equal(loaded.name, 'Qwen/Qwen2.5-Coder-1.5B');
    assert.equal(loaded.contextSize, 32768);
    assert.equal(engine.remote().server, 'sleeping');
    assert.ok(engine.remote().canSleep);
    await engine.kill();
  });

  it('wakes a sleeping model with /wake_up, then fills in the middle in the model’s FIM format', async () => {
    const { engine } = remoteEngineFor(server.url);
    await engine.load(remoteLoad);
    const from = server.requests.length;
    const result = await engine.infill(remoteInfill);
    const paths = server.requests.slice(from).map((r) => `${r.method} ${r.path}`);
    assert.deepEqual(paths, ['POST /wake_up', 'POST /v1/completions']);
    const body = server.requests.at(-1)?.body as Record<string, unknown>;
    assert.equal(body.prompt, '<|fim_prefix|>function add(a, b) {\n<|fim_suffix|>\n}\n<|fim_middle|>  return ');
    assert.equal(body.model, 'Qwen/Qwen2.5-Coder-1.5B');
    assert.equal(result.text, 'a + b;\n');
    assert.equal(result.figures.reusedTokens, 16);
    assert.equal(result.figures.evaluatedTokens, 8);
    assert.equal(engine.remote().server, 'awake');
    await engine.kill();
  });

  it('chats through /v1/chat/completions and sleeps through /sleep', async () => {
    const { engine } = remoteEngineFor(server.url, { settings: { remote: { controlSleep: true } } });
    await engine.load(remoteLoad);
    server.set('GET /is_sleeping', { status: 200, json: { is_sleeping: false } });
    const chunks: string[] = [];
    // The engine still thinks it sleeps (from the load): it wakes it first.
    const result = await engine.chat({ messages: [{ role: 'user', text: 'Hi' }], maxTokens: 64 }, (t) => chunks.push(t));
    assert.equal(result.text, 'Hello.');
    assert.equal(result.stopReason, 'eos');
    assert.equal(result.figures.promptTokens, 31);
    const from = server.requests.length;
    await engine.shutdown();
    assert.deepEqual(
      server.requests.slice(from).map((r) => `${r.method} ${r.path}`),
      ['POST /sleep?level=1'],
    );
  });

  it('writes the FIM layout of the model families it knows', () => {
    assert.equal(fimPrompt('deepseek-coder-6.7b', 'P', 'S'), '<｜fim▁begin｜>P<｜fim▁hole｜>S<｜fim▁end｜>');
    assert.equal(fimPrompt('codellama/CodeLlama-7b-hf', 'P', 'S'), '<PRE> P <SUF>S <MID>');
    assert.equal(fimPrompt('bigcode/starcoder2-3b', 'P', 'S'), '<fim_prefix>P<fim_suffix>S<fim_middle>');
  });
});

describe('plain http to another machine', () => {
  it('sends nothing until the user confirms', async () => {
    const { engine, notified } = remoteEngineFor('http://192.0.2.1:8080');
    await assert.rejects(engine.load(remoteLoad), /Nothing is sent to 192\.0\.2\.1:8080: it is plain http to another machine/);
    assert.equal(notified.length, 1);
  });
});
