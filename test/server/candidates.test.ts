// Several candidates over real LSP (the built server, the real model host, a generated GGUF): an
// automatic request gets one suggestion; an explicit one at the same place (what VS Code sends
// for Show Next) gets up to localLlm.completion.candidates distinct ones, drawn from the prompt the
// completion sequence already holds; a keystroke stops the draws. Counts, never text or timings.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { InlineCompletionRequest, InlineCompletionTriggerKind, type InlineCompletionItem } from 'vscode-languageserver-protocol/node';
import { maxDraws } from '../../server/src/completion/candidates';
import { tinyModel } from '../fixtures/models';
import { startServer, type TestServer } from './lspClient';

const candidates = 3;
/** Prompt tokens a draw may evaluate again: the prompt's last token, or the end of the cursor line when the next suggestion's prefetch ran in between. */
const handful = 8;

type Position = { line: number; character: number };

function request(server: TestServer, uri: string, position: Position, explicit: boolean): Promise<InlineCompletionItem[]> {
  return server.connection
    .sendRequest(InlineCompletionRequest.type, {
      textDocument: { uri },
      position,
      context: { triggerKind: explicit ? InlineCompletionTriggerKind.Invoked : InlineCompletionTriggerKind.Automatic },
    })
    .then((items) => (Array.isArray(items) ? items : (items?.items ?? [])));
}

const texts = (items: InlineCompletionItem[]): string[] =>
  items.map((i) => (typeof i.insertText === 'string' ? i.insertText : i.insertText.value));

/** The draws logged for `uri` from log line `from` on: each one's prompt tokens evaluated. */
function draws(server: TestServer, uri: string, from = 0): number[] {
  return server.logs
    .slice(from)
    .filter((l) => l.startsWith(`Candidate `) && l.includes(` in ${uri} `))
    .map((l) => {
      const m = /: (\d+) prompt tokens, (\d+) evaluated/.exec(l);
      assert.ok(m, `a draw's log line without figures: ${l}`);
      return Number(m[2]);
    });
}

/** A place where an automatic request shows something (random weights may write nothing but white space at one). */
async function shownAt(server: TestServer, uri: string, lines: string[]): Promise<{ position: Position; first: string }> {
  for (let line = 0; line < lines.length; line++) {
    for (const character of [lines[line].length, Math.floor(lines[line].length / 2)]) {
      const position = { line, character };
      const items = await request(server, uri, position, false);
      if (items.length > 0) return { position, first: texts(items)[0] };
    }
  }
  throw new Error('the model showed nothing at any place tried');
}

describe('several candidates (Show Next / Show Previous)', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({
      model: await tinyModel(),
      contextSize: 1024,
      threads: 1,
      sleepIdleSeconds: 0,
      // One line: the suggestion that follows an accepted one (prefetched in the background)
      // then keeps the prompt up to the cursor, whether or not it ran before the explicit request.
      completion: { debounceMs: 0, maxTokens: 16, maxLines: 1, candidates },
    });
    await server.waitForState('ready');
  });
  after(() => server.stop());

  it('an explicit request after an automatic one returns distinct candidates, the first unchanged, each reading no prompt again', async (t) => {
    const uri = 'file:///work/candidates.ts';
    const lines = ['function scale(values: number[], by: number) {', '  const out = values.map((v) => ', '  return out', '}'];
    server.open(uri, lines.join('\n'));
    const { position, first } = await shownAt(server, uri, lines);
    const automatic = await request(server, uri, position, false);
    assert.equal(automatic.length, 1, 'an automatic request shows one suggestion (from the cache here)');

    const from = server.logs.length;
    const before = (await server.status()).completions;
    const items = await request(server, uri, position, true);
    const shown = texts(items);
    t.diagnostic(`candidates: ${JSON.stringify(shown)}`);
    assert.equal(shown[0], first, 'the first suggestion stays first');
    assert.ok(shown.length >= 2, `expected at least 2 candidates, got ${shown.length}`);
    assert.ok(shown.length <= candidates, `at most localLlm.completion.candidates (${candidates}), got ${shown.length}`);
    assert.equal(new Set(shown.map((t) => t.trimEnd())).size, shown.length, 'candidates are distinct');
    for (const item of items) assert.deepEqual(item.range, { start: position, end: position });

    const evaluated = draws(server, uri, from);
    assert.ok(evaluated.length >= shown.length - 1 && evaluated.length <= maxDraws(candidates), `draws: ${evaluated.length}`);
    t.diagnostic(`prompt tokens evaluated per draw: ${evaluated.join(', ')}`);
    for (const e of evaluated) assert.ok(e <= handful, `a draw evaluated ${e} prompt tokens again (${evaluated.join(', ')})`);
    const after = (await server.status()).completions;
    assert.equal(after.generated, before.generated, 'the first suggestion was not generated again');
    const last = (await server.status()).lastCompletion;
    assert.ok(last && last.evaluatedTokens <= handful, `status lastCompletion: ${JSON.stringify(last)}`);

    // Show Next again (VS Code asks once, other editors may ask again): the same list, nothing drawn.
    const again = await request(server, uri, position, true);
    assert.deepEqual(texts(again), shown);
    assert.equal(draws(server, uri, from).length, evaluated.length, 'asking again drew nothing');
  });

  it('a keystroke stops the draws, like any completion', async () => {
    const uri = 'file:///work/keystroke.ts';
    const lines = ['const names = ["a", "b"];', 'for (const name of names) {', '  console.log(', '}'];
    server.open(uri, lines.join('\n'));
    const { position, first } = await shownAt(server, uri, lines);
    // Show Next, then at once a key typed and the completion it asks for: the draws are superseded.
    // The key is not the suggestion's next character (typing along it is answered from the cache).
    const key = first.startsWith('x') ? 'y' : 'x';
    const explicit = request(server, uri, position, true);
    const typed = lines.slice();
    typed[position.line] = typed[position.line].slice(0, position.character) + key + typed[position.line].slice(position.character);
    server.change(uri, 2, typed.join('\n'));
    const next = request(server, uri, { line: position.line, character: position.character + 1 }, false);
    assert.deepEqual(await explicit, [], 'the explicit request was stopped by the keystroke');
    await next;
    const counters = (await server.status()).completions;
    assert.ok(counters.superseded >= 1, `superseded: ${counters.superseded}`);
  });

  it('with localLlm.completion.candidates at 1, an explicit request shows one suggestion', async () => {
    server.configure({
      model: await tinyModel(),
      contextSize: 1024,
      threads: 1,
      sleepIdleSeconds: 0,
      completion: { debounceMs: 0, maxTokens: 16, maxLines: 1, candidates: 1 },
    });
    const uri = 'file:///work/one.ts';
    const lines = ['let total = 0;', 'for (let i = 0; i < 10; i++) total += ', ''];
    server.open(uri, lines.join('\n'));
    const { position } = await shownAt(server, uri, lines);
    const from = server.logs.length;
    const items = await request(server, uri, position, true);
    assert.equal(items.length, 1);
    assert.equal(draws(server, uri, from).length, 0);
  });
});
