// The shape-true benchmark models: the generator's files are valid GGUFs (read back by the
// product's validator and by node-llama-cpp's own parser, no weights loaded) whose metadata,
// tokenizer and tensors are those of the real Qwen2.5-Coder models. The figures below are copied
// from the model cards and config.json files, not from the generator's table, so a wrong entry
// there fails here. The weights are left as a sparse hole: the real size, no disk used.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { GgufFileInfo } from 'node-llama-cpp' with { 'resolution-mode': 'import' };
import { checkGgufFile } from '../../server/src/models/gguf';
import { writeGguf } from '../../scripts/dev/gguf';
import { blockOf, elementCount, GgmlType, tensorByteSize } from '../../scripts/dev/ggufWriter';
import { modelShapes } from '../../scripts/dev/modelShapes';
import { tinyAsciiOptions, tinyOptions, tinyRepoOptions } from '../../scripts/dev/models';
import { randomTensorData } from '../../scripts/dev/randomBlocks';
import { shapedGguf, writeShapedGguf, type ShapedQuant } from '../../scripts/dev/shapedGguf';

const dir = mkdtempSync(path.join(os.tmpdir(), 'local-llm-shaped-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Card {
  layers: number;
  embd: number;
  ff: number;
  heads: number;
  headsKv: number;
  vocab: number;
  tied: boolean;
  /** Parameters on the model card, and the exact count of this architecture. */
  params: number;
  exactParams: number;
  /** Size of Qwen's own Q8_0 GGUF. */
  q8Bytes: number;
}

const cards: Record<'qwen2.5-coder-1.5b' | 'qwen2.5-coder-7b', Card> = {
  'qwen2.5-coder-1.5b': {
    layers: 28,
    embd: 1536,
    ff: 8960,
    heads: 12,
    headsKv: 2,
    vocab: 151936,
    tied: true,
    params: 1.54e9,
    exactParams: 1_543_714_304,
    q8Bytes: 1.65e9,
  },
  'qwen2.5-coder-7b': {
    layers: 28,
    embd: 3584,
    ff: 18944,
    heads: 28,
    headsKv: 4,
    vocab: 152064,
    tied: false,
    params: 7.61e9,
    exactParams: 7_615_616_512,
    q8Bytes: 8.1e9,
  },
};

const specialIds: Record<string, number> = {
  '<|endoftext|>': 151643,
  '<|im_start|>': 151644,
  '<|im_end|>': 151645,
  '<|fim_prefix|>': 151659,
  '<|fim_middle|>': 151660,
  '<|fim_suffix|>': 151661,
  '<|fim_pad|>': 151662,
  '<|repo_name|>': 151663,
  '<|file_sep|>': 151664,
};

async function writeSparse(id: keyof typeof cards, quant: ShapedQuant): Promise<{ file: string; info: GgufFileInfo }> {
  const file = path.join(dir, `${id}-${quant}.gguf`);
  const size = await writeShapedGguf(file, shapedGguf(modelShapes[id], quant), 'sparse');
  assert.equal(statSync(file).size, size);
  const { readGgufFileInfo } = await import('node-llama-cpp');
  return { file, info: await readGgufFileInfo(file) };
}

const within = (actual: number, expected: number, fraction: number): boolean => Math.abs(actual - expected) <= expected * fraction;

for (const [id, card] of Object.entries(cards) as [keyof typeof cards, Card][]) {
  describe(`${id} shape (Q8_0)`, () => {
    let file: string;
    let info: GgufFileInfo;
    before(async () => {
      ({ file, info } = await writeSparse(id, 'q8_0'));
    });

    it('is a whole GGUF to the product validator and to node-llama-cpp', async () => {
      const check = await checkGgufFile(file);
      assert.ok(check.ok, check.ok ? '' : check.detail);
      assert.equal(check.info.architecture, 'qwen2');
      assert.equal(check.info.dataEnd, check.info.fileSize);
      assert.equal(info.version, 3);
      assert.equal(info.tensorCount, info.fullTensorInfo?.length);
    });

    it("has the model card's architecture", () => {
      assert.equal(info.metadata.general.architecture, 'qwen2');
      assert.equal(info.metadata.general.file_type, 7, 'mostly Q8_0');
      assert.deepEqual(info.architectureMetadata, {
        block_count: card.layers,
        context_length: 32768,
        embedding_length: card.embd,
        feed_forward_length: card.ff,
        attention: { head_count: card.heads, head_count_kv: card.headsKv, layer_norm_rms_epsilon: Math.fround(1e-6) },
        rope: { freq_base: 1e6 },
      });
    });

    it("has Qwen's BPE tokenizer with the special tokens at their real ids", () => {
      const ggml = info.metadata.tokenizer.ggml as unknown as Record<string, unknown> & {
        tokens: string[];
        token_type: number[];
        merges: string[];
      };
      assert.equal(ggml.model, 'gpt2');
      assert.equal(ggml.pre, 'qwen2');
      assert.equal(ggml.tokens.length, card.vocab);
      assert.equal(ggml.token_type.length, card.vocab);
      for (const [text, tokenId] of Object.entries(specialIds)) {
        assert.equal(ggml.tokens[tokenId], text);
        assert.equal(ggml.token_type[tokenId], 3, `${text} is a control token`);
      }
      // Regular tokens at their ids in Qwen2's vocabulary (byte-level: "\u0120" is a space).
      assert.equal(ggml.tokens[0], '!');
      assert.equal(ggml.tokens[220], '\u0120');
      assert.equal(ggml.tokens[470], '\u0120return');
      assert.equal(ggml.token_type[470], 1);
      assert.equal(ggml.tokens[card.vocab - 1], `[PAD${card.vocab - 1}]`);
      assert.equal(ggml.token_type[card.vocab - 1], 5, 'padding rows are unused tokens');
      assert.equal(ggml.fim_pre_token_id, 151659);
      assert.equal(ggml.fim_suf_token_id, 151661);
      assert.equal(ggml.fim_mid_token_id, 151660);
      assert.equal(ggml.fim_pad_token_id, 151662);
      assert.equal(ggml.fim_rep_token_id, 151663);
      assert.equal(ggml.fim_sep_token_id, 151664);
      assert.equal(ggml.eos_token_id, 151645);
      assert.equal(ggml.eot_token_id, 151645);
      assert.equal(ggml.bos_token_id, 151643);
      assert.equal(ggml.add_bos_token, false);
      // Byte-level BPE: every merge joins two tokens into a third.
      assert.equal(ggml.merges.length, 151387);
      const vocab = new Set(ggml.tokens);
      const broken = ggml.merges.filter((m) => {
        const [left, right, extra] = m.split(' ');
        return extra !== undefined || !vocab.has(left!) || !vocab.has(right!) || !vocab.has(left! + right!);
      });
      assert.deepEqual(broken.slice(0, 5), []);
      assert.match(String(info.metadata.tokenizer.chat_template), /<\|im_start\|>/);
    });

    it('has the real tensors, Q8_0 matrices and the real parameter count', () => {
      const tensors = info.fullTensorInfo ?? [];
      const byName = new Map(tensors.map((t) => [t.name, t]));
      const kvDim = card.headsKv * (card.embd / card.heads);
      assert.equal(tensors.length, 1 + card.layers * 12 + 1 + (card.tied ? 0 : 1));
      assert.deepEqual(byName.get('token_embd.weight')?.dimensions, [card.embd, card.vocab]);
      assert.equal(byName.has('output.weight'), !card.tied, card.tied ? 'tied: no output.weight' : 'untied: output.weight');
      const last = `blk.${card.layers - 1}.`;
      assert.deepEqual(byName.get(`${last}attn_q.weight`)?.dimensions, [card.embd, card.embd]);
      assert.deepEqual(byName.get(`${last}attn_k.weight`)?.dimensions, [card.embd, kvDim]);
      assert.deepEqual(byName.get(`${last}attn_v.bias`)?.dimensions, [kvDim]);
      assert.deepEqual(byName.get(`${last}attn_q.bias`)?.dimensions, [card.embd]);
      assert.deepEqual(byName.get(`${last}ffn_down.weight`)?.dimensions, [card.ff, card.embd]);
      assert.equal(byName.has(`blk.${card.layers}.attn_q.weight`), false);
      for (const t of tensors) assert.equal(t.ggmlType, t.dimensions.length === 2 ? GgmlType.Q8_0 : GgmlType.F32, t.name);
      const params = tensors.reduce((sum, t) => sum + t.dimensions.reduce<number>((a, b) => a * Number(b), 1), 0);
      assert.equal(params, card.exactParams);
      assert.ok(within(params, card.params, 0.02), `${params} parameters against ${card.params}`);
    });

    it("is within 5% of the size of Qwen's own Q8_0 file", () => {
      const size = statSync(file).size;
      assert.ok(within(size, card.q8Bytes, 0.05), `${size} bytes against ${card.q8Bytes}`);
    });
  });
}

describe('qwen2.5-coder-1.5b shape (Q4_0)', () => {
  it('has Q4_0 matrices and the tied embedding at 6 bits, as llama-quantize writes them', async () => {
    const { info } = await writeSparse('qwen2.5-coder-1.5b', 'q4_0');
    assert.equal(info.metadata.general.file_type, 2);
    for (const t of info.fullTensorInfo ?? []) {
      const expected = t.name === 'token_embd.weight' ? GgmlType.Q6_K : t.dimensions.length === 2 ? GgmlType.Q4_0 : GgmlType.F32;
      assert.equal(t.ggmlType, expected, t.name);
    }
  });
});

describe('random quantized data', () => {
  it('fills a Q8_0 tensor with whole blocks whose scale bounds the weights by sqrt(3 / fan-in)', () => {
    const t = { name: 'm', dims: [1536, 600], type: GgmlType.Q8_0, fill: 'random' as const };
    const data = Buffer.concat([...randomTensorData(t, 1, 0)]);
    assert.equal(data.length, tensorByteSize(t));
    const { bytes, elements } = blockOf(t.type);
    const bound = Math.sqrt(3 / 1536);
    let nonZero = 0;
    for (let b = 0; b < data.length / bytes; b++) {
      const scale = data.readUInt16LE(b * bytes);
      const d = Math.pow(2, ((scale >> 10) & 0x1f) - 15) * (1 + (scale & 0x3ff) / 1024);
      assert.ok(d > bound / 130 && d < bound / 120, `block ${b} scale ${d}`);
      for (let i = 0; i < elements; i++) nonZero += data.readInt8(b * bytes + 2 + i) !== 0 ? 1 : 0;
    }
    assert.ok(nonZero > elementCount(t) * 0.9, 'the weights are random, not zeros');
  });

  it('writes norm weights as F32 ones and biases as F32 zeros', () => {
    const ones = Buffer.concat([...randomTensorData({ name: 'n', dims: [100_000], type: GgmlType.F32, fill: 'ones' }, 1, 0)]);
    assert.equal(ones.length, 400_000);
    assert.ok(new Float32Array(ones.buffer, ones.byteOffset, 100_000).every((v) => v === 1));
    const zeros = Buffer.concat([...randomTensorData({ name: 'b', dims: [256], type: GgmlType.F32, fill: 'zeros' }, 1, 0)]);
    assert.ok(zeros.length === 1024 && zeros.every((v) => v === 0));
  });
});

describe('the tiny test models', () => {
  // Tests and recorded results depend on these files; the shared writer must not change a byte.
  const pinned = [
    ['tiny', tinyOptions, '44932474e62aa179d8087434e32f0fc36fbe6659df7f9b97d0f085d6c95da7fb'],
    ['tiny-repo', tinyRepoOptions, '42f83c06e34fdafa14d15872c8dec0ad04d3cba3597b282597fa3c5f8b3db2a2'],
    ['tiny-ascii', tinyAsciiOptions, '6b9cd314dbedf9732120d9c1da5d9c18a61966b6e7f3d8dc4be0139f443e6896'],
  ] as const;
  for (const [name, options, sha256] of pinned) {
    it(`writes ${name} to the same bytes as before`, async () => {
      const file = path.join(dir, `${name}.gguf`);
      await writeGguf(file, options);
      assert.equal(createHash('sha256').update(readFileSync(file)).digest('hex'), sha256);
    });
  }
});
