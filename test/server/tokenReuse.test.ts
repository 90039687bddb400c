// Never evaluate a token twice (DESIGN.md), counted over real LSP with the generated model: the
// host's token meter says how many prompt tokens each completion and chat turn evaluated. Typing
// along a line evaluates the typed characters, Enter the suffix, and a chat turn between two
// completions (or a completion between two chat turns) leaves the other's KV cache alone.
// Asserts counts, never timings or text.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { InlineCompletionRequest, type InlineCompletionItem } from 'vscode-languageserver-protocol/node';
import { buildInfillWindow, defaultBudget } from '../../server/src/completion/prompt';
import { ChatRequest, type ChatResult, type ModelStatus, type TokenFigures } from '../../server/src/shared/protocol';
import { tinyModel } from '../fixtures/models';
import { startServer, type TestServer } from './lspClient';

/** Prompt tokens a request may evaluate beyond what changed: FIM control tokens, a re-split token at the seam, the one token always decoded. */
const slack = 8;
const uri = 'file:///work/reuse.ts';
const lineStart = '  let item = ';
const keys = 20;
/** Characters to type: each differs from the shown completion's first character, so the server's cache never answers. */
const pool = 'qzjxkvwQZJXKVW';

/** A few thousand lines of code-like text. */
function codeLines(count: number): string[] {
  return Array.from({ length: count }, (_, i) => {
    switch (i % 4) {
      case 0:
        return `function step${i}(a: number, b: number): number {`;
      case 1:
        return `  const value${i} = compute(a * ${i % 13}, b + ${i % 7});`;
      case 2:
        return `  return value${i - 1} ? value${i - 1} - ${i} : b;`;
      default:
        return '}';
    }
  });
}

/**
 * A cursor line near the middle whose Enter leaves the server's character window where it was
 * (prompt.ts moves it once per 2 KB of lines), so what Enter costs is the host's doing alone.
 */
function cursorLine(lines: string[]): number {
  const typedLine = lineStart + 'x'.repeat(keys + 4);
  for (let line = Math.floor(lines.length / 2); line < lines.length - 100; line++) {
    const withLine = [...lines.slice(0, line), typedLine, ...lines.slice(line)];
    const text = withLine.join('\n');
    const offset = withLine.slice(0, line + 1).join('\n').length;
    const entered = text.slice(0, offset) + '\n' + text.slice(offset);
    if (buildInfillWindow(text, offset).prefixStart === buildInfillWindow(entered, offset + 1).prefixStart) return line;
  }
  throw new Error('no cursor line keeps the window in place on Enter');
}

