// The default model for a new user: chosen by free VRAM as llama.vscode advises, by RAM
// (and conservatively) without a GPU, and always an hf: URI of a single GGUF file.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { presets, presetsFor, recommendPreset, type Hardware } from '../../server/src/models/presets';

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

  it('never recommends a model whose file is larger than the free VRAM it was chosen for', () => {
    for (let vram = 0.5; vram <= 64; vram += 0.5) {
      const p = recommendPreset(gpu(vram));
      if (vram >= 8) assert.ok(p.sizeBytes < vram * GB, `${p.id} for ${vram} GB`);
    }
  });
});

describe('presets', () => {
  it('are hf: URIs of single .gguf files in the official Qwen repositories, with sizes', () => {
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
    assert.match(list.find((p) => p.id === 'qwen2.5-coder-7b-q8_0')?.detail ?? '', /only part of it runs on the GPU/);
    assert.match(list.find((p) => p.id === 'qwen2.5-coder-1.5b-q8_0')?.detail ?? '', /Fits in the 8\.4 GB of free VRAM/);
    const onCpu = presetsFor(cpu(8));
    assert.match(onCpu.find((p) => p.id === 'qwen2.5-coder-7b-q8_0')?.detail ?? '', /No GPU found.*slow/);
    assert.equal(recommendPreset(cpu(8)).detail, onCpu.find((p) => p.id === recommendPreset(cpu(8)).id)?.detail);
  });
});
