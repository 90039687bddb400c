// The context ring over real LSP with the generated models (DESIGN.md, "Never evaluate a token
// twice"): chunks sent with localLlm/contextChunks go before the file's prompt, in the model's
// repository format (a tiny model with Qwen2.5-Coder's repository tokens) or as comment blocks
// (the plain tiny model), as localLlm/lastCompletionPrompt shows; the ring keeps to its token
// budget; adding a chunk leaves the older chunks' tokens in the KV cache; a context update never
// wakes a sleeping model nor moves the idle deadline; the suggestion after an accepted one is
// served from the cache with no new generation; localLlm.completion.maxMs caps a generation and
// marks it. Asserts counts and contents, never timings or generated text.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { InlineCompletionRequest, type InlineCompletionItem } from 'vscode-languageserver-protocol/node';
import {
  ContextChunksNotification,
  LastCompletionPromptRequest,
  type ContextChunk,
  type LastCompletionPrompt,
  type ModelStatus,
} from '../../server/src/shared/protocol';
import { tinyModel, tinyRepoModel } from '../fixtures/models';
import { startServer, type TestServer } from './lspClient';

const uri = 'file:///work/cart.ts';

const baseSettings = {
  contextSize: 4096,
  threads: 1,
  sleepIdleSeconds: 0,
  completion: { debounceMs: 0, maxTokens: 8, maxLines: 2 },
  context: { enabled: true, tokenBudget: 1024 },
};

function lines(name: string, count: number): string {
  return Array.from({ length: count }, (_, i) => `export const ${name}${i} = compute(${i}, "${name}");`).join('\n');
}

function fileChunk(path: string, startLine: number, text: string): ContextChunk {
  return { path, uri: `file:///work/${path}`, startLine, text, kind: 'file' };
}

/** A document being typed in at the end of one line. */
class Editor {
  private version = 1;
  private typed = '';
  readonly head = 'import { add } from "./money";\n\nfunction total(items: Item[]): number {\n  let sum = ';
  readonly tail = '\n  return sum;\n}\n';

  constructor(private readonly server: TestServer) {
    server.open(uri, this.text());
  }

  text(): string {
    return this.head + this.typed + this.tail;
  }

  /** Types one character the shown completion does not start with, so the cache never answers. */
  type(avoid = ''): void {
    const key = [...'qzjxkvwQZJXKVW'].find((c) => c !== avoid[0]) ?? 'q';
    this.insert(key);
  }

  /** Inserts text at the cursor (Tab on a suggestion). */
  insert(text: string): void {
    this.typed += text;
    this.server.change(uri, ++this.version, this.text());
  }

  async complete(): Promise<string> {
    const before = this.head + this.typed;
    const line = before.split('\n').length - 1;
    const character = before.length - before.lastIndexOf('\n') - 1;
    const items = (await this.server.connection.sendRequest(InlineCompletionRequest.type, {
      textDocument: { uri },
      position: { line, character },
      context: { triggerKind: 2 },
    })) as InlineCompletionItem[] | null;
    const first = items?.[0]?.insertText;
    return typeof first === 'string' ? first : '';
  }
}

async function lastPrompt(server: TestServer): Promise<LastCompletionPrompt> {
  const prompt = await server.connection.sendRequest(LastCompletionPromptRequest.type);
  assert.ok(prompt, 'a completion ran, so there is a last prompt');
  assert.equal(prompt.uri, uri);
  return prompt;
}

function sendChunks(server: TestServer, chunks: ContextChunk[]): Promise<void> {
  return server.connection.sendNotification(ContextChunksNotification.type, { chunks });
}

/** Waits on the status until `predicate` holds; the server's background work has no reply of its own. */
async function statusUntil(server: TestServer, predicate: (s: ModelStatus) => boolean, what: string, tries = 100): Promise<ModelStatus> {
  for (let i = 0; i < tries; i++) {
    const status = await server.status();
    if (predicate(status)) return status;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`Timed out waiting for ${what}`);
}

