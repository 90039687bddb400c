// The default models for a new user: a base model for completions and an Instruct model for chat
// where two fit (largest size first), else one Instruct model for both, chosen by free VRAM as
// llama.vscode advises, by RAM (and conservatively) without a GPU; always hf: URIs of single GGUF files.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pairsFor, presetsFor, recommendModels, recommendPreset, type Hardware } from '../../server/src/models/presets';

const GB = 1e9;
const gpu = (vramGb: number): Hardware => ({ vramFreeBytes: vramGb * GB, ramFreeBytes: 32 * GB });
const cpu = (ramGb: number): Hardware => ({ vramFreeBytes: null, ramFreeBytes: ramGb * GB });

const baseUri = /^hf:ggml-org\/Qwen2\.5-Coder-(1\.5|3|7)B-Q8_0-GGUF\/qwen2\.5-coder-(1\.5|3|7)b-q8_0\.gguf$/;
const instructUri = /^hf:Qwen\/Qwen2\.5-Coder-(1\.5|3|7)B-Instruct-GGUF\/qwen2\.5-coder-(1\.5|3|7)b-instruct-(q8_0|q4_k_m)\.gguf$/;

describe('recommendModels', () => {
  it('picks a pair or one model across a sweep of VRAM sizes, the largest pair that fits', () => {
    // [free VRAM in GB, completion id, chat id]; the same id twice is one Instruct model for both.
    const cases: [number, string, string][] = [
      [0.5, 'qwen2.5-coder-1.5b-q4_k_m', 'qwen2.5-coder-1.5b-q4_k_m'],
      [2, 'qwen2.5-coder-1.5b-q8_0', 'qwen2.5-coder-1.5b-q8_0'],
      [5.7, 'qwen2.5-coder-1.5b-q8_0', 'qwen2.5-coder-1.5b-q8_0'],
      [5.8, 'qwen2.5-coder-1.5b-base-q8_0', 'qwen2.5-coder-1.5b-q4_k_m'],
      [6.6, 'qwen2.5-coder-1.5b-base-q8_0', 'qwen2.5-coder-1.5b-q8_0'],
      [7.5, 'qwen2.5-coder-1.5b-base-q8_0', 'qwen2.5-coder-1.5b-q8_0'],
      [8, 'qwen2.5-coder-1.5b-base-q8_0', 'qwen2.5-coder-1.5b-q8_0'],
      [8.4, 'qwen2.5-coder-3b-base-q8_0', 'qwen2.5-coder-3b-q4_k_m'],
      [10, 'qwen2.5-coder-3b-base-q8_0', 'qwen2.5-coder-3b-q8_0'],
      [12, 'qwen2.5-coder-3b-base-q8_0', 'qwen2.5-coder-3b-q8_0'],
      [16, 'qwen2.5-coder-7b-base-q8_0', 'qwen2.5-coder-7b-q4_k_m'],
      [24, 'qwen2.5-coder-7b-base-q8_0', 'qwen2.5-coder-7b-q8_0'],
      [80, 'qwen2.5-coder-7b-base-q8_0', 'qwen2.5-coder-7b-q8_0'],
    ];
    for (const [vram, completion, chat] of cases) {
      const r = recommendModels(gpu(vram));
      const what = `${vram} GB of VRAM: ${r.reason}`;
      assert.deepEqual([r.completion.id, r.chat.id], [completion, chat], what);
      if (completion === chat) {
        assert.equal(r.pair, null, what);
        assert.match(
          r.reason,
          /^Two models \(a base model for completions and an Instruct model for chat\) need at least 5\.4 GB, and .* of VRAM are free, so one Instruct model, Qwen2\.5-Coder 1\.5B Instruct Q(8_0|4_K_M), serves both\.$/,
          what,
        );
        assert.equal(r.completion.role, 'both', what);
      } else {
        assert.equal(r.pair?.completion.id, completion, what);
        assert.equal(r.pair?.chat.id, chat, what);
        assert.match(
          r.reason,
          /^Two models fit in the .* of free VRAM: Qwen2\.5-Coder \S+ Q8_0 for completions \(a base model, made for fill-in-the-middle\) and Qwen2\.5-Coder \S+ Instruct \S+ for chat, about .* together\.$/,
          what,
        );
        assert.equal(r.completion.role, 'completion', what);
        assert.equal(r.chat.role, 'both', what);
        assert.match(r.pair?.detail ?? '', /^Recommended\. Both together need about .*; fits in the .* of free VRAM\.$/, what);
      }
    }
  });

  it('never recommends a pair that needs more than the free VRAM, and always one where the smallest pair fits', () => {
    const smallestPairNeed = 5.767 * GB;
    for (let tenths = 1; tenths <= 640; tenths++) {
      const vram = tenths * 1e8;
      const r = recommendModels({ vramFreeBytes: vram, ramFreeBytes: 32 * GB });
      const what = `${vram / GB} GB of VRAM`;
      if (vram < smallestPairNeed) assert.equal(r.pair, null, what);
      else {
        assert.ok(r.pair, what);
        // Each model's file plus 1.5 GB for its context and buffers.
        assert.ok(r.pair.sizeBytes + 3 * GB <= vram, what);
      }
    }
  });

  it('gives the CPU the 1.5B pair only with twice its need free, else one 1.5B Instruct model, with the reason', () => {
    const cases: [number, string, string][] = [
      [64, 'qwen2.5-coder-1.5b-base-q8_0', 'qwen2.5-coder-1.5b-q8_0'],
      [13.1, 'qwen2.5-coder-1.5b-base-q8_0', 'qwen2.5-coder-1.5b-q8_0'],
      [12, 'qwen2.5-coder-1.5b-base-q8_0', 'qwen2.5-coder-1.5b-q4_k_m'],
      [11, 'qwen2.5-coder-1.5b-q8_0', 'qwen2.5-coder-1.5b-q8_0'],
      [8, 'qwen2.5-coder-1.5b-q8_0', 'qwen2.5-coder-1.5b-q8_0'],
      [4, 'qwen2.5-coder-1.5b-q4_k_m', 'qwen2.5-coder-1.5b-q4_k_m'],
      [0.5, 'qwen2.5-coder-1.5b-q4_k_m', 'qwen2.5-coder-1.5b-q4_k_m'],
    ];
    for (const [ram, completion, chat] of cases) {
      const r = recommendModels(cpu(ram));
      const what = `${ram} GB of RAM: ${r.reason}`;
      assert.deepEqual([r.completion.id, r.chat.id], [completion, chat], what);
      assert.match(
        r.reason,
        completion === chat
          ? /no GPU was found and .* of RAM are free, so one Instruct model/
          : /^Two models fit in the .* of free RAM \(no GPU found\)/,
        what,
      );
    }
  });
});

