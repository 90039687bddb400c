// The models offered to a new user, and the one recommended for this machine.
// Qwen2.5-Coder Instruct has FIM tokens (inline completion) and a chat template (chat).
// Sizes follow llama.vscode's advice: below 8 GB of free VRAM 1.5B, below 16 GB 3B, else 7B,
// stepping down to a file that fits the free VRAM; when even the smallest does not, the smallest
// runs with automatic GPU layers, partly on the CPU.
// Without a GPU the speed of the CPU, not the RAM, is the limit, so the CPU gets 1.5B.
import type { ModelPreset } from '../shared/protocol';
import { formatBytes } from '../shared/format';

export interface Hardware {
  /** Free VRAM of the GPU the model would use; null when there is no usable GPU. */
  vramFreeBytes: number | null;
  ramFreeBytes: number;
}

const GB = 1e9;

interface PresetSpec {
  id: string;
  params: '1.5B' | '3B' | '7B';
  quant: 'Q8_0' | 'Q4_K_M';
  /** Bytes of the file on Hugging Face (Q4_K_M of 3B and 7B rounded; the download reports the exact size). */
  sizeBytes: number;
}

const specs: readonly PresetSpec[] = [
  { id: 'qwen2.5-coder-1.5b-q8_0', params: '1.5B', quant: 'Q8_0', sizeBytes: 1_894_532_160 },
  { id: 'qwen2.5-coder-1.5b-q4_k_m', params: '1.5B', quant: 'Q4_K_M', sizeBytes: 1_117_320_768 },
  { id: 'qwen2.5-coder-3b-q8_0', params: '3B', quant: 'Q8_0', sizeBytes: 3_616_088_512 },
  { id: 'qwen2.5-coder-3b-q4_k_m', params: '3B', quant: 'Q4_K_M', sizeBytes: 2_100_000_000 },
  { id: 'qwen2.5-coder-7b-q8_0', params: '7B', quant: 'Q8_0', sizeBytes: 8_098_525_184 },
  { id: 'qwen2.5-coder-7b-q4_k_m', params: '7B', quant: 'Q4_K_M', sizeBytes: 4_680_000_000 },
];

/** Memory a model needs beyond its file: context, KV cache and compute buffers at 4096 tokens. */
const runtimeOverheadBytes = 1.5 * GB;

function uriOf(spec: PresetSpec): string {
  const p = spec.params.toLowerCase();
  return `hf:Qwen/Qwen2.5-Coder-${spec.params}-Instruct-GGUF/qwen2.5-coder-${p}-instruct-${spec.quant.toLowerCase()}.gguf`;
}

function toPreset(spec: PresetSpec, detail: string): ModelPreset {
  return {
    id: spec.id,
    label: `Qwen2.5-Coder ${spec.params} Instruct ${spec.quant} (${formatBytes(spec.sizeBytes)})`,
    uri: uriOf(spec),
    sizeBytes: spec.sizeBytes,
    detail,
  };
}

const neededBytes = (spec: PresetSpec): number => spec.sizeBytes + runtimeOverheadBytes;

const smallestSpec: PresetSpec = specs.reduce((a, b) => (b.sizeBytes < a.sizeBytes ? b : a));

function specById(id: string): PresetSpec {
  const spec = specs.find((s) => s.id === id);
  if (!spec) throw new Error(`No preset ${id}.`);
  return spec;
}

function hasGpu(hw: Hardware): hw is Hardware & { vramFreeBytes: number } {
  return hw.vramFreeBytes !== null && hw.vramFreeBytes > 0;
}

function recommendedSpec(hw: Hardware): PresetSpec {
  if (hasGpu(hw)) {
    const vram = hw.vramFreeBytes;
    const step = vram < 8 * GB ? '1.5B' : vram < 16 * GB ? '3B' : '7B';
    // The step's Q8_0, else its Q4_K_M, whose file fits the free VRAM; with too little VRAM even
    // for that, the smallest preset, which automatic GPU layers split between GPU and CPU.
    const fitting = specs.filter((s) => s.params === step && s.sizeBytes <= vram).sort((a, b) => b.sizeBytes - a.sizeBytes);
    return fitting[0] ?? smallestSpec;
  }
  // CPU only: 1.5B at Q8_0 when the RAM holds it with room to spare, else the smaller Q4_K_M.
  const q8 = specById('qwen2.5-coder-1.5b-q8_0');
  return hw.ramFreeBytes >= 2 * neededBytes(q8) ? q8 : specById('qwen2.5-coder-1.5b-q4_k_m');
}

/** The preset to download when the model setting is empty. */
export function recommendPreset(hw: Hardware): ModelPreset {
  const spec = recommendedSpec(hw);
  return presetsFor(hw).find((p) => p.id === spec.id) ?? toPreset(spec, '');
}

/** Every preset, with a detail saying how it fits this machine. */
export function presetsFor(hw: Hardware): ModelPreset[] {
  const recommendedId = recommendedSpec(hw).id;
  return specs.map((s) => {
    const need = neededBytes(s);
    let fit: string;
    if (hasGpu(hw)) {
      fit =
        need <= hw.vramFreeBytes
          ? `Fits in the ${formatBytes(hw.vramFreeBytes)} of free VRAM.`
          : `Needs about ${formatBytes(need)}; with ${formatBytes(hw.vramFreeBytes)} of free VRAM only part of it runs on the GPU and the rest on the CPU (automatic GPU layers), which is slower.`;
    } else {
      fit =
        need <= hw.ramFreeBytes
          ? `No GPU found: runs on the CPU, in ${formatBytes(need)} of the ${formatBytes(hw.ramFreeBytes)} of free RAM.`
          : `No GPU found, and it needs about ${formatBytes(need)} of RAM while ${formatBytes(hw.ramFreeBytes)} are free.`;
      if (s.params !== '1.5B') fit += ' Completions on the CPU are slow with models this large.';
    }
    return toPreset(s, s.id === recommendedId ? `Recommended. ${fit}` : fit);
  });
}
