// The draft model (localLlm.completion.draftModel) in the real, built model host and language
// server, on generated models: a draft with the tiny model's vocabulary (the same weights under
// another name, and a smaller model with other weights) and one with another vocabulary (the
// round-trip model). Greedy output with the draft equals output without it, token for token, and
// the figures count its drafts; another vocabulary is refused in a sentence while the model
// serves; the draft is freed in a light sleep, gone with the host in a deep one, and back on wake.
// Random weights are never as sure as a real model, so the hosts here draft with the confidence
// gate off (the hostDraftConfidence test hook). Counts only, never timings.
// Run: npm run build && node --import tsx --test --test-concurrency=1 test/server/draftModel.test.ts
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InlineCompletionRequest, type InlineCompletionItem } from 'vscode-languageserver-protocol/node';
import type { GenerationResult, InfillParams, LoadParams } from '../../server/src/engine/types';
import type { HostProcess } from '../../server/src/engine/local/hostProcess';
import { SleepRequest, WakeRequest } from '../../server/src/shared/protocol';
import { testHooksEnv } from '../../server/src/shared/testHooks';
import { cachedModel, tinyModel, tinyOptions, tinyRoundTripModel } from '../fixtures/models';
import { infillEventsOf, startFakeLlamaServer } from '../fixtures/fakeLlamaServer';
import { infill, spawnOwnHost } from '../fixtures/ownHost';
import { startServer, type TestServer } from './lspClient';

const runtimeDirs: string[] = [];
const hooks = { hostGraceMs: 1000, hostDraftConfidence: 0 };

/** The tiny model's weights under another name: its drafts are mostly what the model would say. */
const twinDraft = (): Promise<string> => cachedModel({ ...tinyOptions, name: 'tiny-draft-twin' });
/** A smaller model with the tiny model's vocabulary and weights of its own: its drafts are mostly refused. */
const smallDraft = (): Promise<string> => cachedModel({ ...tinyOptions, name: 'tiny-draft', layers: 1, seed: 7 });

function spawnHost(params: LoadParams, log?: (line: string) => void): HostProcess {
  const runtimeDir = mkdtempSync(path.join(os.tmpdir(), 'llm-rt-draft-'));
  runtimeDirs.push(runtimeDir);
  return spawnOwnHost(params, { runtimeDir, hooks, sleepMode: 'light', log });
}

const prompts: InfillParams[] = [
  infill('function add(a, b) {\n', '  return ', 48),
  infill('abcabcabcabcabcabcabcabcabcabcabcabc\n'.repeat(6), 'abcabc', 64),
  infill('if (x) {\n  x = x + 1;\n}\n'.repeat(8), 'if (x) {\n', 64),
  infill('let total = 0;\nfor (const item of items) {\n', '  total += ', 32),
];

const outcome = (r: GenerationResult) => ({
  text: r.text,
  stopReason: r.stopReason,
  tokens: r.tokens,
  promptTokens: r.figures.promptTokens,
  generatedTokens: r.figures.generatedTokens,
});