describe('recommendPreset', () => {
  it('is the model for localLlm.model: the base model of the pair, else the one Instruct model', () => {
    for (const vram of [0.5, 2, 7.5, 8, 12, 16, 24, 80])
      assert.equal(recommendPreset(gpu(vram)).id, recommendModels(gpu(vram)).completion.id);
    for (const ram of [0.5, 8, 64]) assert.equal(recommendPreset(cpu(ram)).id, recommendModels(cpu(ram)).completion.id);
  });

  it('treats 0 bytes of VRAM as no GPU', () => {
    assert.equal(recommendPreset({ vramFreeBytes: 0, ramFreeBytes: 2 * GB }).id, 'qwen2.5-coder-1.5b-q4_k_m');
  });

  it('never recommends a model whose file is larger than the free VRAM, unless even the smallest is', () => {
    const smallest = Math.min(...presetsFor(gpu(80)).map((p) => p.sizeBytes));
    const check = (vramBytes: number): void => {
      const hw: Hardware = { vramFreeBytes: vramBytes, ramFreeBytes: 32 * GB };
      const p = recommendPreset(hw);
      const what = `${p.id} for ${vramBytes / GB} GB of VRAM`;
      if (vramBytes >= smallest) {
        assert.ok(p.sizeBytes <= vramBytes, what);
      } else {
        assert.equal(p.sizeBytes, smallest, what);
        assert.match(p.detail, /^Recommended\. .*part of it runs on the GPU and the rest on the CPU \(automatic GPU layers\)/, what);
      }
    };
    for (let vram = 0.1; vram <= 64; vram += 0.1) check(Math.round(vram * 10) * 1e8);
    // Around the two 1.5B Instruct files: 1.12 GB (Q4_K_M) and 1.89 GB (Q8_0).
    for (const size of [1_117_320_768, 1_894_532_160]) for (const delta of [-1, 0, 1]) check(size + delta);
  });

  it('below the 1.5B Q8_0 file steps down to its Q4_K_M, and below that keeps it, partly on the CPU', () => {
    const q4 = 'qwen2.5-coder-1.5b-q4_k_m';
    const q8 = 'qwen2.5-coder-1.5b-q8_0';
    const cases: [number, string][] = [
      [0.5 * GB, q4],
      [1 * GB, q4],
      [1_117_320_767, q4],
      [1_117_320_768, q4],
      [1.5 * GB, q4],
      [1_894_532_159, q4],
      [1_894_532_160, q8],
      [2 * GB, q8],
    ];
    for (const [bytes, id] of cases)
      assert.equal(recommendPreset({ vramFreeBytes: bytes, ramFreeBytes: 32 * GB }).id, id, `${bytes} bytes of VRAM`);
    assert.match(recommendPreset(gpu(0.5)).detail, /with \d+ MB of free VRAM only part of it runs on the GPU and the rest on the CPU/);
    assert.match(recommendPreset(gpu(1)).detail, /part of it runs on the GPU and the rest on the CPU/);
  });
});

