// The context ring as llama-server's input_extra: the newest chunks that fit, oldest first.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { extraChunks } from '../../server/src/engine/http/remoteEngine';
import type { InfillParams } from '../../server/src/engine/types';

const base: InfillParams = {
  prefix: '',
  middle: '',
  suffix: '',
  prefixTokens: 512,
  suffixTokens: 128,
  maxTokens: 16,
  maxLines: 4,
  stopTexts: [],
};

function withChunks(texts: string[], budgetTokens: number): InfillParams {
  return {
    ...base,
    context: {
      chunks: texts.map((text, i) => ({ path: i === 0 ? '' : `src/f${i}.ts`, text, startLine: i === 0 ? -1 : 0 })),
      budgetTokens,
      repoName: 'repo',
      currentPath: 'src/main.ts',
      commentPrefix: '//',
    },
  };
}

describe('input_extra from the context ring', () => {
  it('is empty without a ring', () => {
    assert.deepEqual(extraChunks(base), []);
  });

  it('keeps every chunk that fits, oldest first, naming copied text', () => {
    assert.deepEqual(extraChunks(withChunks(['copied', 'one', 'two'], 100)), [
      { filename: 'clipboard', text: 'copied' },
      { filename: 'src/f1.ts', text: 'one' },
      { filename: 'src/f2.ts', text: 'two' },
    ]);
  });

  it('drops the oldest chunks past the budget (about 4 characters a token)', () => {
    const kept = extraChunks(withChunks(['a'.repeat(40), 'b'.repeat(40), 'c'.repeat(40)], 20));
    assert.deepEqual(
      kept.map((c) => c.text[0]),
      ['b', 'c'],
    );
  });
});