describe('context ring, repository format', () => {
  let server: TestServer;
  let editor: Editor;

  before(async () => {
    server = await startServer({ ...baseSettings, model: await tinyRepoModel() });
    await server.waitForState('ready');
    editor = new Editor(server);
  });
  after(() => server.stop());

  it('puts each chunk in as a file of the repository, with its path, before the current file', async () => {
    const money = fileChunk('src/money.ts', 0, lines('money', 3));
    const copied: ContextChunk = { path: '', uri: '', startLine: -1, text: 'const TAX = 0.2;', kind: 'clipboard' };
    await sendChunks(server, [money, copied]);
    editor.type();
    await editor.complete();
    const prompt = await lastPrompt(server);
    assert.deepEqual(
      prompt.parts.map((p) => p.kind),
      ['chunk', 'chunk', 'prefix', 'suffix', 'middle'],
    );
    const [first, second, prefix, suffix] = prompt.parts;
    assert.equal(first?.text, `<s><|repo_name|>workspace\n<|file_sep|>src/money.ts\n${money.text}\n`);
    assert.equal(first?.label, 'src/money.ts lines 1-3');
    assert.equal(second?.text, '<|file_sep|>clipboard\nconst TAX = 0.2;\n');
    assert.ok(prefix?.text.startsWith('<|file_sep|>cart.ts\n<|fim_prefix|>import { add }'), prefix?.text);
    assert.ok(suffix?.text.startsWith('<|fim_suffix|>') && suffix.text.endsWith('<|fim_middle|>'), suffix?.text);
    assert.equal(prompt.capped, false);
    assert.equal(prompt.figures.promptTokens, prompt.figures.evaluatedTokens + prompt.figures.reusedTokens);
    assert.equal((await server.status()).contextChunks, 2);
  });

  it("adding a chunk leaves the older chunks' tokens in the KV cache", async (t) => {
    // A first, long chunk; then the prompt with it; then a second chunk after it.
    await sendChunks(server, [fileChunk('src/long.ts', 0, lines('long', 12))]);
    editor.type();
    await editor.complete();
    const withOne = await lastPrompt(server);
    const oldRing = withOne.parts
      .filter((p) => p.kind === 'chunk')
      .map((p) => p.text)
      .join('');
    await sendChunks(server, [fileChunk('src/short.ts', 0, lines('short', 2))]);
    editor.type();
    await editor.complete();
    const withTwo = await lastPrompt(server);
    const chunks = withTwo.parts.filter((p) => p.kind === 'chunk');
    assert.equal(chunks.length, 4);
    assert.ok(
      withTwo.parts
        .map((p) => p.text)
        .join('')
        .startsWith(oldRing),
      'the older chunks come first, unchanged',
    );
    // The older ring is at least a token per 4 characters (the generated vocabulary merges little).
    const oldTokens = Math.floor(oldRing.length / 4);
    const f = withTwo.figures;
    t.diagnostic(
      `older ring ${oldRing.length} characters; after adding a chunk ${f.evaluatedTokens} of ${f.promptTokens} prompt tokens evaluated, ${f.reusedTokens} reused`,
    );
    assert.ok(f.reusedTokens >= oldTokens, `reused ${f.reusedTokens} tokens; the older ring has at least ${oldTokens}`);
    assert.ok(f.evaluatedTokens <= f.promptTokens - oldTokens);
  });

  it('a changed ring is evaluated in the background once the user pauses, so the next keystroke evaluates only itself', async (t) => {
    editor.type();
    await editor.complete();
    const prefills = (): number => server.logs.filter((l) => l.startsWith('Context ring prefill:') && !l.includes('stopped')).length;
    const before = prefills();
    await sendChunks(server, [fileChunk('src/later.ts', 0, lines('later', 4))]);
    for (let i = 0; i < 100 && prefills() === before; i++) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.ok(prefills() > before, 'the prefill ran');
    editor.type();
    await editor.complete();
    const prompt = await lastPrompt(server);
    assert.ok(prompt.parts.some((p) => p.text.includes('<|file_sep|>src/later.ts\n')));
    const f = prompt.figures;
    t.diagnostic(`after the prefill: ${f.evaluatedTokens} of ${f.promptTokens} prompt tokens evaluated`);
    // The typed character, a re-split token at the seam, the one token always decoded.
    assert.ok(f.evaluatedTokens <= 8, `the keystroke after the prefill evaluated ${f.evaluatedTokens} of ${f.promptTokens} prompt tokens`);
  });

  it('serves the suggestion after an accepted one from the cache, with no new generation', async (t) => {
    let served = false;
    for (let attempt = 0; attempt < 12 && !served; attempt++) {
      editor.type();
      const before = (await server.status()).completions;
      const shown = await editor.complete();
      if (shown === '') continue;
      let ready: ModelStatus;
      try {
        ready = await statusUntil(server, (s) => (s.completions.prefetched ?? 0) > (before.prefetched ?? 0), 'the next suggestion', 50);
      } catch {
        // The model's next suggestion was empty after post-processing: nothing to cache, try elsewhere.
        continue;
      }
      editor.insert(shown);
      const next = await editor.complete();
      const after = (await server.status()).completions;
      t.diagnostic(`attempt ${attempt + 1}: shown ${JSON.stringify(shown)}, then ${JSON.stringify(next)}`);
      assert.notEqual(next, '', 'the suggestion after Tab is there');
      assert.equal(after.generated, ready.completions.generated, 'no generation ran for it');
      assert.equal(after.cacheHits, ready.completions.cacheHits + 1);
      served = true;
    }
    assert.ok(served, 'a shown suggestion was followed by one served from the cache');
  });
});

