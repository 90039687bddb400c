// Checks that a file is a whole GGUF model before anything native touches it: llama.cpp aborts
// the process on some malformed files, and a download cut short must never pass for a model.
// Reads only the header (metadata and tensor table), never the weights. Pure Node, no llama.cpp.
// The one place that knows which model keys a file must hold (the model host asks it too).
import type { Stats } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { errorMessage } from '../shared/errors';

export type GgufProblem = 'missing' | 'notGguf' | 'truncated' | 'unsupported';

/** What exactly is wrong, finer than the problem, for callers that word each case (the model host). */
export type GgufFault =
  | 'notFound'
  | 'unreadable'
  | 'timedOut'
  | 'cancelled'
  | 'folder'
  | 'notFile'
  | 'empty'
  | 'noSignature'
  | 'malformed'
  | 'cut'
  | 'version'
  | 'tensorType'
  | 'noArchitecture'
  | 'missingKey'
  | 'zeroKey';

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

export interface GgufFailure {
  ok: false;
  problem: GgufProblem;
  fault: GgufFault;
  /** A short clause for the end of a sentence ("the file ends inside its header"). */
  detail: string;
  /** The metadata key at fault, for noArchitecture, missingKey and zeroKey. */
  key?: string;
}

export type GgufCheck = { ok: true; info: GgufInfo } | GgufFailure;

/** A metadata value the check keeps: numbers and strings as read, arrays by length only. */
export type MetadataValue = number | string | { arrayLength: number };

// llama.cpp aborts the process (GGML_ASSERT) when feed_forward_length or attention.head_count is
// missing, or head_count_kv is 0; the other two fail its load. Recurrent architectures
// (Mamba, RWKV) have no feed-forward or attention heads and write 0 for them.
const requiredModelKeys = ['embedding_length', 'block_count', 'feed_forward_length', 'attention.head_count'] as const;
const attentionOnlyKeys: readonly string[] = ['feed_forward_length', 'attention.head_count', 'attention.head_count_kv'];
const nonZeroIfPresentKeys = ['attention.head_count_kv'] as const;
const checkedKeySuffixes: ReadonlySet<string> = new Set([...requiredModelKeys, ...nonZeroIfPresentKeys]);
const recurrentArchitecture = /^(mamba|rwkv)/;

/**
 * The first model key of `architecture` llama.cpp cannot load with, or null. `values` holds the
 * file's `<arch>.<key>` entries by full key.
 */
export function modelKeyFault(
  architecture: string,
  values: ReadonlyMap<string, MetadataValue>,
): { key: string; fault: 'missingKey' | 'zeroKey' } | null {
  const recurrent = recurrentArchitecture.test(architecture);
  for (const suffix of requiredModelKeys) {
    if (recurrent && attentionOnlyKeys.includes(suffix)) continue;
    const key = `${architecture}.${suffix}`;
    const value = values.get(key);
    const present = typeof value === 'number' ? value > 0 : typeof value === 'object' ? value.arrayLength > 0 : false;
    if (!present) return { key, fault: 'missingKey' };
  }
  for (const suffix of nonZeroIfPresentKeys) {
    if (recurrent) continue;
    const key = `${architecture}.${suffix}`;
    // Per-layer arrays may hold 0 for layers without attention (hybrid models).
    if (values.get(key) === 0) return { key, fault: 'zeroKey' };
  }
  return null;
}

/** Whether the model checks need the value of this metadata key. */
function isCheckedModelKey(key: string): boolean {
  const dot = key.indexOf('.');
  return dot > 0 && !key.startsWith('general.') && checkedKeySuffixes.has(key.slice(dot + 1));
}

