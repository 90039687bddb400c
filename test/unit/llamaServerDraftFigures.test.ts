// llama-server's own draft figures (a server started with --model-draft) read into TokenFigures.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { figuresFrom } from '../../server/src/engine/http/llamaServer';

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
