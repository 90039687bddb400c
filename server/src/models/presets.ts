// The models offered to a new user, and the ones recommended for this machine.
// Only the base Qwen2.5-Coder models are meant for fill-in-the-middle (the Qwen team's advice), and
// the Instruct ones for chat, so where two fit the machine gets a pair: the base model for
// completions (localLlm.model) and the Instruct model for chat (localLlm.chat.model), at the largest
// size that fits both. Where two do not fit, one Instruct model serves both, as before: it has FIM
// tokens and a chat template. Its size follows llama.vscode's advice: below 8 GB of free VRAM 1.5B,
// below 16 GB 3B, else 7B, stepping down to a file that fits the free VRAM; when even the smallest
// does not, the smallest runs with automatic GPU layers, partly on the CPU.
// Without a GPU the speed of the CPU, not the RAM, is the limit, so the CPU gets 1.5B.
import type { ModelPreset, ModelPresetPair } from '../shared/protocol';
import { formatBytes } from '../shared/format';

export interface Hardware {
  /** Free VRAM of the GPU the model would use; null when there is no usable GPU. */
  vramFreeBytes: number | null;
  ramFreeBytes: number;
}

const GB = 1e9;

type Params = '1.5B' | '3B' | '7B';

interface PresetSpec {
  id: string;
  /** base: completions only (FIM); instruct: chat, or both jobs on a small machine. */
  family: 'base' | 'instruct';
  params: Params;
  quant: 'Q8_0' | 'Q4_K_M';
  /** Bytes of the file on Hugging Face (rounded where marked; the download reports the exact size). */
  sizeBytes: number;
}

const instructSpecs: readonly PresetSpec[] = [
  { id: 'qwen2.5-coder-1.5b-q8_0', family: 'instruct', params: '1.5B', quant: 'Q8_0', sizeBytes: 1_894_532_160 },
  { id: 'qwen2.5-coder-1.5b-q4_k_m', family: 'instruct', params: '1.5B', quant: 'Q4_K_M', sizeBytes: 1_117_320_768 },
  { id: 'qwen2.5-coder-3b-q8_0', family: 'instruct', params: '3B', quant: 'Q8_0', sizeBytes: 3_616_088_512 },
  { id: 'qwen2.5-coder-3b-q4_k_m', family: 'instruct', params: '3B', quant: 'Q4_K_M', sizeBytes: 2_100_000_000 }, // rounded
  { id: 'qwen2.5-coder-7b-q8_0', family: 'instruct', params: '7B', quant: 'Q8_0', sizeBytes: 8_098_525_184 },
  { id: 'qwen2.5-coder-7b-q4_k_m', family: 'instruct', params: '7B', quant: 'Q4_K_M', sizeBytes: 4_680_000_000 }, // rounded
];

// Qwen publishes no GGUF of the base Coder models; ggml-org (llama.cpp's own organisation, whose
// files llama.vscode recommends for FIM) publishes them in Q8_0. Sizes rounded from the listings.
const baseSpecs: readonly PresetSpec[] = [
  { id: 'qwen2.5-coder-1.5b-base-q8_0', family: 'base', params: '1.5B', quant: 'Q8_0', sizeBytes: 1_650_000_000 },
  { id: 'qwen2.5-coder-3b-base-q8_0', family: 'base', params: '3B', quant: 'Q8_0', sizeBytes: 3_290_000_000 },
  { id: 'qwen2.5-coder-7b-base-q8_0', family: 'base', params: '7B', quant: 'Q8_0', sizeBytes: 8_100_000_000 },
];

const specs: readonly PresetSpec[] = [...instructSpecs, ...baseSpecs];

/** Memory a model needs beyond its file: context, KV cache and compute buffers at 4096 tokens. */
const runtimeOverheadBytes = 1.5 * GB;

/** Without a GPU, a model (or a pair) is offered only with twice its need free: the rest of the machine needs RAM too. */
const cpuRoomFactor = 2;

function uriOf(spec: PresetSpec): string {
  const p = spec.params.toLowerCase();
  const q = spec.quant.toLowerCase();
  if (spec.family === 'base') return `hf:ggml-org/Qwen2.5-Coder-${spec.params}-${spec.quant}-GGUF/qwen2.5-coder-${p}-${q}.gguf`;
  return `hf:Qwen/Qwen2.5-Coder-${spec.params}-Instruct-GGUF/qwen2.5-coder-${p}-instruct-${q}.gguf`;
}

function nameOf(spec: PresetSpec): string {
  return spec.family === 'base' ? `Qwen2.5-Coder ${spec.params} ${spec.quant}` : `Qwen2.5-Coder ${spec.params} Instruct ${spec.quant}`;
}

