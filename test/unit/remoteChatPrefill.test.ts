// A chat draft read ahead through a model server's engine: sent as the turn with one token to
// generate and not streamed, its figures read from the answer; never sent when the chat names a
// model of its own, whose sleep the server's status does not tell, nor to a sleeping Ollama.
// llama-server against the stand-in server (its real prompt cache is checked in test/remote/);
// Ollama against its documented API (test/fixtures/remote/ollama.json).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ChatTurnParams } from '../../server/src/engine/types';
import { startFakeLlamaServer, type FakeLlamaServer } from '../fixtures/fakeLlamaServer';
import { replay, type ReplayServer } from '../fixtures/replayServer';
import { remoteEngineFor, remoteLoad } from './remoteEngineFor';

const draft: ChatTurnParams = { messages: [{ role: 'user', text: 'What does add return?' }], maxTokens: 256 };

describe("a chat draft read ahead by llama-server's engine", () => {
  let server: FakeLlamaServer;
  before(async () => (server = await startFakeLlamaServer()));
  after(() => server.close());

  it('is the turn with one token to generate, not streamed; the figures are the server’s', async () => {
    const { engine } = remoteEngineFor(server.url, { apiKey: null });
    await engine.load(remoteLoad);
    const from = server.requests.length;
    const result = await engine.chatPrefill(draft);
    assert.deepEqual(result, { promptTokens: 40, evaluatedTokens: 30, stopped: false });
    const sent = server.requests.slice(from).filter((r) => r.path === '/v1/chat/completions');
    assert.deepEqual(
      sent.map((r) => r.body),
      [{ messages: [{ role: 'user', content: 'What does add return?' }], max_tokens: 1, stream: false }],
    );
    await engine.kill();
  });

  it('is not sent when the chat names a model of its own', async () => {
    const { engine } = remoteEngineFor(server.url, { apiKey: null, settings: { remote: { chatModel: 'coder-instruct' } } });
    await engine.load(remoteLoad);
    const from = server.requests.length;
    assert.equal(await engine.chatPrefill(draft), null);
    assert.deepEqual(
      server.requests.slice(from).map((r) => r.path),
      [],
    );
    await engine.kill();
  });
});

describe("a chat draft read ahead by Ollama's engine", () => {
  let server: ReplayServer;
  before(async () => (server = await replay('ollama')));
  after(() => server.close());

  it('is the turn’s /api/chat with one token to generate, not streamed; the figures are Ollama’s', async () => {
    const { engine } = remoteEngineFor(server.url, { apiKey: null });
    await engine.load(remoteLoad);
    server.set('POST /api/chat', {
      status: 200,
      json: {
        model: 'qwen2.5-coder:1.5b',
        message: { role: 'assistant', content: 'It' },
        done: true,
        prompt_eval_count: 37,
        eval_count: 1,
      },
    });
    const from = server.requests.length;
    const result = await engine.chatPrefill(draft);
    assert.deepEqual(result, { promptTokens: 37, evaluatedTokens: 37, stopped: false });
    const sent = server.requests.slice(from).filter((r) => r.path === '/api/chat');
    assert.deepEqual(
      sent.map((r) => r.body),
      [
        {
          model: 'qwen2.5-coder:1.5b',
          messages: [{ role: 'user', content: 'What does add return?' }],
          keep_alive: '300s',
          stream: false,
          options: { num_predict: 1 },
        },
      ],
    );
    await engine.kill();
  });

  it('is not sent while Ollama holds the model out of memory (asleep)', async () => {
    server.set('GET /api/ps', { status: 200, json: { models: [] } });
    const { engine } = remoteEngineFor(server.url, { apiKey: null });
    await engine.load(remoteLoad);
    assert.equal(engine.remote().server, 'sleeping');
    const from = server.requests.length;
    assert.equal(await engine.chatPrefill(draft), null);
    assert.deepEqual(
      server.requests.slice(from).map((r) => r.path),
      [],
    );
    await engine.kill();
  });
});
