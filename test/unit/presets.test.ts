// The default model for a new user: chosen by free VRAM as llama.vscode advises, by RAM
// (and conservatively) without a GPU, and always an hf: URI of a single GGUF file.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { presetsFor, recommendPreset, type Hardware } from '../../server/src/models/presets';

const GB = 1e9;
const gpu = (vramGb: number): Hardware => ({ vramFreeBytes: vramGb * GB, ramFreeBytes: 32 * GB });
const cpu = (ramGb: number): Hardware => ({ vramFreeBytes: null, ramFreeBytes: ramGb * GB });

describe('recommendPreset', () => {
  it('follows the VRAM steps: below 8 GB 1.5B, below 16 GB 3B, else 7B', () => {
    const cases: [number, string][] = [
      [2, 'qwen2.5-coder-1.5b-q8_0'],
      [7.9, 'qwen2.5-coder-1.5b-q8_0'],
      [8, 'qwen2.5-coder-3b-q8_0'],
      [15.9, 'qwen2.5-coder-3b-q8_0'],
      [16, 'qwen2.5-coder-7b-q8_0'],
      [80, 'qwen2.5-coder-7b-q8_0'],
    ];
    for (const [vram, id] of cases) assert.equal(recommendPreset(gpu(vram)).id, id, `${vram} GB of VRAM`);
  });

  it('picks the 1.5B model on the CPU whatever the RAM, and the smaller file when RAM is short', () => {
    assert.equal(recommendPreset(cpu(64)).id, 'qwen2.5-coder-1.5b-q8_0');
    assert.equal(recommendPreset(cpu(8)).id, 'qwen2.5-coder-1.5b-q8_0');
    assert.equal(recommendPreset(cpu(4)).id, 'qwen2.5-coder-1.5b-q4_k_m');
    assert.equal(recommendPreset(cpu(0.5)).id, 'qwen2.5-coder-1.5b-q4_k_m');
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
    // Around the two 1.5B files: 1.12 GB (Q4_K_M) and 1.89 GB (Q8_0).
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
  it('are hf: URIs of single .gguf files in the official Qwen repositories, with sizes', () => {
    const presets = presetsFor(gpu(9));
    assert.ok(presets.length >= 3);
    for (const p of presets) {
      assert.match(p.uri, /^hf:Qwen\/Qwen2\.5-Coder-(1\.5|3|7)B-Instruct-GGUF\/qwen2\.5-coder-(1\.5|3|7)b-instruct-(q8_0|q4_k_m)\.gguf$/);
      assert.ok(p.sizeBytes > 0.5 * GB && p.sizeBytes < 10 * GB, p.id);
      assert.match(p.label, /\d+(\.\d)? GB/);
    }
    assert.equal(new Set(presets.map((p) => p.id)).size, presets.length, 'ids are unique');
  });

  it('say which one is recommended and how each fits this machine', () => {
    const list = presetsFor(gpu(9));
    assert.deepEqual(
      list.filter((p) => p.detail.startsWith('Recommended')).map((p) => p.id),
      ['qwen2.5-coder-3b-q8_0'],
    );
    assert.match(
      list.find((p) => p.id === 'qwen2.5-coder-7b-q8_0')?.detail ?? '',
      /only part of it runs on the GPU and the rest on the CPU/,
    );
    assert.match(list.find((p) => p.id === 'qwen2.5-coder-1.5b-q8_0')?.detail ?? '', /Fits in the 8\.4 GB of free VRAM/);
    const onCpu = presetsFor(cpu(8));
    assert.match(onCpu.find((p) => p.id === 'qwen2.5-coder-7b-q8_0')?.detail ?? '', /No GPU found.*slow/);
    assert.equal(recommendPreset(cpu(8)).detail, onCpu.find((p) => p.id === recommendPreset(cpu(8)).id)?.detail);
  });
});
