import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { figuresFrom } from '../../server/src/engine/http/llamaServer';
import { maxTokenCountDifference, vocabularyMismatch, type VocabularyPrint } from '../../server/src/host/llama/draftVocabulary';

const qwen7b: VocabularyPrint = {
  type: 'bpe',
  tokenCount: 152_064,
  special: { bos: 151_643, eos: 151_643, eot: 151_645, fimPrefix: 151_659, fimSuffix: 151_661, fimMiddle: 151_660 },
};

describe('draft model vocabulary', () => {
  it('accepts the same vocabulary, and a padded one (Qwen2.5-Coder 0.5B beside 7B)', () => {
    assert.equal(vocabularyMismatch(qwen7b, qwen7b), null);
    assert.equal(vocabularyMismatch(qwen7b, { ...qwen7b, tokenCount: 151_936 }), null);
  });

  it('refuses another tokenizer, another size and other special token ids, saying which', () => {
    assert.equal(vocabularyMismatch(qwen7b, { ...qwen7b, type: 'spm' }), 'uses a spm tokenizer and the model a bpe one');
    const tokenCount = qwen7b.tokenCount - maxTokenCountDifference - 1;
    assert.equal(vocabularyMismatch(qwen7b, { ...qwen7b, tokenCount }), `has ${tokenCount} tokens and the model 152064`);
    const fim = vocabularyMismatch(qwen7b, { ...qwen7b, special: { ...qwen7b.special, fimMiddle: 7 } });
    assert.equal(fim, 'has its FIM middle token at id 7 and the model at id 151660');
    const none = vocabularyMismatch(qwen7b, { ...qwen7b, special: { ...qwen7b.special, fimPrefix: null } });
    assert.equal(none, 'has its FIM prefix token at none and the model at id 151659');
  });
});

describe("llama-server's draft figures", () => {
  const timings = { cache_n: 10, prompt_n: 5, prompt_ms: 4, predicted_n: 20, predicted_ms: 40, predicted_per_second: 500 };

  it('reads drafted and accepted tokens from the timings of a server that drafts', () => {
    const figures = figuresFrom({ timings: { ...timings, draft_n: 16, draft_n_accepted: 11 } }, 0);
    assert.equal(figures.draftedTokens, 16);
    assert.equal(figures.acceptedTokens, 11);
    assert.equal(figures.generatedTokens, 20);
  });

  it('has no draft figures where the server drafted nothing or does not draft', () => {
    const none = figuresFrom({ timings: { ...timings, draft_n: 0, draft_n_accepted: 0 } }, 0);
    assert.equal(none.draftedTokens, undefined);
    assert.equal(figuresFrom({ timings }, 0).draftedTokens, undefined);
  });
});
