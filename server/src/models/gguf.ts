// Checks that a file is a whole GGUF model before anything native touches it: llama.cpp aborts
// the process on some malformed files, and a download cut short must never pass for a model.
// Reads only the header (metadata and tensor table), never the weights. Pure Node, no llama.cpp.
import { open, type FileHandle } from 'node:fs/promises';

export type GgufProblem = 'missing' | 'notGguf' | 'truncated' | 'unsupported';

export interface GgufInfo {
  version: number;
  tensorCount: number;
  metadataCount: number;
  /** general.name, when the file has one. */
  name: string | null;
  architecture: string | null;
  /** First byte after the last tensor's data; the file must be at least this long. */
  dataEnd: number;
  fileSize: number;
}

export type GgufCheck = { ok: true; info: GgufInfo } | { ok: false; problem: GgufProblem; detail: string };

/** [elements per block, bytes per block] by ggml type id; ids left out were removed from ggml. */
const ggmlTypeSizes: ReadonlyMap<number, readonly [number, number]> = new Map([
  [0, [1, 4]], // F32
  [1, [1, 2]], // F16
  [2, [32, 18]], // Q4_0
  [3, [32, 20]], // Q4_1
  [6, [32, 22]], // Q5_0
  [7, [32, 24]], // Q5_1
  [8, [32, 34]], // Q8_0
  [9, [32, 36]], // Q8_1
  [10, [256, 84]], // Q2_K
  [11, [256, 110]], // Q3_K
  [12, [256, 144]], // Q4_K
  [13, [256, 176]], // Q5_K
  [14, [256, 210]], // Q6_K
  [15, [256, 292]], // Q8_K
  [16, [256, 66]], // IQ2_XXS
  [17, [256, 74]], // IQ2_XS
  [18, [256, 98]], // IQ3_XXS
  [19, [256, 50]], // IQ1_S
  [20, [32, 18]], // IQ4_NL
  [21, [256, 110]], // IQ3_S
  [22, [256, 82]], // IQ2_S
  [23, [256, 136]], // IQ4_XS
  [24, [1, 1]], // I8
  [25, [1, 2]], // I16
  [26, [1, 4]], // I32
  [27, [1, 8]], // I64
  [28, [1, 8]], // F64
  [29, [256, 56]], // IQ1_M
  [30, [1, 2]], // BF16
  [34, [256, 54]], // TQ1_0
  [35, [256, 66]], // TQ2_0
  [39, [32, 17]], // MXFP4
  [40, [64, 36]],
  [41, [128, 18]],
  [42, [64, 18]],
]);

/** GGUF metadata value types (the file format's numbering). */
export enum ValueType {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
}

const fixedValueSizes: ReadonlyMap<number, number> = new Map([
  [ValueType.UINT8, 1],
  [ValueType.INT8, 1],
  [ValueType.UINT16, 2],
  [ValueType.INT16, 2],
  [ValueType.UINT32, 4],
  [ValueType.INT32, 4],
  [ValueType.FLOAT32, 4],
  [ValueType.BOOL, 1],
  [ValueType.UINT64, 8],
  [ValueType.INT64, 8],
  [ValueType.FLOAT64, 8],
]);

const maxDims = 4;
/** Longer strings than this are garbage, not a cut file (a chat template is a few KB). */
const maxStringBytes = 1 << 30;
const defaultAlignment = 32;

/** The file ended inside the header. */
class EndOfFile extends Error {}
/** The header holds something no valid GGUF holds. */
class Malformed extends Error {}

/** Sequential reads over a file handle through a window, so a header of many MB costs few syscalls. */
class HeaderReader {
  private buf = Buffer.alloc(0);
  private bufStart = 0;
  pos = 0;
  constructor(
    private readonly fh: FileHandle,
    readonly size: number,
  ) {}

  private async ensure(n: number): Promise<number> {
    if (this.pos + n > this.size) throw new EndOfFile();
    const rel = this.pos - this.bufStart;
    if (rel >= 0 && rel + n <= this.buf.length) return rel;
    const want = Math.min(Math.max(n, 1 << 20), this.size - this.pos);
    const next = Buffer.alloc(want);
    const { bytesRead } = await this.fh.read(next, 0, want, this.pos);
    if (bytesRead < n) throw new EndOfFile();
    this.buf = next.subarray(0, bytesRead);
    this.bufStart = this.pos;
    return 0;
  }

