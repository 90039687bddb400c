import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
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
