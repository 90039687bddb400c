// #25, the pure parts of model roles: the settings, the host identity (who can share a host), the
// load order of two models, and the model a chat request names on a server that serves several
// (checked against the written-down Ollama and vLLM APIs, as remoteShapes.test.ts does).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rolePlan } from '../../server/src/host/llama/modelRoles';
import { hostKey, notSharedReason, type HostIdentity } from '../../server/src/shared/rendezvous';
import { machineScopedKeys, needsReload, normalizeSettings } from '../../server/src/shared/settings';
import { replay, type ReplayServer } from '../fixtures/replayServer';
import { remoteEngineFor } from './remoteEngineFor';

const identity: HostIdentity = { modelPath: '/m/base.gguf', gpu: 'auto', gpuLayers: 'auto', contextSize: 4096, threads: 4 };
const loadParams = { ...identity, modelPath: '' };

describe('chat model settings', () => {
  it('reads localLlm.chat.model and localLlm.remote.chatModel, trimmed, empty by default', () => {
    assert.equal(normalizeSettings({}).settings.chat.model, '');
    assert.equal(normalizeSettings({}).settings.remote.chatModel, '');
    const { settings, problems } = normalizeSettings({ chat: { model: ' hf:a/b/c.gguf ' }, 'remote.chatModel': ' qwen-instruct ' });
    assert.deepEqual(problems, []);
    assert.equal(settings.chat.model, 'hf:a/b/c.gguf');
    assert.equal(settings.remote.chatModel, 'qwen-instruct');
  });

  it('refuses a value that is not a string in a sentence and keeps the default', () => {
    const { settings, problems } = normalizeSettings({ 'chat.model': 3, remote: { chatModel: ['x'] } });
    assert.equal(settings.chat.model, '');
    assert.equal(settings.remote.chatModel, '');
    assert.equal(problems.length, 2);
    assert.match(problems[0]!, /^localLlm\.chat\.model must be a file path or an hf: URI, not 3; the completion model serves chat\.$/);
    assert.match(problems[1]!, /^localLlm\.remote\.chatModel must be a model name/);
  });

  it('reloads on a change of either, and both are the user’s alone (machine scope)', () => {
    const base = normalizeSettings({}).settings;
    assert.ok(needsReload(base, { ...base, chat: { ...base.chat, model: '/m/chat.gguf' } }));
    assert.ok(needsReload(base, { ...base, remote: { ...base.remote, chatModel: 'other' } }));
    assert.ok((machineScopedKeys as readonly string[]).includes('chat.model'));
    assert.ok((machineScopedKeys as readonly string[]).includes('remote.chatModel'));
  });
});

describe('the host identity covers both models', () => {
  it('keeps the key of a host of one model, and makes another for a chat model of its own', () => {
    const single = hostKey(identity);
    assert.equal(hostKey({ ...identity, chatModelPath: null }), single);
    const two = hostKey({ ...identity, chatModelPath: '/m/instruct.gguf' });
    assert.notEqual(two, single);
    assert.notEqual(hostKey({ ...identity, chatModelPath: '/m/other.gguf' }), two);
  });

  it('says why a window does not share a host that differs in its chat model', () => {
    const mine = { ...identity, chatModelPath: '/m/instruct.gguf' };
    assert.match(notSharedReason(mine, [identity]) ?? '', /no chat model of its own/);
    assert.match(notSharedReason(identity, [mine]) ?? '', /another chat model \(instruct\.gguf\)/);
    assert.equal(notSharedReason(mine, [{ ...mine }]), null);
  });
});

describe('the load order of two models', () => {
  it('is none for one model, the completion model first by default, the chat model first when chat woke it', () => {
    assert.equal(rolePlan(identity), null);
    assert.equal(rolePlan({ ...identity, chatModelPath: identity.modelPath }), null, 'the same file is one model');
    const plan = rolePlan({ ...identity, chatModelPath: '/m/instruct.gguf' });
    assert.deepEqual(plan, { first: 'completion', second: 'chat', paths: { completion: '/m/base.gguf', chat: '/m/instruct.gguf' } });
    assert.equal(rolePlan({ ...identity, chatModelPath: '/m/instruct.gguf', first: 'chat' })?.first, 'chat');
  });
});

const question = { messages: [{ role: 'user' as const, text: 'Hi' }], maxTokens: 64 };

/** The model each written-down server lists. */
const listed = { ollama: 'qwen2.5-coder:1.5b', vllm: 'Qwen/Qwen2.5-Coder-1.5B' } as const;

for (const kind of ['ollama', 'vllm'] as const) {
  describe(`a chat model of its own on a server that serves several (${kind})`, () => {
    let server: ReplayServer;
    before(async () => (server = await replay(kind)));
    after(() => server.close());

    const chatBody = (): Record<string, unknown> =>
      [...server.requests].reverse().find((r) => r.path === '/api/chat' || r.path === '/v1/chat/completions')?.body as Record<
        string,
        unknown
      >;
    const completionBody = (): Record<string, unknown> =>
      [...server.requests].reverse().find((r) => r.path === '/api/generate' || r.path === '/v1/completions')?.body as Record<
        string,
        unknown
      >;

    it('names localLlm.remote.chatModel in chat requests and localLlm.remote.model in completions', async () => {
      const { engine } = remoteEngineFor(server.url, { settings: { remote: { model: listed[kind], chatModel: 'instruct-model' } } });
      await engine.load(loadParams);
      await engine.chat(question, () => undefined);
      assert.equal(chatBody().model, 'instruct-model');
      await engine.infill({
        prefix: 'a\n',
        middle: 'b',
        suffix: '',
        prefixTokens: 64,
        suffixTokens: 64,
        maxTokens: 4,
        maxLines: 1,
        stopTexts: [],
      });
      assert.equal(completionBody().model, listed[kind]);
      await engine.kill();
    });

    it('asks for the completion model in chat when no chat model is set', async () => {
      const { engine } = remoteEngineFor(server.url, { settings: { remote: { model: listed[kind] } } });
      await engine.load(loadParams);
      await engine.chat(question, () => undefined);
      assert.equal(chatBody().model, listed[kind]);
      await engine.kill();
    });
  });
}
