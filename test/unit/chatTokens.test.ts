// The chat sequence's exact tokens (#24): which turn's record lets a follow-up continue from the
// tokens held, what part of a rendered template is new, and which saved records are refused.
// Tokens here are plain numbers; "detokenize" maps each to one letter, so a test can make an
// answer that its tokens spell or do not.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  continues,
  conversationKey,
  parseChatTokenRecord,
  recordTurn,
  templateAfter,
  tokensKey,
  type ChatTokenRecord,
  type TemplatePiece,
} from '../../server/src/host/llama/chatTokens';
import type { HostChatMessage } from '../../server/src/engine/types';

/** Token n is the letter n (0 = "a"). */
const letters = (tokens: readonly number[]): string => tokens.map((t) => String.fromCharCode(97 + t)).join('');
const question: HostChatMessage[] = [
  { role: 'system', text: 'Be brief.' },
  { role: 'user', text: 'Add two numbers' },
];
const prompt = [100, 101, 102, 103];

describe('chat tokens: the record of a turn', () => {
  it('keeps the prompt and every generated token when their text is the answer', () => {
    const held = [...prompt, 0, 1, 2];
    const record = recordTurn(question, 'abc', prompt, held, letters);
    assert.ok(record);
    assert.equal(record.tokenCount, 7);
    assert.equal(record.tail, '');
    assert.equal(record.messageCount, 3);
    assert.equal(record.tokensKey, tokensKey(held));
    assert.equal(record.conversationKey, conversationKey([...question, { role: 'assistant', text: 'abc' }]));
  });

  it('leaves out the tokens of a stop trigger cut from the answer', () => {
    // "xy" was generated and evaluated, then cut from the answer as a stop trigger.
    const record = recordTurn(question, 'abc', prompt, [...prompt, 0, 1, 2, 23, 24], letters);
    assert.ok(record);
    assert.equal(record.tokenCount, 7);
    assert.equal(record.tail, '');
    assert.equal(record.tokensKey, tokensKey([...prompt, 0, 1, 2]));
  });

  it('keeps the text of a last token that was generated but never evaluated as the tail', () => {
    const record = recordTurn(question, 'abcd', prompt, [...prompt, 0, 1, 2], letters);
    assert.ok(record);
    assert.equal(record.tokenCount, 7);
    assert.equal(record.tail, 'd');
  });

  it('leaves out a long run of tokens the library held back and never showed', () => {
    // Random weights can repeat half a character hundreds of times: all evaluated, none in the answer.
    const heldBack = Array.from({ length: 300 }, () => 25);
    const record = recordTurn(question, 'abc', prompt, [...prompt, 0, 1, 2, ...heldBack], letters);
    assert.ok(record);
    assert.equal(record.tokenCount, 7);
    assert.equal(record.tail, '');
  });

  it('keeps only the prompt when no generated text begins the answer: the answer is all tail', () => {
    const other = Array.from({ length: 40 }, () => 25);
    const record = recordTurn(question, 'abc', prompt, [...prompt, ...other], letters);
    assert.ok(record);
    assert.equal(record.tokenCount, prompt.length);
    assert.equal(record.tail, 'abc');
  });

  it('has no record when the sequence does not begin with the prompt (a context shift)', () => {
    assert.equal(recordTurn(question, 'abc', prompt, [100, 101, 0, 1, 2], letters), null);
    assert.equal(recordTurn(question, 'abc', prompt, [100, 101, 109, 103, 0, 1, 2], letters), null);
  });
});