const roleSentence: Record<PresetSpec['family'], string> = {
  base: 'A base model: for completions only (fill-in-the-middle); chat needs an Instruct model beside it.',
  instruct: 'An Instruct model: for chat, or for completions and chat on one model.',
};

function toPreset(spec: PresetSpec, detail: string): ModelPreset {
  const forWhat = spec.family === 'base' ? ', for completions' : '';
  return {
    id: spec.id,
    label: `${nameOf(spec)} (${formatBytes(spec.sizeBytes)}${forWhat})`,
    uri: uriOf(spec),
    sizeBytes: spec.sizeBytes,
    detail,
    role: spec.family === 'base' ? 'completion' : 'both',
  };
}

const neededBytes = (spec: PresetSpec): number => spec.sizeBytes + runtimeOverheadBytes;

const smallestSpec: PresetSpec = instructSpecs.reduce((a, b) => (b.sizeBytes < a.sizeBytes ? b : a));

function specById(id: string): PresetSpec {
  const spec = specs.find((s) => s.id === id);
  if (!spec) throw new Error(`No preset ${id}.`);
  return spec;
}

function hasGpu(hw: Hardware): hw is Hardware & { vramFreeBytes: number } {
  return hw.vramFreeBytes !== null && hw.vramFreeBytes > 0;
}

interface PairSpec {
  id: string;
  completion: PresetSpec;
  chat: PresetSpec;
}

// Largest first; at each size the chat model steps down to Q4_K_M before the size steps down.
const pairSpecs: readonly PairSpec[] = (['7B', '3B', '1.5B'] as const).flatMap((params) => {
  const base = baseSpecs.find((s) => s.params === params);
  if (!base) return [];
  return instructSpecs
    .filter((s) => s.params === params)
    .sort((a, b) => b.sizeBytes - a.sizeBytes)
    .map((chat) => ({ id: `${base.id}+${chat.id}`, completion: base, chat }));
});

const pairNeededBytes = (pair: PairSpec): number => neededBytes(pair.completion) + neededBytes(pair.chat);
const pairSizeBytes = (pair: PairSpec): number => pair.completion.sizeBytes + pair.chat.sizeBytes;

/** The largest pair this machine holds, or null when only one model fits. */
function recommendedPairSpec(hw: Hardware): PairSpec | null {
  if (hasGpu(hw)) return pairSpecs.find((p) => pairNeededBytes(p) <= hw.vramFreeBytes) ?? null;
  // CPU only: 1.5B, as for one model, and only with room to spare.
  return pairSpecs.find((p) => p.completion.params === '1.5B' && hw.ramFreeBytes >= cpuRoomFactor * pairNeededBytes(p)) ?? null;
}

/** The one Instruct model for both jobs, where no pair fits. */
function singleSpec(hw: Hardware): PresetSpec {
  if (hasGpu(hw)) {
    const vram = hw.vramFreeBytes;
    const step = vram < 8 * GB ? '1.5B' : vram < 16 * GB ? '3B' : '7B';
    // The step's Q8_0, else its Q4_K_M, whose file fits the free VRAM; with too little VRAM even
    // for that, the smallest preset, which automatic GPU layers split between GPU and CPU.
    const fitting = instructSpecs.filter((s) => s.params === step && s.sizeBytes <= vram).sort((a, b) => b.sizeBytes - a.sizeBytes);
    return fitting[0] ?? smallestSpec;
  }
  // CPU only: 1.5B at Q8_0 when the RAM holds it with room to spare, else the smaller Q4_K_M.
  const q8 = specById('qwen2.5-coder-1.5b-q8_0');
  return hw.ramFreeBytes >= cpuRoomFactor * neededBytes(q8) ? q8 : specById('qwen2.5-coder-1.5b-q4_k_m');
}

/** Where a model or a pair needing `need` bytes runs on this machine, in one sentence. */
function fitSentence(hw: Hardware, need: number, what: string): string {
  if (hasGpu(hw)) {
    return need <= hw.vramFreeBytes
      ? `${what} about ${formatBytes(need)}; fits in the ${formatBytes(hw.vramFreeBytes)} of free VRAM.`
      : `${what} about ${formatBytes(need)}; with ${formatBytes(hw.vramFreeBytes)} of free VRAM only part of it runs on the GPU and the rest on the CPU (automatic GPU layers), which is slower.`;
  }
  return need <= hw.ramFreeBytes
    ? `No GPU found: runs on the CPU, in ${formatBytes(need)} of the ${formatBytes(hw.ramFreeBytes)} of free RAM.`
    : `No GPU found, and it needs about ${formatBytes(need)} of RAM while ${formatBytes(hw.ramFreeBytes)} are free.`;
}

