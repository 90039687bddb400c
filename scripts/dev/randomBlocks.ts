// Random tensor data for multi-gigabyte benchmark models, fast: each quantized tensor is cut from
// a pool of a few MB of random blocks (the scale fields set for the tensor's fan-in), at a random
// block offset per chunk, so a 1.6 GB file costs the disk's time, not a PRNG's. Any bytes are valid
// quantized values once the f16 scales are finite, and the values' size matters, not their order.
import { blockOf, elementCount, GgmlType, type TensorInfo } from './ggufWriter';
import { mulberry32, toHalfBits } from './randomBits';

export interface FilledTensor extends TensorInfo {
  /** Matrices are random; norm weights ones; biases zeros (F32). */
  fill: 'random' | 'ones' | 'zeros';
}

const poolBlocks = 1 << 16;
const chunkBlocks = 1 << 14;
const floatChunkElements = 1 << 16;

/**
 * Where a block keeps its f16 scale and how large its integer factor gets: a weight is at most
 * about scale x `maxFactor` (Q8_0: d x q, q in -128..127; Q4_0: d x (nibble - 8); Q6_K: d x an
 * int8 sub-block scale x (q - 32)).
 */
const scaleLayout: Partial<Record<GgmlType, { offset: number; maxFactor: number }>> = {
  [GgmlType.Q8_0]: { offset: 0, maxFactor: 127 },
  [GgmlType.Q4_0]: { offset: 0, maxFactor: 8 },
  [GgmlType.Q6_K]: { offset: 208, maxFactor: 128 * 32 },
};

const pools = new Map<string, Buffer>();

function blockPool(type: GgmlType, halfScale: number, offset: number, seed: number): Buffer {
  const key = `${type}:${halfScale}:${seed}`;
  const cached = pools.get(key);
  if (cached) return cached;
  const { bytes } = blockOf(type);
  const pool = Buffer.alloc(poolBlocks * bytes);
  const next = mulberry32(seed ^ (type * 0x9e3779b1) ^ halfScale);
  for (let i = 0; i + 4 <= pool.length; i += 4) pool.writeUInt32LE(next(), i);
  for (let b = 0; b < poolBlocks; b++) pool.writeUInt16LE(halfScale, b * bytes + offset);
  pools.set(key, pool);
  return pool;
}

/** The tensor's data, in pieces of at most a few hundred KB. */
export function* randomTensorData(t: FilledTensor, seed: number, index: number): Generator<Buffer> {
  if (t.fill !== 'random') {
    if (t.type !== GgmlType.F32) throw new Error(`${t.name}: constant fills are written as F32 only.`);
    const value = t.fill === 'ones' ? 1 : 0;
    for (let left = elementCount(t); left > 0; left -= floatChunkElements) {
      yield Buffer.from(new Float32Array(Math.min(left, floatChunkElements)).fill(value).buffer);
    }
    return;
  }
  const layout = scaleLayout[t.type];
  if (!layout) throw new Error(`${t.name}: random data is written for quantized types only.`);
  // Uniform-like in [-s, s] with s = sqrt(3 / fan_in): unit-variance outputs for unit-variance inputs.
  const s = Math.sqrt(3 / t.dims[0]!);
  const pool = blockPool(t.type, toHalfBits(s / layout.maxFactor), layout.offset, seed);
  const { elements, bytes } = blockOf(t.type);
  const next = mulberry32((seed * 0x85ebca6b + index * 0xc2b2ae35) >>> 0);
  for (let left = elementCount(t) / elements; left > 0; left -= chunkBlocks) {
    const n = Math.min(left, chunkBlocks);
    const start = next() % (poolBlocks - n + 1);
    yield pool.subarray(start * bytes, (start + n) * bytes);
  }
}
