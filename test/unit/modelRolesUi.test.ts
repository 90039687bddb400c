// Issue 25 on the client: the tooltip names both models when chat has its own, and the model of
// each last figure; Select Model writes each job's setting; an Instruct localLlm.model gets a
// one-time suggestion of the base model of its size for completions.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ListModelsResult, ModelInfo, ModelPreset, ModelStatus, TokenFigures } from '../../server/src/shared/protocol';
import { renderStatus, type StatusBarInput } from '../../client/src/status/render';
import {
  baseModelFor,
  parameterBillions,
  suggestionText,
  suggestsBaseModel,
  useBaseModelLink,
  type SuggestionInput,
} from '../../client/src/status/baseModelSuggestion';
import { defaultChatModel, keepChat, parseSelectRequest, presetFitsRole, valueForRole } from '../../client/src/commands/modelRoles';
import { pairsFor, presetsFor, recommendModels } from '../../server/src/models/presets';
import { GB, MB, modelStatus } from './statusFixture';

function model(name: string, over: Partial<ModelInfo> = {}): ModelInfo {
  return {
    name,
    path: `/models/${name}.gguf`,
    sizeBytes: 1600 * MB,
    backend: 'cuda',
    gpuLayers: 29,
    totalLayers: 29,
    contextSize: 4096,
    hasFim: true,
    ...over,
  };
}

function figures(over: Partial<TokenFigures> = {}): TokenFigures {
  return { promptTokens: 120, evaluatedTokens: 20, reusedTokens: 100, generatedTokens: 16, tokensPerSecond: 42, ms: 380, ...over };
}

function status(over: Partial<ModelStatus> = {}): ModelStatus {
  return modelStatus({
    model: model('Qwen2.5 Coder 1.5B'),
    idleSecondsLeft: 250,
    memory: { hostRssBytes: 3 * GB, vramUsedBytes: 4 * GB, vramTotalBytes: 8 * GB },
    completions: { requests: 1, generated: 1, cacheHits: 0, superseded: 0 },
    ...over,
  });
}

function tooltip(s: ModelStatus, over: Partial<StatusBarInput> = {}): string {
  const now = Date.now();
  return renderStatus({
    client: 'running',
    status: s,
    receivedAt: now,
    now,
    crashes: 0,
    crashMessage: null,
    contextEnabled: false,
    ...over,
  }).tooltip;
}

describe('the tooltip with two models', () => {
  it('names each model with its job, size, backend and memory', () => {
    const text = tooltip(
      status({
        model: model('Qwen2.5 Coder 1.5B', { memoryBytes: 2 * GB }),
        chatModel: model('Qwen2.5 Coder 1.5B Instruct', { sizeBytes: 1800 * MB, backend: 'vulkan', gpuLayers: 10, memoryBytes: 1.5 * GB }),
      }),
    );
    assert.match(
      text,
      /Completion model: \*\*Qwen2\\\.5 Coder 1\\\.5B\*\* \(1\.6 GB, context 4096, uses 2\.0 GB\) {2}\nBackend: CUDA, 29\/29 layers on the GPU/,
    );
    assert.match(
      text,
      /Chat model: \*\*Qwen2\\\.5 Coder 1\\\.5B Instruct\*\* \(1\.8 GB, context 4096, uses 1\.5 GB\) {2}\nBackend: Vulkan, 10\/29 layers on the GPU/,
    );
    assert.match(text, /server 80 MB \+ both models 3\.0 GB/);
    assert.doesNotMatch(text, /(^|\n)Model: /);
  });

  it('keeps the one-model lines when chat uses the completion model (chatModel null or absent)', () => {
    for (const chatModel of [null, undefined]) {
      const text = tooltip(status({ chatModel }));
      assert.match(text, /Model: \*\*Qwen2\\\.5 Coder 1\\\.5B\*\* \(1\.6 GB, context 4096\)/);
      assert.doesNotMatch(text, /Completion model|Chat model|both models/);
      assert.match(text, /server 80 MB \+ model 3\.0 GB/);
    }
  });

  it('names the model of each last figure when the server says it, and only then', () => {
    const named = tooltip(
      status({
        chatModel: model('Qwen2.5 Coder 1.5B Instruct'),
        lastCompletion: figures({ model: 'Qwen2.5 Coder 1.5B' }),
        lastChat: figures({ model: 'Qwen2.5 Coder 1.5B Instruct', promptTokens: 900 }),
      }),
    );
    assert.match(named, /Last completion \(Qwen2\\\.5 Coder 1\\\.5B\): 120 prompt tokens/);
    assert.match(named, /Last chat turn \(Qwen2\\\.5 Coder 1\\\.5B Instruct\): 900 prompt tokens/);
    const unnamed = tooltip(status({ lastCompletion: figures(), lastChat: figures() }));
    assert.match(unnamed, /Last completion: 120 prompt tokens/);
    assert.match(unnamed, /Last chat turn: 120 prompt tokens/);
  });

  it('shows the suggestion paragraph given, with its command link, and nothing without one', () => {
    const text = tooltip(status(), { suggestion: suggestionText('Qwen2\\.5 Coder 1\\.5B Instruct') });
    assert.ok(text.includes(`[Use a base model for completions](${useBaseModelLink})`));
    assert.match(text, /\*\*Qwen2\\\.5 Coder 1\\\.5B Instruct\*\* is an Instruct model/);
    assert.ok(useBaseModelLink.startsWith('command:localLlm.selectModel?'));
    assert.deepEqual(JSON.parse(decodeURIComponent(useBaseModelLink.split('?')[1] ?? '')), ['useBaseModelForCompletions']);
    assert.doesNotMatch(tooltip(status()), /lightbulb/);
  });
});

