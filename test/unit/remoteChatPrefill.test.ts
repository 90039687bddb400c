// A chat draft read ahead through llama-server's engine, against the stand-in server: sent as the
// turn with one token to generate and not streamed, its figures read from the answer; and never
// sent when the chat names a model of its own, whose sleep the server's status does not tell.
// (The real llama-server's prompt cache is checked in test/remote/.)
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ChatTurnParams } from '../../server/src/engine/types';
import { startFakeLlamaServer, type FakeLlamaServer } from '../fixtures/fakeLlamaServer';
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