/** [elements per block, bytes per block] by ggml type id; ids left out were removed from ggml. */
export const ggmlTypeSizes: ReadonlyMap<number, readonly [number, number]> = new Map([
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
/** The header holds something no valid GGUF holds, or something this llama.cpp cannot read. */
class Malformed extends Error {
  constructor(
    message: string,
    readonly fault: 'malformed' | 'version' | 'tensorType' = 'malformed',
  ) {
    super(message);
  }
}

/** The check stopped waiting for the file system: too slow (a hung mount) or cancelled. */
class Stopped extends Error {
  constructor(readonly fault: 'timedOut' | 'cancelled') {
    super(fault);
  }
}

/** How long a whole check may take by default: a local header reads in milliseconds. */
export const defaultCheckTimeoutMs = 30_000;

export interface CheckOptions {
  /** Stops the check at once; it then fails with fault `cancelled`. */
  signal?: AbortSignal;
  /** The bound on the whole check (stat, open and reads); it then fails with fault `timedOut`. */
  timeoutMs?: number;
}

/**
 * Paths whose open or read has not come back yet: a hung network drive or FUSE mount never
 * answers, and each new try would hold another of libuv's few file-system threads for good.
 * While one is stuck, checks of the same path fail at once.
 */
const stuckPaths = new Map<string, number>();

/** Races one file-system call against the check's deadline and signal; what comes back late is closed. */
class Deadline {
  private readonly stop: AbortSignal;
  constructor(
    private readonly filePath: string,
    options: CheckOptions,
  ) {
    const timeout = AbortSignal.timeout(options.timeoutMs ?? defaultCheckTimeoutMs);
    this.stop = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  }

  private reason(): Stopped {
    const reason: unknown = this.stop.reason;
    return new Stopped(reason instanceof DOMException && reason.name === 'TimeoutError' ? 'timedOut' : 'cancelled');
  }

  async run<T>(op: Promise<T>, onLate?: (value: T) => void): Promise<T> {
    if (this.stop.aborted) {
      const reason = this.reason();
      this.abandon(op, reason, onLate);
      throw reason;
    }
    let onAbort = (): void => undefined;
    const stopped = new Promise<never>((_, reject) => {
      onAbort = () => reject(this.reason());
      this.stop.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([op, stopped]);
    } catch (err) {
      if (err instanceof Stopped) this.abandon(op, err, onLate);
      throw err;
    } finally {
      this.stop.removeEventListener('abort', onAbort);
    }
  }

  /** A call left behind; only one that ran out of time marks the path stuck (a cancelled one is merely early). */
  private abandon<T>(op: Promise<T>, reason: Stopped, onLate?: (value: T) => void): void {
    const key = this.filePath;
    const stuck = reason.fault === 'timedOut';
    if (stuck) stuckPaths.set(key, (stuckPaths.get(key) ?? 0) + 1);
    const settled = (): void => {
      if (!stuck) return;
      const left = (stuckPaths.get(key) ?? 1) - 1;
      if (left > 0) stuckPaths.set(key, left);
      else stuckPaths.delete(key);
    };
    op.then((value) => {
      settled();
      onLate?.(value);
    }, settled);
  }
}

/** Sequential reads over a file handle through a window, so a header of many MB costs few syscalls. */
class HeaderReader {
  private buf = Buffer.alloc(0);
  private bufStart = 0;
  pos = 0;
  constructor(
    private readonly fh: FileHandle,
    readonly size: number,
    private readonly deadline: Deadline,
  ) {}

  private async ensure(n: number): Promise<number> {
    if (this.pos + n > this.size) throw new EndOfFile();
    const rel = this.pos - this.bufStart;
    if (rel >= 0 && rel + n <= this.buf.length) return rel;
    const want = Math.min(Math.max(n, 1 << 20), this.size - this.pos);
    const next = Buffer.alloc(want);
    const { bytesRead } = await this.deadline.run(this.fh.read(next, 0, want, this.pos));
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

function readNumber(b: Buffer, type: number): number | null {
  switch (type) {
    case ValueType.UINT8:
      return b.readUInt8(0);
    case ValueType.INT8:
      return b.readInt8(0);
    case ValueType.UINT16:
      return b.readUInt16LE(0);
    case ValueType.INT16:
      return b.readInt16LE(0);
    case ValueType.UINT32:
      return b.readUInt32LE(0);
    case ValueType.INT32:
      return b.readInt32LE(0);
    case ValueType.FLOAT32:
      return b.readFloatLE(0);
    case ValueType.UINT64:
      return Number(b.readBigUInt64LE(0));
    case ValueType.INT64:
      return Number(b.readBigInt64LE(0));
    case ValueType.FLOAT64:
      return b.readDoubleLE(0);
    default:
      return null; // BOOL
  }
}

/** Reads or skips one value; a kept one is returned, anything else gives null. */
async function readValue(r: HeaderReader, type: number, key: string, keep: boolean): Promise<MetadataValue | null> {
  const fixed = fixedValueSizes.get(type);
  if (fixed !== undefined) {
    if (!keep) {
      await r.skip(fixed);
      return null;
    }
    return readNumber(await r.bytes(fixed), type);
  }
  if (type === ValueType.STRING) {
    if (keep) return r.string(key);
    await r.skipString(key);
    return null;
  }
  if (type === ValueType.ARRAY) {
    const elementType = await r.u32();
    const count = await r.u64(Number.MAX_SAFE_INTEGER, `the length of ${key}`);
    const elementSize = fixedValueSizes.get(elementType);
    if (elementSize !== undefined) await r.skip(count * elementSize);
    else if (elementType === ValueType.STRING) await r.skipStrings(count, key);
    else throw new Malformed(`${key} is an array of unknown type ${elementType}`);
    return keep ? { arrayLength: count } : null;
  }
  throw new Malformed(`${key} has unknown value type ${type}`);
}

/** Reads the header and the tensor table; throws EndOfFile or Malformed. */
async function readGgufHeader(r: HeaderReader): Promise<{ info: GgufInfo; modelKeys: Map<string, MetadataValue> }> {
  await r.skip(4); // magic, checked by the caller
  const version = await r.u32();
  if (version !== 2 && version !== 3) throw new Malformed(`GGUF version ${version} is not supported (only 2 and 3 are)`, 'version');
  // No bound from the file size here: a cut file must read as cut, not as garbage. Each entry
  // consumes bytes, so a lying count still ends at the end of the file.
  const tensorCount = await r.u64(Number.MAX_SAFE_INTEGER, 'the tensor count');
  const metadataCount = await r.u64(Number.MAX_SAFE_INTEGER, 'the metadata count');
  let name: string | null = null;
  let architecture: string | null = null;
  let alignment = defaultAlignment;
  // The architecture may come after its keys, so every candidate is kept until the end.
  const modelKeys = new Map<string, MetadataValue>();
  for (let i = 0; i < metadataCount; i++) {
    const key = await r.string('a metadata key');
    const type = await r.u32();
    const modelKey = isCheckedModelKey(key);
    const keep = modelKey || key === 'general.name' || key === 'general.architecture' || key === 'general.alignment';
    const value = await readValue(r, type, key, keep);
    if (modelKey && value !== null) modelKeys.set(key, value);
    if (key === 'general.name' && typeof value === 'string') name = value;
    if (key === 'general.architecture' && typeof value === 'string') architecture = value;
    if (key === 'general.alignment') {
      const ok = typeof value === 'number' && Number.isInteger(value) && value > 0 && value <= 1 << 30 && (value & (value - 1)) === 0;
      if (!ok) {
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
    if (!sizes) throw new Malformed(`tensor ${tensorName} has ggml type ${type}, which this llama.cpp does not know`, 'tensorType');
    const [blockElements, blockBytes] = sizes;
    if (rowLength % blockElements !== 0) throw new Malformed(`tensor ${tensorName} has rows that do not fill whole blocks`);
    const offset = await r.u64(Number.MAX_SAFE_INTEGER, `the data offset of ${tensorName}`);
    if (offset % alignment !== 0) throw new Malformed(`tensor ${tensorName} is not aligned`);
    const bytes = (elements / blockElements) * blockBytes;
    if (!Number.isSafeInteger(bytes)) throw new Malformed(`tensor ${tensorName} is impossibly large`);
    tensorDataEnd = Math.max(tensorDataEnd, offset + bytes);
  }
  const dataStart = Math.ceil(r.pos / alignment) * alignment;
  return {
    info: { version, tensorCount, metadataCount, name, architecture, dataEnd: dataStart + tensorDataEnd, fileSize: r.size },
    modelKeys,
  };
}

function failure(problem: GgufProblem, fault: GgufFault, detail: string, key?: string): GgufFailure {
  return key === undefined ? { ok: false, problem, fault, detail } : { ok: false, problem, fault, detail, key };
}

/** What a path that is not a regular file is, for the end of a sentence. */
function notAFile(stats: Stats): string {
  if (stats.isFIFO()) return 'it is a named pipe, not a regular file';
  if (stats.isSocket()) return 'it is a socket, not a regular file';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'it is a device, not a regular file';
  return 'it is not a regular file';
}

function openFailure(err: unknown): GgufFailure {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return failure('missing', 'notFound', 'the file does not exist');
  if (code === 'EISDIR') return failure('notGguf', 'folder', 'it is a folder, not a file');
  if (code === 'EACCES' || code === 'EPERM') return failure('missing', 'unreadable', 'permission denied');
  return failure('missing', 'unreadable', `it cannot be opened (${code ?? errorMessage(err)})`);
}

function stoppedFailure(stopped: Stopped, timeoutMs: number): GgufFailure {
  if (stopped.fault === 'cancelled') return failure('missing', 'cancelled', 'the check was cancelled');
  const seconds = Math.max(1, Math.round(timeoutMs / 1000));
  return failure('missing', 'timedOut', `reading it did not finish within ${seconds} s (a network drive or mount that does not answer?)`);
}

/**
 * Whether `filePath` is a complete GGUF model, and what its header says. Never throws, and never
 * waits on the file system for longer than the timeout: it stats before it opens (so a named
 * pipe or a device is refused without an open that blocks until a writer comes), and each call
 * to the file system races the deadline and the signal.
 */
export async function checkGgufFile(filePath: string, options: CheckOptions = {}): Promise<GgufCheck> {
  const timeoutMs = options.timeoutMs ?? defaultCheckTimeoutMs;
  if (options.signal?.aborted) return failure('missing', 'cancelled', 'the check was cancelled');
  if (stuckPaths.has(filePath)) {
    const seconds = Math.max(1, Math.round(timeoutMs / 1000));
    return failure(
      'missing',
      'timedOut',
      `an earlier read of it has not come back (it did not finish within ${seconds} s; a network drive or mount that does not answer?)`,
    );
  }
  const deadline = new Deadline(filePath, options);
  try {
    return await checkWithin(filePath, deadline);
  } catch (err) {
    if (err instanceof Stopped) return stoppedFailure(err, timeoutMs);
    return failure('missing', 'unreadable', `it cannot be read (${errorMessage(err)})`);
  }
}

async function checkWithin(filePath: string, deadline: Deadline): Promise<GgufCheck> {
  let stats: Stats;
  try {
    stats = await deadline.run(stat(filePath));
  } catch (err) {
    if (err instanceof Stopped) throw err;
    return openFailure(err);
  }
  if (stats.isDirectory()) return failure('notGguf', 'folder', 'it is a folder, not a file');
  if (!stats.isFile()) return failure('notGguf', 'notFile', notAFile(stats));
  let fh: FileHandle;
  try {
    // A handle that arrives after the deadline is closed, never leaked.
    fh = await deadline.run(open(filePath, 'r'), (late) => void late.close().catch(() => undefined));
  } catch (err) {
    if (err instanceof Stopped) throw err;
    return openFailure(err);
  }
  try {
    const opened = await deadline.run(fh.stat());
    // The path may have changed between the stat and the open.
    if (opened.isDirectory()) return failure('notGguf', 'folder', 'it is a folder, not a file');
    if (!opened.isFile()) return failure('notGguf', 'notFile', notAFile(opened));
    const size = opened.size;
    const r = new HeaderReader(fh, size, deadline);
    if (size === 0) return failure('notGguf', 'empty', 'the file is empty');
    if (size < 4) return failure('notGguf', 'noSignature', 'the file is too short');
    const magic = (await r.bytes(4)).toString('latin1');
    if (magic !== 'GGUF') return failure('notGguf', 'noSignature', 'it does not start with the GGUF signature');
    r.pos = 0;
    let header: Awaited<ReturnType<typeof readGgufHeader>>;
    try {
      header = await readGgufHeader(r);
    } catch (err) {
      if (err instanceof EndOfFile) return failure('truncated', 'cut', 'the file ends inside its header');
      if (err instanceof Malformed) return failure(err.fault === 'malformed' ? 'notGguf' : 'unsupported', err.fault, err.message);
      throw err;
    }
    const { info, modelKeys } = header;
    if (info.dataEnd > size) return failure('truncated', 'cut', `it has ${size} bytes but its tensors need ${info.dataEnd}`);
    if (info.architecture === null || info.architecture === '') {
      return failure('unsupported', 'noArchitecture', 'it does not say which model architecture it is', 'general.architecture');
    }
    const keyFault = modelKeyFault(info.architecture, modelKeys);
    if (keyFault) {
      const detail = keyFault.fault === 'missingKey' ? `${keyFault.key} is missing` : `${keyFault.key} is 0`;
      return failure('unsupported', keyFault.fault, detail, keyFault.key);
    }
    return { ok: true, info };
  } finally {
    // A close on a hung mount may hang as well: it is waited for only within the deadline.
    await deadline.run(fh.close()).catch(() => undefined);
  }
}