describe('the base-model suggestion (migration)', () => {
  const instructUser: SuggestionInput = {
    model: 'hf:Qwen/Qwen2.5-Coder-3B-Instruct-GGUF/qwen2.5-coder-3b-instruct-q8_0.gguf',
    chatModel: '',
    engine: 'local',
    loadedName: 'Qwen2.5 Coder 3B Instruct',
    shownBefore: false,
    showingNow: false,
  };

  it('is made to a local user whose localLlm.model is an Instruct model and whose chat has no model of its own', () => {
    assert.equal(suggestsBaseModel(instructUser), true);
    assert.equal(suggestsBaseModel({ ...instructUser, model: '/models/My-INSTRUCT.gguf', loadedName: null }), true, 'case-insensitive');
    assert.equal(
      suggestsBaseModel({ ...instructUser, model: '/models/coder.gguf', loadedName: 'Coder 7B Instruct' }),
      true,
      'by the loaded name',
    );
  });

  it('is not made otherwise', () => {
    assert.equal(suggestsBaseModel({ ...instructUser, chatModel: '/models/chat.gguf' }), false, 'chat has its own model');
    assert.equal(suggestsBaseModel({ ...instructUser, model: '', loadedName: 'Qwen2.5 Coder 1.5B Instruct' }), false, 'the default');
    assert.equal(suggestsBaseModel({ ...instructUser, model: '/models/coder-base.gguf', loadedName: 'Coder' }), false, 'not Instruct');
    assert.equal(suggestsBaseModel({ ...instructUser, engine: 'http://gpu-box:8080' }), false, 'a model server');
  });

  it('is made once: not again in a later session, but kept in this one until it no longer applies', () => {
    assert.equal(suggestsBaseModel({ ...instructUser, shownBefore: true }), false);
    assert.equal(suggestsBaseModel({ ...instructUser, shownBefore: true, showingNow: true }), true);
    assert.equal(suggestsBaseModel({ ...instructUser, shownBefore: true, showingNow: true, chatModel: 'hf:x/y/z.gguf' }), false, 'taken');
  });

  it('reads the size in billions of parameters from a name, not a version', () => {
    assert.equal(parameterBillions('qwen2.5-coder-1.5b-instruct-q8_0.gguf'), 1.5);
    assert.equal(parameterBillions('hf:Qwen/Qwen2.5-Coder-7B-Instruct-GGUF/qwen2.5-coder-7b-instruct-q4_k_m.gguf'), 7);
    assert.equal(parameterBillions('deepseek-coder-6.7b-instruct.Q4_K_M.gguf'), 6.7);
    assert.equal(parameterBillions('Meta-Llama-3.1-8B-Instruct'), 8);
    assert.equal(parameterBillions('my-instruct-model.gguf'), null);
  });

  it('offers the base preset nearest in size, the smallest when the size is unknown', () => {
    const presets = presetsFor({ vramFreeBytes: 8e9, ramFreeBytes: 32e9 });
    const pick = (name: string): string | undefined => baseModelFor(name, presets)?.id;
    assert.equal(pick('qwen2.5-coder-1.5b-instruct-q8_0.gguf'), 'qwen2.5-coder-1.5b-base-q8_0');
    assert.equal(pick('Qwen2.5-Coder-3B-Instruct'), 'qwen2.5-coder-3b-base-q8_0');
    assert.equal(pick('qwen2.5-coder-7b-instruct-q4_k_m.gguf'), 'qwen2.5-coder-7b-base-q8_0');
    assert.equal(pick('deepseek-coder-6.7b-instruct'), 'qwen2.5-coder-7b-base-q8_0');
    assert.equal(pick('codellama-13b-instruct'), 'qwen2.5-coder-7b-base-q8_0');
    assert.equal(pick('my-instruct.gguf'), 'qwen2.5-coder-1.5b-base-q8_0');
    assert.equal(
      baseModelFor(
        'x-1.5b-instruct',
        presets.filter((p) => p.role !== 'completion'),
      ),
      null,
      'no base preset listed',
    );
  });
});