describe('token reuse', () => {
  let server: TestServer;
  let lines: string[];
  let row: number;
  let version = 1;
  /** The cursor line's text; the cursor is at its end. */
  let current = lineStart;
  let shown = '';

  const text = (): string => [...lines.slice(0, row), current, ...lines.slice(row)].join('\n');

  async function complete(): Promise<{ status: ModelStatus; generated: boolean }> {
    const before = (await server.status()).completions.generated;
    const items = (await server.connection.sendRequest(InlineCompletionRequest.type, {
      textDocument: { uri },
      position: { line: row, character: current.length },
      context: { triggerKind: 2 },
    })) as InlineCompletionItem[] | null;
    const first = items?.[0]?.insertText;
    shown = typeof first === 'string' ? first : '';
    const status = await server.status();
    return { status, generated: status.completions.generated > before };
  }

  async function type(piece: string): Promise<void> {
    current += piece;
    server.change(uri, ++version, text());
  }

  function nextKey(): string {
    return [...pool].find((c) => c !== shown[0]) ?? 'q';
  }

  function figures(status: ModelStatus, which: 'lastCompletion' | 'lastChat'): TokenFigures {
    const f = status[which];
    assert.ok(f, `the status carries ${which}`);
    assert.equal(f.reusedTokens, f.promptTokens - f.evaluatedTokens);
    return f;
  }

  async function chat(sessionId: string, message: string): Promise<TokenFigures> {
    const result: ChatResult = await server.connection.sendRequest(ChatRequest.type, { sessionId, message });
    assert.ok(['eos', 'maxTokens'].includes(result.stopReason), result.stopReason);
    return figures(await server.status(), 'lastChat');
  }

  before(async () => {
    lines = codeLines(3000);
    row = cursorLine(lines);
    server = await startServer({
      model: await tinyModel(),
      contextSize: 4096,
      threads: 1,
      sleepIdleSeconds: 0,
      completion: { debounceMs: 0, maxTokens: 16, maxLines: 4 },
    });
    await server.waitForState('ready');
    server.open(uri, text());
  });
  after(() => server.stop());

  it('typing along a line evaluates the typed characters, not the window', async (t) => {
    const cold = await complete();
    assert.ok(cold.generated);
    const first = figures(cold.status, 'lastCompletion');
    // The window is big, so the bound below means something.
    assert.ok(first.promptTokens > 500, `${first.promptTokens} prompt tokens`);
    assert.equal(first.evaluatedTokens, first.promptTokens, 'a new sequence evaluates the whole prompt');
    let generated = 0;
    const report: string[] = [];
    for (let i = 0; i < keys; i++) {
      await type(nextKey());
      const { status, generated: ran } = await complete();
      if (!ran) continue;
      generated++;
      const f = figures(status, 'lastCompletion');
      report.push(`${f.evaluatedTokens}/${f.promptTokens}`);
      const typed = current.length - lineStart.length;
      assert.ok(
        f.evaluatedTokens <= typed + slack,
        `keystroke ${i + 1} evaluated ${f.evaluatedTokens} of ${f.promptTokens} prompt tokens (${report.join(' ')})`,
      );
    }
    t.diagnostic(`evaluated/prompt tokens per keystroke: ${report.join(' ')}`);
    assert.ok(generated >= keys - 2, `${generated} of ${keys} keystrokes generated`);
  });

  it('Enter evaluates at most the suffix and the line it ends', async (t) => {
    const ended = current.length;
    await type('\n');
    lines.splice(row, 0, current.slice(0, -1));
    row++;
    current = '';
    server.change(uri, ++version, text());
    const { status, generated } = await complete();
    assert.ok(generated);
    const f = figures(status, 'lastCompletion');
    t.diagnostic(`Enter: ${f.evaluatedTokens} of ${f.promptTokens} prompt tokens evaluated`);
    assert.ok(
      f.evaluatedTokens <= defaultBudget.suffixTokens + ended + 1 + slack,
      `Enter evaluated ${f.evaluatedTokens} of ${f.promptTokens} prompt tokens`,
    );
    assert.ok(f.reusedTokens >= f.promptTokens - defaultBudget.suffixTokens - ended - 1 - slack);
  });

  it('a chat turn between two completions leaves the completion cache intact', async (t) => {
    await type(nextKey());
    assert.ok((await complete()).generated);
    await chat('between-completions', 'Explain this code');
    await type(nextKey());
    const second = await complete();
    assert.ok(second.generated);
    const f = figures(second.status, 'lastCompletion');
    t.diagnostic(`after a chat turn: ${f.evaluatedTokens} of ${f.promptTokens} prompt tokens evaluated`);
    assert.ok(
      f.evaluatedTokens <= 1 + slack,
      `the completion after a chat turn evaluated ${f.evaluatedTokens} of ${f.promptTokens} prompt tokens`,
    );
  });

  it('a completion between two chat turns leaves the chat cache intact', async (t) => {
    const first = await chat('between-chats', 'Write a function');
    await type(nextKey());
    assert.ok((await complete()).generated);
    const followUp = await chat('between-chats', 'And a test for it');
    t.diagnostic(
      `first turn ${first.promptTokens} prompt tokens; follow-up ${followUp.evaluatedTokens} of ${followUp.promptTokens} evaluated`,
    );
    // The follow-up's prompt begins with the first turn's whole prompt (system, question), then its answer.
    assert.ok(followUp.promptTokens > first.promptTokens);
    assert.ok(
      followUp.reusedTokens >= first.promptTokens - slack,
      `the follow-up reused ${followUp.reusedTokens} of ${followUp.promptTokens} prompt tokens; the first turn's prompt had ${first.promptTokens}`,
    );
  });
});
