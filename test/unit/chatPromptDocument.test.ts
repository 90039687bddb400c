import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chatPartMarker, noChatYet, renderChatPromptDocument } from '../../client/src/chat/chatPromptDocument';
import type { LastChatPrompt } from '../../server/src/shared/protocol';

const prompt: LastChatPrompt = {
  sessionId: 's-1',
  parts: [
    { kind: 'system', label: 'system prompt', text: 'You are a coding assistant.\n', tokens: 7, fit: 'whole' },
    { kind: 'history', label: 'turn 1', text: 'Q: hi\nA: hello', tokens: 6, fit: 'dropped' },
    { kind: 'mention', label: 'src/a.ts#L1-3', text: 'const a = 1;\n', tokens: 5, fit: 'trimmed' },
    { kind: 'retrieved', label: 'src/b.ts lines 4-9', text: 'function b() {}\n', tokens: 4, fit: 'whole' },
    { kind: 'question', label: 'question', text: 'What is a?', tokens: 4, fit: 'whole' },
  ],
  budgetTokens: 4096,
  figures: { promptTokens: 20, evaluatedTokens: 12, reusedTokens: 8, generatedTokens: 30, tokensPerSecond: 12.5, ms: 2500 },
  notes: ['1 older turn left out'],
  at: new Date(2026, 11, 7, 9, 5, 3).getTime(),
};

describe('last chat prompt document', () => {
  it('shows every part in order, with its tokens and whether it fit, and the notes', () => {
    const doc = renderChatPromptDocument(prompt);
    const markers = doc.split('\n').filter((l) => l.startsWith('━━━━'));
    assert.deepEqual(markers, [
      '━━━━ 1/5 system: system prompt · 7 tokens · whole ━━━━',
      '━━━━ 2/5 history: turn 1 · 6 tokens · left out ━━━━',
      '━━━━ 3/5 mention: src/a.ts#L1-3 · 5 tokens · trimmed to fit ━━━━',
      '━━━━ 4/5 retrieved: src/b.ts lines 4-9 · 4 tokens · whole ━━━━',
      '━━━━ 5/5 question: question · 4 tokens · whole ━━━━',
      '━━━━ end of prompt ━━━━',
    ]);
    assert.match(doc, /Ran at: {10}2026-12-07 09:05:03/);
    assert.match(doc, /Budget: {10}4096 tokens for the prompt and the answer; the parts below take 20/);
    assert.match(doc, /Prompt tokens: {3}20 \(12 evaluated, 8 reused from the KV cache\)/);
    assert.match(doc, /Left out:\n {2}- 1 older turn left out/);
    // Each part's text follows its marker exactly.
    assert.ok(doc.includes(`${chatPartMarker(2, 5, prompt.parts[2])}\nconst a = 1;\n━━━━ 4/5`));
    assert.ok(doc.includes('What is a?\n━━━━ end of prompt ━━━━\n'));
  });

  it('says so when no turn ran, or the server does not report prompts', () => {
    assert.equal(renderChatPromptDocument(null), `Local LLM: last chat prompt\n\n${noChatYet}\n`);
    assert.match(renderChatPromptDocument(null, 'This server does not report its chat prompts.'), /does not report/);
    assert.match(renderChatPromptDocument({ ...prompt, figures: null }), /Ran: {13}no/);
  });
});