describe('chat tokens: which request continues the record', () => {
  const held = [...prompt, 0, 1, 2];
  const record = recordTurn(question, 'abc', prompt, held, letters)!;
  const answered: HostChatMessage[] = [...question, { role: 'assistant', text: 'abc' }];

  it('the same conversation and a new question, on a sequence that still holds its tokens', () => {
    assert.ok(continues(record, [...answered, { role: 'user', text: 'And subtract' }], held));
    assert.ok(
      continues(record, [...answered, { role: 'user', text: 'And subtract' }], [...held, 7, 8]),
      'tokens held after them do not matter',
    );
  });

  it('not an edited, reordered or trimmed history, nor the same question asked again', () => {
    const follow = { role: 'user' as const, text: 'And subtract' };
    assert.ok(!continues(record, [...question, { role: 'assistant', text: 'abd' }, follow], held), 'edited answer');
    assert.ok(!continues(record, [{ role: 'system', text: 'Be brief!' }, ...answered.slice(1), follow], held), 'edited system prompt');
    // fitChatHistory dropped the oldest turn.
    assert.ok(!continues(record, [answered[0]!, answered[2]!, follow], held), 'a dropped message');
    assert.ok(!continues(record, question, held), 'a new conversation as long as the old one');
    assert.ok(!continues(record, answered, held), 'nothing new');
    assert.ok(!continues(record, [...answered, { role: 'assistant', text: 'more' }], held), 'the last message is not the user’s');
    assert.ok(!continues(null, [...answered, follow], held), 'no record');
  });

  it('not on a sequence that holds other tokens (another chat, a failed restore)', () => {
    const follow: HostChatMessage[] = [...answered, { role: 'user', text: 'And subtract' }];
    assert.ok(!continues(record, follow, [...prompt, 0, 1, 3]));
    assert.ok(!continues(record, follow, [...prompt, 0, 1]));
    assert.ok(!continues(record, follow, []));
  });
});

describe('chat tokens: the template after the answer', () => {
  const special = (value: string): TemplatePiece => ({ type: 'specialTokensText', value });
  const open: TemplatePiece[] = [
    { type: 'specialToken', value: 'BOS' },
    special('<|im_start|>user\n'),
    'Hi',
    special('<|im_end|>\n<|im_start|>assistant\n'),
    'Hello',
  ];
  const full: TemplatePiece[] = [
    ...open,
    special('<|im_end|>\n<|im_start|>user\n'),
    'More',
    special('<|im_end|>\n<|im_start|>assistant\n'),
  ];

  it('is what the whole conversation writes after the open answer', () => {
    assert.deepEqual(templateAfter(open, full, 'Hello'), full.slice(open.length));
  });

  it('splits a text the answer shares with the template after it', () => {
    const plainOpen: TemplatePiece[] = ['User: Hi\nAssistant: ', 'Hello'];
    const plainFull: TemplatePiece[] = ['User: Hi\nAssistant: Hello\nUser: More\nAssistant: '];
    assert.deepEqual(templateAfter(plainOpen, plainFull, 'Hello'), ['\nUser: More\nAssistant: ']);
  });

  it('is null when the template rewrites an earlier turn or closes the answer itself', () => {
    const rewritten = [...full];
    rewritten[2] = 'Hi!';
    assert.equal(templateAfter(open, rewritten, 'Hello'), null);
    const closed = [...open, special('<|im_end|>\n')];
    assert.equal(templateAfter(closed, full, 'Hello'), null, 'the open template does not end with the answer');
    assert.equal(templateAfter(open, full.slice(0, 3), 'Hello'), null, 'shorter than the open template');
    assert.equal(templateAfter([...open.slice(0, 4)], full, ''), null, 'an empty answer cannot be told from the template');
  });
});

describe('chat tokens: the record saved with the state', () => {
  const record: ChatTokenRecord = { messageCount: 3, conversationKey: 'c', tokenCount: 7, tokensKey: 't', tail: '' };

  it('reads back what was written', () => {
    assert.deepEqual(parseChatTokenRecord(JSON.parse(JSON.stringify(record))), record);
  });

  it('refuses anything else: a full evaluation, never a wrong reuse', () => {
    for (const bad of [
      undefined,
      null,
      'record',
      { ...record, tokenCount: -1 },
      { ...record, tokenCount: 1.5 },
      { ...record, messageCount: '3' },
      { ...record, tokensKey: 7 },
      { ...record, tail: null },
      { messageCount: 3 },
    ]) {
      assert.equal(parseChatTokenRecord(bad), null, JSON.stringify(bad));
    }
  });
});