describe('Select Model by job', () => {
  const base: ModelPreset = { id: 'b', label: 'B', uri: 'hf:o/r/base.gguf', sizeBytes: 1, detail: '', role: 'completion' };
  const instruct: ModelPreset = { id: 'i', label: 'I', uri: 'hf:o/r/instruct.gguf', sizeBytes: 1, detail: '', role: 'both' };
  const older: ModelPreset = { id: 'o', label: 'O', uri: 'hf:o/r/old.gguf', sizeBytes: 1, detail: '' };

  it('writes localLlm.model for completions, localLlm.chat.model for chat, and one model for both', () => {
    assert.deepEqual(valueForRole('completion', '/m/a.gguf'), { model: '/m/a.gguf' });
    assert.deepEqual(valueForRole('chat', '/m/a.gguf'), { chatModel: '/m/a.gguf' });
    assert.deepEqual(valueForRole('both', '/m/a.gguf'), { model: '/m/a.gguf', chatModel: '' });
  });

  it('offers base models for completions only and Instruct models (or presets of no role) for every job', () => {
    const offered = (role: 'completion' | 'chat' | 'both'): string[] =>
      [base, instruct, older].filter((p) => presetFitsRole(p, role)).map((p) => p.id);
    assert.deepEqual(offered('completion'), ['b', 'i', 'o']);
    assert.deepEqual(offered('chat'), ['i', 'o']);
    assert.deepEqual(offered('both'), ['i', 'o']);
  });

  it('keeps chat on the model it used when a model is chosen for completions only', () => {
    const current = { model: 'hf:o/r/instruct.gguf', chatModel: '' };
    assert.deepEqual(keepChat({ model: 'hf:o/r/base.gguf' }, current, null), {
      model: 'hf:o/r/base.gguf',
      chatModel: 'hf:o/r/instruct.gguf',
    });
    assert.deepEqual(
      keepChat({ model: 'hf:o/r/instruct.gguf' }, current, null),
      { model: 'hf:o/r/instruct.gguf' },
      'the same model keeps serving both',
    );
    assert.deepEqual(keepChat({ model: 'x' }, { model: 'y', chatModel: 'z' }, null), { model: 'x' }, 'chat has its own already');
    assert.deepEqual(
      keepChat({ model: 'x' }, { model: '', chatModel: '' }, 'hf:o/r/chat.gguf'),
      { model: 'x', chatModel: 'hf:o/r/chat.gguf' },
      'the default chat model',
    );
    assert.deepEqual(keepChat({ model: 'x' }, { model: '', chatModel: '' }, null), { model: 'x' }, 'default unknown');
  });

  it("knows the default chat model from the listing: the recommended pair's Instruct model, else the recommended one", () => {
    const listing = (vram: number): ListModelsResult => {
      const hw = { vramFreeBytes: vram, ramFreeBytes: 32e9 };
      const r = recommendModels(hw);
      return {
        cached: [],
        presets: presetsFor(hw),
        recommendedPresetId: r.completion.id,
        pairs: pairsFor(hw),
        recommendedPairId: r.pair?.id ?? null,
      };
    };
    assert.equal(defaultChatModel(listing(8e9)), 'hf:Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF/qwen2.5-coder-1.5b-instruct-q8_0.gguf');
    assert.equal(defaultChatModel(listing(4e9)), 'hf:Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF/qwen2.5-coder-1.5b-instruct-q8_0.gguf');
    assert.equal(defaultChatModel(listing(24e9)), 'hf:Qwen/Qwen2.5-Coder-7B-Instruct-GGUF/qwen2.5-coder-7b-instruct-q8_0.gguf');
    assert.equal(defaultChatModel(null), null);
  });

  it('takes a job and a model as its argument, says what is wrong with a bad one, and ignores other arguments', () => {
    assert.deepEqual(parseSelectRequest({ role: 'chat', model: ' /m/chat.gguf ' }), { role: 'chat', model: '/m/chat.gguf' });
    assert.deepEqual(parseSelectRequest({ role: 'both', model: '' }), { role: 'both', model: '' });
    assert.equal(
      parseSelectRequest({ role: 'draft', model: 'x' }),
      'Select Model\'s role must be "completion", "chat" or "both", not "draft".',
    );
    assert.match(String(parseSelectRequest({ role: 'chat' })), /^Select Model needs the model as a string .*, not undefined\.$/);
    for (const other of [undefined, null, 'x', 3, { path: '/m' }]) assert.equal(parseSelectRequest(other), null, JSON.stringify(other));
  });
});