function specDetail(hw: Hardware, spec: PresetSpec): string {
  let fit = fitSentence(hw, neededBytes(spec), 'Needs');
  if (!hasGpu(hw) && spec.params !== '1.5B') fit += ' Completions on the CPU are slow with models this large.';
  return `${fit} ${roleSentence[spec.family]}`;
}

function toPair(hw: Hardware, pair: PairSpec, recommended: boolean): ModelPresetPair {
  const completion = toPreset(pair.completion, specDetail(hw, pair.completion));
  const chat = toPreset(pair.chat, specDetail(hw, pair.chat));
  const size = pairSizeBytes(pair);
  const fit = fitSentence(hw, pairNeededBytes(pair), 'Both together need');
  return {
    id: pair.id,
    label: `${nameOf(pair.completion)} for completions + ${nameOf(pair.chat)} for chat (${formatBytes(size)})`,
    completion,
    chat,
    sizeBytes: size,
    detail: recommended ? `Recommended. ${fit}` : fit,
  };
}

export interface Recommendation {
  /** The model for localLlm.model: the pair's base model, or the one Instruct model. */
  completion: ModelPreset;
  /** The model for chat: the pair's Instruct model, or the same one as `completion`. */
  chat: ModelPreset;
  pair: ModelPresetPair | null;
  /** Why a pair or one model, in words (with the memory figures). */
  reason: string;
}

/** What a new user gets on this machine: a pair where two fit, else one Instruct model for both, with the reason. */
export function recommendModels(hw: Hardware): Recommendation {
  const pairSpec = recommendedPairSpec(hw);
  const listed = presetsFor(hw);
  const listedPreset = (spec: PresetSpec): ModelPreset => listed.find((p) => p.id === spec.id) ?? toPreset(spec, '');
  if (pairSpec) {
    const pair = toPair(hw, pairSpec, true);
    const where = hasGpu(hw)
      ? `the ${formatBytes(hw.vramFreeBytes)} of free VRAM`
      : `the ${formatBytes(hw.ramFreeBytes)} of free RAM (no GPU found)`;
    const reason = `Two models fit in ${where}: ${nameOf(pairSpec.completion)} for completions (a base model, made for fill-in-the-middle) and ${nameOf(pairSpec.chat)} for chat, about ${formatBytes(pairNeededBytes(pairSpec))} together.`;
    return { completion: listedPreset(pairSpec.completion), chat: listedPreset(pairSpec.chat), pair, reason };
  }
  const single = singleSpec(hw);
  const smallestPair = pairSpecs.reduce((a, b) => (pairNeededBytes(b) < pairNeededBytes(a) ? b : a));
  const needed = formatBytes((hasGpu(hw) ? 1 : cpuRoomFactor) * pairNeededBytes(smallestPair));
  const free = hasGpu(hw)
    ? `${formatBytes(hw.vramFreeBytes)} of VRAM are free`
    : `no GPU was found and ${formatBytes(hw.ramFreeBytes)} of RAM are free`;
  const reason = `Two models (a base model for completions and an Instruct model for chat) need at least ${needed}, and ${free}, so one Instruct model, ${nameOf(single)}, serves both.`;
  const preset = listedPreset(single);
  return { completion: preset, chat: preset, pair: null, reason };
}

/** The preset to download for localLlm.model when it is empty (the pair's base model where a pair fits). */
export function recommendPreset(hw: Hardware): ModelPreset {
  return recommendModels(hw).completion;
}

/** Every single preset, with a detail saying its role and how it fits this machine. */
export function presetsFor(hw: Hardware): ModelPreset[] {
  const pairSpec = recommendedPairSpec(hw);
  const recommended = new Map<string, string>(
    pairSpec
      ? [
          [pairSpec.completion.id, 'Recommended for completions.'],
          [pairSpec.chat.id, 'Recommended for chat.'],
        ]
      : [[singleSpec(hw).id, 'Recommended.']],
  );
  return specs.map((s) => {
    const detail = specDetail(hw, s);
    const mark = recommended.get(s.id);
    return toPreset(s, mark ? `${mark} ${detail}` : detail);
  });
}

/** Every base + Instruct pair, largest first, with how the two fit this machine together. */
export function pairsFor(hw: Hardware): ModelPresetPair[] {
  const recommendedId = recommendedPairSpec(hw)?.id;
  return pairSpecs.map((p) => toPair(hw, p, p.id === recommendedId));
}