describe('a draft model in the model host', () => {
  let model: string;
  let off: HostProcess;
  const params = (draftModelPath?: string): LoadParams => ({
    modelPath: model,
    gpu: 'auto',
    gpuLayers: 'auto',
    contextSize: 1024,
    threads: os.availableParallelism(),
    // Prompt lookup off on both sides: every draft counted here is the draft model's.
    lookup: false,
    ...(draftModelPath ? { draftModelPath } : {}),
  });

  before(async () => {
    model = await tinyModel();
    off = spawnHost(params());
    await off.load(params());
  });
  after(async () => {
    await off?.shutdown(5000);
    for (const dir of runtimeDirs) rmSync(dir, { recursive: true, force: true });
  });

  for (const [kind, draftOf] of [
    ['the same weights', twinDraft],
    ['a smaller model', smallDraft],
  ] as const) {
    it(`completes every prompt exactly as without it, and counts its drafts (${kind})`, async () => {
      const draftPath = await draftOf();
      const host = spawnHost(params(draftPath));
      try {
        const loaded = await host.load(params(draftPath));
        assert.equal(loaded.draftRefusal, null);
        assert.equal(loaded.draftModel?.path, draftPath);
        assert.equal(loaded.draftModel?.sizeBytes, statSync(draftPath).size, 'the file size');
        assert.ok((loaded.draftModel?.memoryBytes ?? 0) > 0, 'its memory is counted');
        let drafted = 0;
        let accepted = 0;
        for (const p of prompts) {
          const withDraft = await host.infill(p);
          const without = await off.infill(p);
          assert.deepEqual(outcome(withDraft), outcome(without), `the same answer for ${JSON.stringify(p.middle)}`);
          assert.equal(without.figures.draftedTokens, undefined, 'no drafts without a draft model');
          drafted += withDraft.figures.draftedTokens ?? 0;
          accepted += withDraft.figures.acceptedTokens ?? 0;
          assert.ok(accepted <= drafted);
        }
        assert.ok(drafted > 0, 'the draft model drafted');
        if (kind === 'the same weights') assert.ok(accepted > 0, `some of the ${drafted} drafted tokens were accepted`);
      } finally {
        await host.shutdown(5000);
      }
    });
  }

  it('turns a draft model whose drafts are refused off after 8 completions, says so, and prompt lookup drafts instead', async () => {
    const draftPath = await smallDraft();
    const withLookup: LoadParams = { ...params(draftPath), lookup: true };
    const lines: string[] = [];
    const host = spawnHost(withLookup, (line) => lines.push(line));
    const turnedOff =
      /^The draft model \S+ is now off for completions: the last 8 completions accepted (\d+) of (\d+) drafted tokens \(\d+%, under 30%\)\. Prompt lookup drafts instead; it is on again after the next model load\.$/;
    try {
      await host.load(withLookup);
      const judged: number[] = [];
      for (let i = 0; i < 12 && !lines.some((l) => turnedOff.test(l)); i++) {
        const p = infill(`function f${i}(a, b) {\n  const c = a * ${i};\n`, '  return ', 24);
        const drafted = await host.infill(p);
        assert.deepEqual(outcome(drafted), outcome(await off.infill(p)), `the same answer for prompt ${i}`);
        if ((drafted.figures.draftedTokens ?? 0) > 0) judged.push(i);
      }
      const line = lines.find((l) => turnedOff.test(l));
      assert.ok(line, `no turn-off line after ${judged.length} drafted completions; log: ${lines.join(' | ')}`);
      assert.equal(judged.length, 8, 'judged over the 8 completions that drafted');
      const [, accepted, drafted] = turnedOff.exec(line)!.map(Number);
      assert.ok(accepted < drafted * 0.3);
      // Prompt lookup drafts from here on, from the prompt's own repeats; the text is the same.
      const repeated = prompts[1];
      const after = await host.infill(repeated);
      assert.deepEqual(outcome(after), outcome(await off.infill(repeated)));
      assert.ok((after.figures.draftedTokens ?? 0) > 0, 'prompt lookup drafted');
    } finally {
      await host.shutdown(5000);
    }
  });

  it('refuses a draft model with another vocabulary in a sentence, and the model serves without it', async () => {
    const other = await tinyRoundTripModel();
    const lines: string[] = [];
    const host = spawnHost(params(other), (line) => lines.push(line));
    try {
      const loaded = await host.load(params(other));
      assert.equal(loaded.draftModel, null);
      assert.match(
        loaded.draftRefusal ?? '',
        /^The draft model \S+ is not used: its vocabulary is not the model's \(.+\); completions are served without it\.$/,
      );
      assert.ok(
        lines.some((l) => l.includes(loaded.draftRefusal ?? '-')),
        'the refusal is in the log',
      );
      assert.equal((await host.stats()).draftLoaded, false);
      const p = prompts[0];
      const served = await host.infill(p);
      assert.deepEqual(outcome(served), outcome(await off.infill(p)));
      assert.equal(served.figures.draftedTokens, undefined);
    } finally {
      await host.shutdown(5000);
    }
  });

  it('refuses a draft model file that is missing or not a model, in a sentence, and the model serves', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'llm-draft-bad-'));
    runtimeDirs.push(dir);
    const missing = path.join(dir, 'no draft here.gguf');
    const notGguf = path.join(dir, 'notes.gguf');
    writeFileSync(notGguf, 'not a model\n'.repeat(50));
    for (const [file, why] of [
      [missing, 'the file does not exist'],
      [notGguf, 'the file is not a GGUF file'],
    ] as const) {
      const host = spawnHost(params(file));
      try {
        const loaded = await host.load(params(file));
        assert.equal(loaded.draftModel, null);
        assert.equal(loaded.draftRefusal, `The draft model ${path.basename(file)} is not used: ${why}; completions are served without it.`);
        assert.ok((await host.infill(prompts[0])).tokens > 0, 'the model serves');
      } finally {
        await host.shutdown(5000);
      }
    }
  });

  it('frees the draft model in a light sleep and loads it again on wake', async () => {
    const draftPath = await twinDraft();
    const host = spawnHost(params(draftPath));
    try {
      await host.load(params(draftPath));
      assert.equal((await host.stats()).draftLoaded, true);
      const asleep = await host.unload();
      assert.equal(asleep.loaded, false);
      assert.equal(asleep.draftLoaded, false, 'freed with the model');
      const woke = await host.load(params(draftPath));
      assert.equal(woke.draftModel?.path, draftPath);
      assert.equal((await host.stats()).draftLoaded, true);
      const again = await host.infill(prompts[2]);
      assert.ok((again.figures.draftedTokens ?? 0) > 0, 'it drafts after the wake');
    } finally {
      await host.shutdown(5000);
    }
  });
});

const docUri = 'file:///work/draft.ts';
const docText = 'if (x) {\n  x = x + 1;\n}\n'.repeat(8) + 'if (x) {\n  \n}\n';
const cursor = { line: 25, character: 2 };

