// The GGUF check that runs before any model file reaches llama.cpp: generated models pass,
// and every way a file can be broken or cut is caught, with the right problem.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkGgufFile, modelKeyFault, type GgufProblem, type MetadataValue } from '../../server/src/models/gguf';
import { defaultGgufOptions, writeGguf } from '../../scripts/dev/gguf';
import { brokenModels, tinyModel, type BrokenModels } from '../fixtures/models';

const dir = mkdtempSync(path.join(os.tmpdir(), 'local-llm-gguf-'));
let tiny: string;
let broken: BrokenModels;

before(async () => {
  tiny = await tinyModel();
  broken = await brokenModels(path.join(dir, 'broken'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function problemOf(file: string): Promise<GgufProblem | 'ok'> {
  const r = await checkGgufFile(file);
  return r.ok ? 'ok' : r.problem;
}

describe('checkGgufFile', () => {
  it('accepts a generated model and reads its header', async () => {
    const r = await checkGgufFile(tiny);
    assert.ok(r.ok);
    assert.equal(r.info.version, 3);
    assert.equal(r.info.name, 'tiny-random');
    assert.equal(r.info.architecture, 'llama');
    assert.equal(r.info.fileSize, statSync(tiny).size);
    assert.ok(r.info.dataEnd <= r.info.fileSize && r.info.dataEnd > r.info.fileSize - 64);
  });

  it('accepts F16 weights, where the data end depends on the type size', async () => {
    const f16 = path.join(dir, 'f16.gguf');
    await writeGguf(f16, { ...defaultGgufOptions, name: 'f16', f16: true });
    const r = await checkGgufFile(f16);
    assert.ok(r.ok);
    assert.equal(r.info.dataEnd, statSync(f16).size);
  });

  it('names the problem of each broken file', async () => {
    assert.equal(await problemOf(broken.missing), 'missing');
    assert.equal(await problemOf(broken.empty), 'notGguf');
    assert.equal(await problemOf(broken.notGguf), 'notGguf');
    assert.equal(await problemOf(broken.truncated), 'truncated');
    assert.equal(await problemOf(dir), 'notGguf');
  });

  it('refuses a model without a key llama.cpp aborts on, naming the key', async () => {
    for (const [file, key] of [
      [broken.noFeedForward, 'llama.feed_forward_length'],
      [broken.noHeadCount, 'llama.attention.head_count'],
    ] as const) {
      const r = await checkGgufFile(file);
      assert.ok(!r.ok, `${key} missing passed`);
      assert.equal(r.problem, 'unsupported');
      assert.equal(r.fault, 'missingKey');
      assert.equal(r.key, key);
    }
  });

  it('refuses attention.head_count_kv = 0, which makes llama.cpp abort', async () => {
    const file = path.join(dir, 'zero-kv-heads.gguf');
    await writeGguf(file, { ...defaultGgufOptions, name: 'zero-kv-heads', overrideKeys: { 'llama.attention.head_count_kv': 0 } });
    const r = await checkGgufFile(file);
    assert.ok(!r.ok, 'head_count_kv = 0 passed');
    assert.equal(r.problem, 'unsupported');
    assert.equal(r.fault, 'zeroKey');
    assert.equal(r.key, 'llama.attention.head_count_kv');
  });

  it('accepts a model without head_count_kv (llama.cpp then uses head_count)', async () => {
    const file = path.join(dir, 'no-kv-heads.gguf');
    await writeGguf(file, { ...defaultGgufOptions, name: 'no-kv-heads', omitKeys: ['llama.attention.head_count_kv'] });
    assert.equal(await problemOf(file), 'ok');
  });

  it('exempts recurrent architectures from the attention keys, not from the others', () => {
    const base = (arch: string): Map<string, MetadataValue> =>
      new Map<string, MetadataValue>([
        [`${arch}.embedding_length`, 64],
        [`${arch}.block_count`, 2],
        [`${arch}.attention.head_count`, 0],
        [`${arch}.attention.head_count_kv`, 0],
      ]);
    assert.equal(modelKeyFault('mamba', base('mamba')), null);
    assert.equal(modelKeyFault('rwkv6', base('rwkv6')), null);
    assert.deepEqual(modelKeyFault('llama', base('llama')), { key: 'llama.feed_forward_length', fault: 'missingKey' });
    const noBlocks = base('mamba');
    noBlocks.delete('mamba.block_count');
    assert.deepEqual(modelKeyFault('mamba', noBlocks), { key: 'mamba.block_count', fault: 'missingKey' });
    // Per-layer arrays count by length; their zeros (layers without attention) are allowed.
    const perLayer = new Map<string, MetadataValue>([
      ['jamba.embedding_length', 64],
      ['jamba.block_count', 2],
      ['jamba.feed_forward_length', { arrayLength: 2 }],
      ['jamba.attention.head_count', 4],
      ['jamba.attention.head_count_kv', { arrayLength: 2 }],
    ]);
    assert.equal(modelKeyFault('jamba', perLayer), null);
  });

  it('catches a cut at any point: inside the header, the tensor table or the data', async () => {
    const bytes = readFileSync(tiny);
    const cutFile = path.join(dir, 'cut.gguf');
    for (const cut of [5, 12, 30, 200, 2000, 20_000, bytes.length - 1000, bytes.length - 1]) {
      writeFileSync(cutFile, bytes.subarray(0, cut));
      const r = await checkGgufFile(cutFile);
      assert.ok(!r.ok, `cut at ${cut} passed`);
      assert.equal(r.problem, 'truncated', `cut at ${cut}: ${r.detail}`);
    }
  });

  it('refuses an unknown version and impossible counts instead of trusting them', async () => {
    const bytes = Buffer.from(readFileSync(tiny));
    const file = path.join(dir, 'bad-header.gguf');
    const v1 = Buffer.from(bytes);
    v1.writeUInt32LE(1, 4);
    writeFileSync(file, v1);
    assert.equal(await problemOf(file), 'unsupported');
    const hugeCount = Buffer.from(bytes);
    hugeCount.writeBigUInt64LE(1n << 60n, 8); // tensor count
    writeFileSync(file, hugeCount);
    assert.equal(await problemOf(file), 'notGguf');
  });

  it('refuses a tensor of a ggml type it does not know', async () => {
    const bytes = Buffer.from(readFileSync(tiny));
    // The first tensor info follows the metadata; find its name and patch the type after its dims.
    const name = Buffer.from('token_embd.weight');
    const at = bytes.indexOf(name);
    assert.ok(at > 0);
    const dimsAt = at + name.length;
    const nDims = bytes.readUInt32LE(dimsAt);
    const typeAt = dimsAt + 4 + nDims * 8;
    bytes.writeUInt32LE(200, typeAt);
    const file = path.join(dir, 'bad-type.gguf');
    writeFileSync(file, bytes);
    const r = await checkGgufFile(file);
    assert.ok(!r.ok);
    assert.equal(r.problem, 'unsupported');
    assert.match(r.detail, /ggml type 200/);
  });
});
