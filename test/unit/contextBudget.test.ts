import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assembleTurn } from '../../server/src/chat/chatPrompt';
import { fitTurn, minTrimmedTokens, type BudgetLimits, type TurnInput } from '../../server/src/chat/contextBudget';
import { estimateTokens, messageTokens } from '../../server/src/chat/tokenEstimate';
import type { ChatPart, ChatTurn } from '../../server/src/shared/protocol';

const lines = (tag: string, n: number): string => Array.from({ length: n }, (_, i) => `${tag} line ${i} of some code;`).join('\n');
const mention = (label: string, n: number, kind: ChatPart['kind'] = 'file'): ChatPart => ({ kind, label, text: lines(label, n) });
const chunk = (label: string, n: number): ChatPart => ({ kind: 'codebase', label, text: lines(label, n) });
const turn = (i: number, size = 40): ChatTurn => ({
  user: `question ${i} ${'q'.repeat(size)}`,
  assistant: `answer ${i} ${'a'.repeat(size * 2)}`,
});

const system = 'You are helpful.';
const question = 'What does this do?';

function input(over: Partial<TurnInput> = {}): TurnInput {
  return {
    system,
    question,
    mentions: [mention('src/a.ts', 10), mention('src/b.ts', 10)],
    retrieved: [chunk('lib/x.ts:1-10', 10), chunk('lib/y.ts:1-10', 10), chunk('lib/z.ts:1-10', 10)],
    history: [turn(1), turn(2), turn(3), turn(4)],
    ...over,
  };
}

const limits = (contextTokens: number): BudgetLimits => ({ contextTokens, answerTokens: 100, retrievalShare: 0.35 });

/** Everything, whole: the tokens a turn needs when nothing is cut. */
function fullCost(i: TurnInput): number {
  const r = fitTurn(i, limits(1_000_000));
  return r.promptTokens;
}