describe('context ring, comment blocks and budget', () => {
  let server: TestServer;
  let editor: Editor;
  const budget = 200;

  before(async () => {
    server = await startServer({ ...baseSettings, model: await tinyModel(), context: { enabled: true, tokenBudget: budget } });
    await server.waitForState('ready');
    editor = new Editor(server);
  });
  after(() => server.stop());

  it('without repository tokens each chunk is a comment block that names its file, and the ring keeps to its budget', async (t) => {
    editor.type();
    await editor.complete();
    const bare = await lastPrompt(server);
    assert.equal(bare.parts.filter((p) => p.kind === 'chunk').length, 0);
    const sent = ['a', 'b', 'c', 'd', 'e', 'f'].map((n, i) => fileChunk(`src/${n}.ts`, i * 10, lines(n, 2)));
    await sendChunks(server, sent);
    editor.type();
    await editor.complete();
    const prompt = await lastPrompt(server);
    const chunks = prompt.parts.filter((p) => p.kind === 'chunk');
    assert.ok(chunks.length >= 2 && chunks.length < sent.length, `${chunks.length} of ${sent.length} chunks fit ${budget} tokens`);
    // The newest chunks stay, the oldest go.
    const last = sent[sent.length - 1]!;
    assert.ok(
      chunks[chunks.length - 1]?.text.includes(`// ${last.path} lines ${last.startLine + 1}-${last.startLine + 2}\n// export const f0`),
      chunks[chunks.length - 1]?.text,
    );
    assert.ok(chunks[0]?.text.startsWith('<s><|fim_prefix|>// src/'), chunks[0]?.text);
    const added = prompt.figures.promptTokens - bare.figures.promptTokens;
    t.diagnostic(`${chunks.length} chunks added ${added} prompt tokens (budget ${budget})`);
    // One typed character more than the bare prompt.
    assert.ok(added <= budget + 1, `the ring added ${added} tokens, over its budget of ${budget}`);
    assert.equal((await server.status()).contextChunks, chunks.length);
  });

  it('malformed chunks are refused in a sentence, and localLlm.context.enabled off leaves the ring out', async () => {
    await server.connection.sendNotification(ContextChunksNotification.method, { chunks: [{ path: 7 }, null] });
    await server.connection.sendNotification(ContextChunksNotification.method, 'not params');
    for (let i = 0; i < 50 && !server.logs.join('').includes('needs params'); i++) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.ok(server.logs.join('').includes('2 context chunks were ignored'), 'the log names the bad chunks');
    assert.ok(server.logs.join('').includes('localLlm/contextChunks needs params'), 'the log names the bad params');
    const off = { ...baseSettings, model: await tinyModel(), context: { enabled: false, tokenBudget: budget } };
    server.configure(off);
    await statusUntil(server, (s) => s.state === 'ready', 'the settings to apply');
    await sendChunks(server, [fileChunk('src/off.ts', 0, lines('off', 2))]);
    editor.type();
    await editor.complete();
    const prompt = await lastPrompt(server);
    assert.deepEqual(
      prompt.parts.map((p) => p.kind),
      ['prefix', 'suffix', 'middle'],
    );
    assert.equal((await server.status()).contextChunks, 0);
  });

  it('localLlm.completion.maxMs stops a generation and marks it capped', async () => {
    const capped = { ...baseSettings, model: await tinyModel(), context: { enabled: true, tokenBudget: budget } };
    server.configure({ ...capped, completion: { ...capped.completion, maxTokens: 512, maxLines: 200, maxMs: 1 } });
    await statusUntil(server, (s) => s.state === 'ready', 'the settings to apply');
    editor.type();
    await editor.complete();
    const prompt = await lastPrompt(server);
    assert.equal(prompt.capped, true);
    assert.ok(prompt.figures.generatedTokens < 512, `${prompt.figures.generatedTokens} tokens generated`);
    assert.ok(server.logs.join('').includes('was capped at localLlm.completion.maxMs (1 ms)'), 'the log says it was capped');
  });
});