function complete(server: TestServer): Promise<InlineCompletionItem[] | null> {
  return server.connection.sendRequest(InlineCompletionRequest.type, {
    textDocument: { uri: docUri },
    position: cursor,
    context: { triggerKind: 2 },
  }) as Promise<InlineCompletionItem[] | null>;
}

describe('a draft model through the language server', () => {
  let tiny: string;
  const settings = (draftModel: string, sleepMode: 'light' | 'deep'): Record<string, unknown> => ({
    model: tiny,
    contextSize: 1024,
    threads: 1,
    sleepIdleSeconds: 0,
    sleepMode,
    wakeOnActivity: false,
    completion: { debounceMs: 0, maxTokens: 32, maxLines: 100, lookup: false, draftModel },
  });
  before(async () => {
    tiny = await tinyModel();
  });

  it('shows the draft model and its memory in the status, and it drafts again after a deep sleep', { timeout: 180_000 }, async () => {
    const draftPath = await twinDraft();
    const server = await startServer(settings(draftPath, 'deep'), { env: testHooksEnv(hooks) });
    try {
      const ready = await server.waitForState('ready');
      assert.equal(ready.draftModel?.path, draftPath);
      assert.equal(ready.draftModel?.sizeBytes, statSync(draftPath).size);
      assert.ok((ready.draftModel?.memoryBytes ?? 0) > 0);
      server.open(docUri, docText);
      assert.ok(Array.isArray(await complete(server)));
      const first = await server.status();
      assert.ok((first.lastCompletion?.draftedTokens ?? 0) > 0, 'the completion was drafted');
      const asleep = await server.connection.sendRequest(SleepRequest.type);
      assert.equal(asleep.state, 'sleeping');
      assert.equal(asleep.memory.hostPid, null, 'a deep sleep ends the host, and the draft model with it');
      await server.connection.sendRequest(WakeRequest.type);
      const woke = await server.waitForState('ready');
      assert.equal(woke.draftModel?.path, draftPath);
      assert.ok(woke.memory.hostPid !== null);
      server.change(docUri, 2, docText.replace('x + 1', 'x + 2'));
      assert.ok(Array.isArray(await complete(server)));
      const after = await server.status();
      assert.ok((after.lastCompletion?.draftedTokens ?? 0) > 0, 'drafted after the wake');
    } finally {
      await server.stop();
    }
  });

  it(
    'says in the status why a draft model with another vocabulary is not used, and completes without it',
    { timeout: 120_000 },
    async () => {
      const other = await tinyRoundTripModel();
      const server = await startServer(settings(other, 'light'), { env: testHooksEnv(hooks) });
      try {
        const ready = await server.waitForState('ready');
        assert.equal(ready.draftModel, null);
        assert.match(ready.notice ?? '', /The draft model \S+ is not used: its vocabulary is not the model's/);
        server.open(docUri, docText);
        assert.ok(Array.isArray(await complete(server)));
        const served = await server.status();
        assert.ok(served.lastCompletion !== null, 'the model completed');
        assert.equal(served.lastCompletion?.draftedTokens, undefined);
      } finally {
        await server.stop();
      }
    },
  );

  it('says in the status that a missing draft model file is not used, and completes without it', { timeout: 120_000 }, async () => {
    const missing = path.join(os.tmpdir(), 'local-llm-no-such-draft', 'draft.gguf');
    const server = await startServer(settings(missing, 'light'), { env: testHooksEnv(hooks) });
    try {
      const ready = await server.waitForState('ready');
      assert.equal(ready.draftModel, null);
      assert.match(ready.notice ?? '', /The draft model \S+ is not used.*; completions are served without it\./);
      server.open(docUri, docText);
      assert.ok(Array.isArray(await complete(server)));
      assert.ok((await server.status()).lastCompletion !== null, 'the model completed');
    } finally {
      await server.stop();
    }
  });

  it(
    "with a llama-server, says the draft model is the server's own and shows the drafts the server reports",
    { timeout: 60_000 },
    async () => {
      const fake = await startFakeLlamaServer();
      fake.infillEvents = infillEventsOf(['    x = ', 'x + 1;'], 40).map((event) => ({
        ...event,
        timings: { ...(event.timings as Record<string, unknown>), draft_n: 8, draft_n_accepted: 5 },
      }));
      const server = await startServer({ ...settings('/models/draft.gguf', 'light'), engine: fake.url });
      try {
        const ready = await server.waitForState('ready');
        assert.equal(ready.draftModel, null);
        assert.match(
          ready.notice ?? '',
          /localLlm\.completion\.draftModel is for the local model; a model server drafts with its own draft model/,
        );
        server.open(docUri, docText);
        assert.ok(Array.isArray(await complete(server)));
        const served = await server.status();
        assert.equal(served.lastCompletion?.draftedTokens, 8);
        assert.equal(served.lastCompletion?.acceptedTokens, 5);
        const sent = fake.requests.find((r) => r.path === '/infill');
        assert.ok(sent, 'the completion went to the server');
      } finally {
        await server.stop();
        await fake.close();
      }
    },
  );
});