describe('presets', () => {
  it('are hf: URIs of single .gguf files, Instruct from Qwen and base from ggml-org, with sizes and roles', () => {
    const presets = presetsFor(gpu(9));
    assert.ok(presets.length >= 6);
    for (const p of presets) {
      if (p.role === 'completion') assert.match(p.uri, baseUri, p.id);
      else {
        assert.equal(p.role, 'both', p.id);
        assert.match(p.uri, instructUri, p.id);
      }
      assert.ok(p.sizeBytes > 0.5 * GB && p.sizeBytes < 10 * GB, p.id);
      assert.match(p.label, /\d+(\.\d)? GB/);
    }
    assert.deepEqual(
      presets.filter((p) => p.role === 'completion').map((p) => p.id),
      ['qwen2.5-coder-1.5b-base-q8_0', 'qwen2.5-coder-3b-base-q8_0', 'qwen2.5-coder-7b-base-q8_0'],
    );
    assert.equal(new Set(presets.map((p) => p.id)).size, presets.length, 'ids are unique');
  });

  it('say which ones are recommended, for which role, and how each fits this machine', () => {
    const list = presetsFor(gpu(9));
    assert.deepEqual(
      list.filter((p) => p.detail.startsWith('Recommended')).map((p) => [p.id, p.detail.split('.')[0]]),
      [
        ['qwen2.5-coder-3b-q4_k_m', 'Recommended for chat'],
        ['qwen2.5-coder-3b-base-q8_0', 'Recommended for completions'],
      ],
    );
    assert.match(
      list.find((p) => p.id === 'qwen2.5-coder-7b-q8_0')?.detail ?? '',
      /only part of it runs on the GPU and the rest on the CPU/,
    );
    assert.match(
      list.find((p) => p.id === 'qwen2.5-coder-1.5b-q8_0')?.detail ?? '',
      /fits in the 8\.4 GB of free VRAM\. An Instruct model: for chat, or for completions and chat on one model\./,
    );
    assert.match(list.find((p) => p.id === 'qwen2.5-coder-1.5b-base-q8_0')?.detail ?? '', /A base model: for completions only/);
    const small = presetsFor(gpu(4));
    assert.deepEqual(
      small.filter((p) => p.detail.startsWith('Recommended')).map((p) => p.id),
      ['qwen2.5-coder-1.5b-q8_0'],
    );
    const onCpu = presetsFor(cpu(8));
    assert.match(onCpu.find((p) => p.id === 'qwen2.5-coder-7b-q8_0')?.detail ?? '', /No GPU found.*slow/);
    assert.equal(recommendPreset(cpu(8)).detail, onCpu.find((p) => p.id === recommendPreset(cpu(8)).id)?.detail);
  });

  it('pair a base model with an Instruct model of the same size, largest first, one recommended at most', () => {
    const pairs = pairsFor(gpu(12));
    assert.deepEqual(
      pairs.map((p) => p.id),
      [
        'qwen2.5-coder-7b-base-q8_0+qwen2.5-coder-7b-q8_0',
        'qwen2.5-coder-7b-base-q8_0+qwen2.5-coder-7b-q4_k_m',
        'qwen2.5-coder-3b-base-q8_0+qwen2.5-coder-3b-q8_0',
        'qwen2.5-coder-3b-base-q8_0+qwen2.5-coder-3b-q4_k_m',
        'qwen2.5-coder-1.5b-base-q8_0+qwen2.5-coder-1.5b-q8_0',
        'qwen2.5-coder-1.5b-base-q8_0+qwen2.5-coder-1.5b-q4_k_m',
      ],
    );
    for (const p of pairs) {
      assert.equal(p.completion.role, 'completion');
      assert.equal(p.chat.role, 'both');
      assert.equal(p.sizeBytes, p.completion.sizeBytes + p.chat.sizeBytes);
      assert.match(p.label, /^Qwen2\.5-Coder \S+ Q8_0 for completions \+ Qwen2\.5-Coder \S+ Instruct \S+ for chat \(\d+(\.\d)? GB\)$/);
    }
    assert.deepEqual(
      pairs.filter((p) => p.detail.startsWith('Recommended')).map((p) => p.id),
      ['qwen2.5-coder-3b-base-q8_0+qwen2.5-coder-3b-q8_0'],
    );
    assert.match(pairs[0]?.detail ?? '', /^Both together need about 18 GB; with 11 GB of free VRAM only part of it runs on the GPU/);
    assert.equal(pairsFor(gpu(4)).filter((p) => p.detail.startsWith('Recommended')).length, 0);
  });
});