describe('context updates and sleep', () => {
  it('a context update neither wakes a sleeping model nor moves the idle deadline', async () => {
    const server = await startServer({ ...baseSettings, model: await tinyModel(), sleepIdleSeconds: 3 });
    try {
      await server.waitForState('ready');
      await new Promise((resolve) => setTimeout(resolve, 1200));
      const before = await server.status();
      assert.ok(before.idleSecondsLeft !== null && before.idleSecondsLeft <= 2, `${before.idleSecondsLeft} s left`);
      await sendChunks(server, [fileChunk('src/a.ts', 0, lines('a', 3))]);
      const after = await server.status();
      assert.ok(
        after.idleSecondsLeft !== null && after.idleSecondsLeft <= before.idleSecondsLeft,
        `${after.idleSecondsLeft} s left after the update`,
      );
      await server.waitForState('sleeping', 10_000);
      const asleep = await server.status();
      await sendChunks(server, [fileChunk('src/b.ts', 0, lines('b', 3))]);
      // Longer than the quiet time after which a prefill would run.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const later = await server.status();
      assert.equal(later.state, 'sleeping');
      assert.equal(later.counters.wakes, asleep.counters.wakes);
      assert.equal(later.counters.loads, asleep.counters.loads);
      assert.equal(later.memory.hostPid, null, 'deep sleep: no model host was started');
    } finally {
      await server.stop();
    }
  });
});

describe('one oversized context chunk', () => {
  it('is passed over, and the chunks before it stay in the prompt', async (t) => {
    const server = await startServer({ ...baseSettings, model: await tinyModel() });
    try {
      await server.waitForState('ready');
      const editor = new Editor(server);
      const good = Array.from({ length: 15 }, (_, i) => fileChunk(`src/small${i}.ts`, 0, `export const small${i} = ${i};`));
      // 45 KB of CJK text: the server's ring counts its characters at four a token, the model
      // spends three byte tokens on each, so the chunk alone is several times the ring's budget.
      const cjk = Array.from({ length: 700 }, () => '漢字仮名交じり文の長い行'.repeat(2)).join('\n');
      t.diagnostic(`the oversized chunk: ${Buffer.byteLength(cjk)} bytes`);
      await sendChunks(server, [...good, fileChunk('src/huge.ts', 0, cjk)]);
      editor.type();
      await editor.complete();
      const prompt = await lastPrompt(server);
      const chunks = prompt.parts.filter((p) => p.kind === 'chunk');
      assert.equal(chunks.length, good.length, `${chunks.length} chunks in the prompt`);
      assert.ok(!chunks.some((c) => c.text.includes('src/huge.ts')), 'the oversized chunk is not in the prompt');
      assert.ok(chunks[chunks.length - 1]?.text.includes('small14'), 'the newest good chunk is in');
      assert.equal((await server.status()).contextChunks, good.length);
    } finally {
      await server.stop();
    }
  });
});