describe('fitTurn', () => {
  it('keeps everything whole when it fits, with no note', () => {
    const i = input();
    const r = fitTurn(i, limits(fullCost(i) * 4 + 100));
    assert.deepEqual(r.notes, []);
    assert.ok(r.mentions.every((m) => m.fit === 'whole'));
    assert.ok(r.retrieved.every((m) => m.fit === 'whole'));
    assert.ok(r.history.every((t) => t.kept));
    assert.ok(r.userMessage.endsWith(question));
    assert.ok(r.userMessage.startsWith('File: src/a.ts\n'));
  });

  it('drops older history first, then recent history, then retrieval, then trims mentions; never the question', () => {
    const i = input();
    const total = fullCost(i);
    let previous = { retrieved: i.retrieved.length, mentionTokens: Infinity };
    const seen = new Set<string>();
    // Shrink the context step by step: what is lost must go in the order of priority.
    for (let context = total * 4 + 100; context > 100; context -= 7) {
      const r = fitTurn(i, { ...limits(context), retrievalShare: 1 });
      const turns = r.history.filter((t) => t.kept).length;
      const retrieved = r.retrieved.filter((c) => c.fit === 'whole').length;
      const mentionTokens = r.mentions.reduce((s, m) => s + (m.fit === 'dropped' ? 0 : m.tokens), 0);
      // Kept turns are always the most recent ones.
      const keptIndexes = r.history.flatMap((t, k) => (t.kept ? [k] : []));
      assert.deepEqual(
        keptIndexes,
        Array.from({ length: turns }, (_, k) => i.history.length - turns + k),
      );
      // A higher priority loses only once everything below it is gone (what is left may take a
      // smaller turn that still fits, never a chunk or a turn that a mention gave room for).
      if (retrieved < i.retrieved.length) assert.ok(turns < i.history.length, `retrieval lost while every turn kept (context ${context})`);
      if (mentionTokens < fullMentionTokens(i))
        assert.equal(retrieved, 0, `a mention cut while ${retrieved} chunks kept (context ${context})`);
      // (A turn may come back when a chunk that no longer fits leaves its room to the history.)
      assert.ok(retrieved <= previous.retrieved && mentionTokens <= previous.mentionTokens, `context ${context}`);
      assert.ok(r.userMessage.endsWith(question), 'the question is always there, whole');
      if (turns < i.history.length) seen.add('history');
      if (retrieved < i.retrieved.length) seen.add('retrieval');
      if (r.mentions.some((m) => m.fit === 'trimmed')) seen.add('trimmed');
      previous = { retrieved, mentionTokens };
    }
    assert.deepEqual([...seen], ['history', 'retrieval', 'trimmed']);
  });

  it('gives retrieval at most its share of the prompt', () => {
    const i = input({ mentions: [], history: [], retrieved: Array.from({ length: 20 }, (_, k) => chunk(`c${k}.ts:1-10`, 10)) });
    const l = limits(4000);
    const r = fitTurn(i, l);
    const used = r.retrieved.reduce((s, c) => s + (c.fit === 'whole' ? c.tokens : 0), 0);
    assert.ok(used <= Math.floor((l.contextTokens - l.answerTokens) * l.retrievalShare), `${used} tokens retrieved`);
    const unfit = r.retrieved.filter((c) => c.fit === 'dropped').length;
    assert.ok(unfit > 0);
    assert.ok(r.notes.includes(`${unfit} retrieved chunks did not fit`), r.notes.join('\n'));
  });

  it('trims a large mention at a line and keeps a small one whole', () => {
    const small = mention('src/small.ts', 3, 'selection');
    const big = mention('src/big.ts', 400);
    const r = fitTurn(input({ mentions: [big, small], retrieved: [], history: [] }), limits(1200));
    const [b, s] = r.mentions;
    assert.equal(s.fit, 'whole');
    assert.equal(b.fit, 'trimmed');
    assert.ok(b.keptLines! > 0 && b.keptLines! < 400);
    assert.match(
      b.text,
      new RegExp(`src/big.ts line ${b.keptLines! - 1} of some code;\\n… \\(${400 - b.keptLines!} more lines left out\\)`),
    );
    assert.ok(r.notes.includes(`src/big.ts trimmed to ${b.keptLines} lines`), r.notes.join('\n'));
    assert.ok(r.promptTokens <= 1200 - 100, `${r.promptTokens} prompt tokens`);
  });

  it('leaves out a mention that would keep too little, and says so', () => {
    const context = 100 + messageTokens(system) + messageTokens(question) + minTrimmedTokens - 1;
    const r = fitTurn(input({ mentions: [mention('src/huge.ts', 2000)], retrieved: [], history: [] }), limits(context));
    assert.equal(r.mentions[0].fit, 'dropped');
    assert.deepEqual(r.notes, ['src/huge.ts left out: it did not fit the context']);
    assert.equal(r.userMessage, question);
  });

  it('keeps an oversized question and says that nothing else fit', () => {
    const long = 'why '.repeat(500);
    const r = fitTurn(input({ question: long }), limits(300));
    assert.equal(r.userMessage, long);
    assert.ok(r.history.every((t) => !t.kept));
    assert.match(r.notes[0], /^The question alone is about \d+ tokens/);
    assert.ok(r.notes.includes('4 older turns left out'));
  });

  it('counts in estimated tokens: UTF-8 bytes / 3, plus the template per message', () => {
    assert.equal(estimateTokens('abcdef'), 2);
    assert.equal(estimateTokens('é'), 1);
    assert.equal(estimateTokens('€€€'), 3);
    assert.equal(messageTokens(''), 8);
  });
});

describe('assembleTurn', () => {
  it('the kept parts joined are the messages, in prompt order', () => {
    const i = input();
    // The largest context that leaves out at least one turn.
    let context = fullCost(i) + 100;
    while (fitTurn(i, limits(context)).history.every((t) => t.kept)) context -= 5;
    const fitted = fitTurn(i, limits(context));
    const refused: ChatPart = { kind: 'file', label: '.env', text: 'SECRET=1', source: { uri: 'file:///w/.env' } };
    const { messages, parts, included } = assembleTurn(system, question, fitted, [refused]);
    assert.equal(parts.map((p) => p.text).join(''), messages.map((m) => m.text).join(''));
    assert.deepEqual([...new Set(parts.map((p) => p.kind))], ['system', 'history', 'mention', 'retrieved', 'question']);
    assert.ok(!parts.some((p) => p.text.includes('SECRET')));
    assert.ok(included.some((p) => p.label === '.env' && p.fit === 'dropped'));
    assert.ok(
      parts.some((p) => p.kind === 'history' && p.fit === 'dropped'),
      'the oldest turn was left out',
    );
    assert.equal(messages[messages.length - 1].text, fitted.userMessage);
  });
});

function fullMentionTokens(i: TurnInput): number {
  return fitTurn(i, limits(1_000_000)).mentions.reduce((s, m) => s + m.tokens, 0);
}
