// The benchmark runner's model choice: which shape BENCH_SHAPE / BENCH_QUANT name (the runner's
// --shape and --quant flags set them), the sentence a wrong value gets, and where the figures go.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { resultSuffix, shapeChoice, shapeKind, shapePath } from '../../bench/lib/benchModel';

describe('bench model choice', () => {
  it('is the large test model when no shape is named', () => {
    assert.equal(shapeChoice({}), null);
    assert.equal(shapeChoice({ BENCH_SHAPE: '' }), null);
    assert.equal(resultSuffix(null), '');
  });

  it('takes a shape, Q8_0 unless a quantization is named', () => {
    assert.deepEqual(shapeChoice({ BENCH_SHAPE: 'qwen2.5-coder-1.5b' }), { shape: 'qwen2.5-coder-1.5b', quant: 'q8_0' });
    assert.deepEqual(shapeChoice({ BENCH_SHAPE: 'qwen2.5-coder-7b', BENCH_QUANT: 'q4_0' }), { shape: 'qwen2.5-coder-7b', quant: 'q4_0' });
  });

  it('refuses a shape or quantization it does not know, in one sentence naming the choices', () => {
    assert.throws(
      () => shapeChoice({ BENCH_SHAPE: 'qwen2.5-coder-3b' }),
      /^Error: BENCH_SHAPE must be one of qwen2\.5-coder-1\.5b, qwen2\.5-coder-7b, not "qwen2\.5-coder-3b"\.$/,
    );
    assert.throws(
      () => shapeChoice({ BENCH_SHAPE: 'qwen2.5-coder-1.5b', BENCH_QUANT: 'q2_k' }),
      /BENCH_QUANT must be one of q8_0, q4_0, not "q2_k"\./,
    );
  });

  it('writes a shape’s figures beside the test models’, named by shape and (when not Q8_0) quantization', () => {
    assert.equal(resultSuffix({ shape: 'qwen2.5-coder-1.5b', quant: 'q8_0' }), '-qwen2.5-coder-1.5b');
    assert.equal(resultSuffix({ shape: 'qwen2.5-coder-7b', quant: 'q4_0' }), '-qwen2.5-coder-7b-q4_0');
  });

  it('names the model in words and finds its generated file', () => {
    const choice = { shape: 'qwen2.5-coder-1.5b', quant: 'q8_0' } as const;
    assert.match(shapeKind(choice), /^Qwen2\.5-Coder-1\.5B shape, Q8_0, random weights \(28 layers x 1536, 12 heads \/ 2 KV heads/);
    assert.equal(path.basename(shapePath(choice)), 'qwen2.5-coder-1.5b-q8_0.gguf');
  });
});