  async bytes(n: number): Promise<Buffer> {
    const at = await this.ensure(n);
    this.pos += n;
    return this.buf.subarray(at, at + n);
  }
  async u32(): Promise<number> {
    const at = await this.ensure(4);
    this.pos += 4;
    return this.buf.readUInt32LE(at);
  }
  /** A u64 that must fit a JS number and stay below `limit`. */
  async u64(limit: number, what: string): Promise<number> {
    const at = await this.ensure(8);
    this.pos += 8;
    // Two u32 halves instead of a BigInt: a vocabulary means ~300k of these per header.
    const high = this.buf.readUInt32LE(at + 4);
    const v = high * 0x1_0000_0000 + this.buf.readUInt32LE(at);
    if (high >= 0x20_0000 || v > limit) {
      throw new Malformed(`${what} is ${this.buf.readBigUInt64LE(at)}, which is impossible here`);
    }
    return v;
  }
  async skip(n: number): Promise<void> {
    if (this.pos + n > this.size) throw new EndOfFile();
    this.pos += n;
  }
  async string(what: string): Promise<string> {
    const len = await this.u64(maxStringBytes, `the length of ${what}`);
    return (await this.bytes(len)).toString('utf8');
  }
  async skipString(what: string): Promise<void> {
    await this.skip(await this.u64(maxStringBytes, `the length of ${what}`));
  }
  /** Skips `count` strings, synchronously while they lie in the window (a vocabulary is ~150k). */
  async skipStrings(count: number, what: string): Promise<void> {
    let left = count;
    while (left > 0) {
      let rel = this.pos - this.bufStart;
      while (left > 0 && rel >= 0 && rel + 8 <= this.buf.length) {
        const high = this.buf.readUInt32LE(rel + 4);
        const len = high * 0x1_0000_0000 + this.buf.readUInt32LE(rel);
        if (high !== 0 || len > maxStringBytes || rel + 8 + len > this.buf.length) break;
        rel += 8 + len;
        left--;
      }
      this.pos = this.bufStart + rel;
      if (left > 0) {
        await this.skipString(what);
        left--;
      }
    }
  }
}

async function readValue(r: HeaderReader, type: number, key: string, keep: boolean): Promise<unknown> {
  const fixed = fixedValueSizes.get(type);
  if (fixed !== undefined) {
    if (!keep) return r.skip(fixed);
    const b = await r.bytes(fixed);
    return type === ValueType.UINT32 ? b.readUInt32LE(0) : type === ValueType.UINT64 ? Number(b.readBigUInt64LE(0)) : null;
  }
  if (type === ValueType.STRING) return keep ? r.string(key) : r.skipString(key);
  if (type === ValueType.ARRAY) {
    const elementType = await r.u32();
    const count = await r.u64(Number.MAX_SAFE_INTEGER, `the length of ${key}`);
    const elementSize = fixedValueSizes.get(elementType);
    if (elementSize !== undefined) return r.skip(count * elementSize);
    if (elementType !== ValueType.STRING) throw new Malformed(`${key} is an array of unknown type ${elementType}`);
    await r.skipStrings(count, key);
    return null;
  }
  throw new Malformed(`${key} has unknown value type ${type}`);
}

/** Reads the header and the tensor table; throws EndOfFile or Malformed. */
async function readGgufHeader(r: HeaderReader): Promise<GgufInfo> {
  await r.skip(4); // magic, checked by the caller
  const version = await r.u32();
  if (version !== 2 && version !== 3) throw new Malformed(`GGUF version ${version} is not supported (only 2 and 3 are)`);
  // No bound from the file size here: a cut file must read as cut, not as garbage. Each entry
  // consumes bytes, so a lying count still ends at the end of the file.
  const tensorCount = await r.u64(Number.MAX_SAFE_INTEGER, 'the tensor count');
  const metadataCount = await r.u64(Number.MAX_SAFE_INTEGER, 'the metadata count');
  let name: string | null = null;
  let architecture: string | null = null;
  let alignment = defaultAlignment;
  for (let i = 0; i < metadataCount; i++) {
    const key = await r.string('a metadata key');
    const type = await r.u32();
    const keep = key === 'general.name' || key === 'general.architecture' || key === 'general.alignment';
    const value = await readValue(r, type, key, keep);
    if (key === 'general.name' && typeof value === 'string') name = value;
    if (key === 'general.architecture' && typeof value === 'string') architecture = value;
    if (key === 'general.alignment') {
      if (typeof value !== 'number' || value === 0 || (value & (value - 1)) !== 0) {
        throw new Malformed('general.alignment is not a power of two');
      }
      alignment = value;
    }
  }
  let tensorDataEnd = 0;
  for (let i = 0; i < tensorCount; i++) {
    const tensorName = await r.string('a tensor name');
    const dims = await r.u32();
    if (dims < 1 || dims > maxDims) throw new Malformed(`tensor ${tensorName} has ${dims} dimensions`);
    let elements = 1;
    let rowLength = 0;
    for (let d = 0; d < dims; d++) {
      const n = await r.u64(Number.MAX_SAFE_INTEGER, `a dimension of ${tensorName}`);
      if (d === 0) rowLength = n;
      elements *= n;
    }
    const type = await r.u32();
    const sizes = ggmlTypeSizes.get(type);
    if (!sizes) throw new Malformed(`tensor ${tensorName} has ggml type ${type}, which this llama.cpp does not know`);
    const [blockElements, blockBytes] = sizes;
    if (rowLength % blockElements !== 0) throw new Malformed(`tensor ${tensorName} has rows that do not fill whole blocks`);
    const offset = await r.u64(Number.MAX_SAFE_INTEGER, `the data offset of ${tensorName}`);
    if (offset % alignment !== 0) throw new Malformed(`tensor ${tensorName} is not aligned`);
    const bytes = (elements / blockElements) * blockBytes;
    if (!Number.isSafeInteger(bytes)) throw new Malformed(`tensor ${tensorName} is impossibly large`);
    tensorDataEnd = Math.max(tensorDataEnd, offset + bytes);
  }
  const dataStart = Math.ceil(r.pos / alignment) * alignment;
  return { version, tensorCount, metadataCount, name, architecture, dataEnd: dataStart + tensorDataEnd, fileSize: r.size };
}

/** Whether `filePath` is a complete GGUF model, and what its header says. Never throws. */
export async function checkGgufFile(filePath: string): Promise<GgufCheck> {
  let fh: FileHandle;
  try {
    fh = await open(filePath, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { ok: false, problem: 'missing', detail: 'the file does not exist' };
    if (code === 'EISDIR') return { ok: false, problem: 'notGguf', detail: 'it is a folder, not a file' };
    return { ok: false, problem: 'missing', detail: `it cannot be opened (${code ?? String(err)})` };
  }
  try {
    const stats = await fh.stat();
    if (!stats.isFile()) return { ok: false, problem: 'notGguf', detail: 'it is not a regular file' };
    const size = stats.size;
    const r = new HeaderReader(fh, size);
    if (size < 4) return { ok: false, problem: 'notGguf', detail: size === 0 ? 'the file is empty' : 'the file is too short' };
    const magic = (await r.bytes(4)).toString('latin1');
    if (magic !== 'GGUF') return { ok: false, problem: 'notGguf', detail: 'it does not start with the GGUF signature' };
    r.pos = 0;
    let info: GgufInfo;
    try {
      info = await readGgufHeader(r);
    } catch (err) {
      if (err instanceof EndOfFile) return { ok: false, problem: 'truncated', detail: 'the file ends inside its header' };
      if (err instanceof Malformed) {
        const unsupported = /not supported|does not know/.test(err.message);
        return { ok: false, problem: unsupported ? 'unsupported' : 'notGguf', detail: err.message };
      }
      throw err;
    }
    if (info.dataEnd > size) {
      return {
        ok: false,
        problem: 'truncated',
        detail: `it has ${size} bytes but its tensors need ${info.dataEnd}`,
      };
    }
    return { ok: true, info };
  } catch (err) {
    return { ok: false, problem: 'missing', detail: `it cannot be read (${err instanceof Error ? err.message : String(err)})` };
  } finally {
    await fh.close();
  }
}
