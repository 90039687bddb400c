// The download cache: listing with sources, deleting (never the model in use, never outside the
// cache), and an index that survives being broken.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { deleteModel, findCached, listModels, modelsDirOf, readIndex, recordDownload } from '../../server/src/models/cache';
import { tinyModel } from '../fixtures/models';
import { modelSource } from '../../server/src/shared/modelRef';

const root = mkdtempSync(path.join(os.tmpdir(), 'local-llm-cache-'));
let tiny: string;
before(async () => {
  tiny = await tinyModel();
});
after(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
function storage(): { storageDir: string; modelsDir: string } {
  const storageDir = path.join(root, `s${++n}`);
  const modelsDir = modelsDirOf(storageDir);
  mkdirSync(modelsDir, { recursive: true });
  return { storageDir, modelsDir };
}

describe('model cache', () => {
  it('normalizes the spellings of an hf: URI', () => {
    for (const s of ['hf:a/b/c.gguf', 'hf://a/b/c.gguf', 'huggingface:a/b/c.gguf', 'HF:a/b/c.gguf', '  hf:a/b/c.gguf ']) {
      assert.equal(modelSource(s), 'hf:a/b/c.gguf', s);
    }
    assert.equal(modelSource('https://x.org/m.gguf'), 'https://x.org/m.gguf');
  });

  it('lists GGUF files with their source, leaving out partial downloads and the index', async () => {
    const { storageDir, modelsDir } = storage();
    copyFileSync(tiny, path.join(modelsDir, 'b.gguf'));
    copyFileSync(tiny, path.join(modelsDir, 'a.gguf'));
    writeFileSync(path.join(modelsDir, 'c.gguf.ipull'), 'partial');
    await recordDownload(modelsDir, { source: 'hf://u/r/b.gguf', file: 'b.gguf', sizeBytes: statSync(tiny).size });
    const list = await listModels(storageDir);
    assert.deepEqual(
      list.map((m) => [m.name, m.source, m.sizeBytes]),
      [
        ['a.gguf', null, statSync(tiny).size],
        ['b.gguf', 'hf:u/r/b.gguf', statSync(tiny).size],
      ],
    );
    assert.deepEqual(await listModels(path.join(root, 'nothing-here')), []);
  });

  it('finds a recorded file only while it is whole and unchanged', async () => {
    const { modelsDir } = storage();
    const file = path.join(modelsDir, 'm.gguf');
    copyFileSync(tiny, file);
    await recordDownload(modelsDir, { source: 'hf:u/r/m.gguf', file: 'm.gguf', sizeBytes: statSync(tiny).size });
    assert.deepEqual(await findCached(modelsDir, 'hf://u/r/m.gguf'), { path: file, sizeBytes: statSync(tiny).size });
    assert.equal(await findCached(modelsDir, 'hf:u/r/other.gguf'), null);
    rmSync(file);
    assert.equal(await findCached(modelsDir, 'hf:u/r/m.gguf'), null);
  });

  it('records the content hash of a download, and ignores an entry whose hash is not a sha256', async () => {
    const { modelsDir } = storage();
    const file = path.join(modelsDir, 'm.gguf');
    copyFileSync(tiny, file);
    const sha256 = 'ab'.repeat(32);
    await recordDownload(modelsDir, { source: 'hf:u/r/m.gguf', file: 'm.gguf', sizeBytes: statSync(tiny).size, sha256, verifiedBy: 'hub' });
    assert.deepEqual(
      (await readIndex(modelsDir)).map((e) => [e.file, e.sha256, e.verifiedBy]),
      [['m.gguf', sha256, 'hub']],
    );
    const entry = { source: 'hf:u/r/m.gguf', file: 'm.gguf', sizeBytes: statSync(tiny).size, downloadedAt: '' };
    writeFileSync(path.join(modelsDir, 'index.json'), JSON.stringify({ entries: [{ ...entry, sha256: 'not-a-hash' }] }));
    assert.deepEqual(await readIndex(modelsDir), [], 'an entry with a broken hash is not trusted');
    assert.equal(await findCached(modelsDir, 'hf:u/r/m.gguf'), null);
    writeFileSync(path.join(modelsDir, 'index.json'), JSON.stringify({ entries: [entry] }));
    assert.deepEqual(
      await findCached(modelsDir, 'hf:u/r/m.gguf'),
      { path: file, sizeBytes: statSync(tiny).size },
      'an older entry without a hash still counts',
    );
  });

  it('treats a broken index as empty, and replaces it on the next record', async () => {
    const { modelsDir } = storage();
    writeFileSync(path.join(modelsDir, 'index.json'), '{ this is not json');
    assert.deepEqual(await readIndex(modelsDir), []);
    writeFileSync(
      path.join(modelsDir, 'index.json'),
      JSON.stringify({ entries: [{ source: 'x', file: '../escape.gguf', sizeBytes: 1, downloadedAt: '' }] }),
    );
    assert.deepEqual(await readIndex(modelsDir), [], 'an entry pointing outside the folder is ignored');
    await recordDownload(modelsDir, { source: 'hf:u/r/m.gguf', file: 'm.gguf', sizeBytes: 1 });
    assert.deepEqual(
      (await readIndex(modelsDir)).map((e) => e.file),
      ['m.gguf'],
    );
  });

  it('deletes a cached model with its partial file and index entry, but neither model in use (completion and chat)', async () => {
    const { storageDir, modelsDir } = storage();
    const keep = path.join(modelsDir, 'in-use.gguf');
    const drop = path.join(modelsDir, 'old.gguf');
    copyFileSync(tiny, keep);
    copyFileSync(tiny, drop);
    writeFileSync(`${drop}.ipull`, 'partial');
    await recordDownload(modelsDir, { source: 'hf:u/r/old.gguf', file: 'old.gguf', sizeBytes: statSync(tiny).size });
    await recordDownload(modelsDir, { source: 'hf:u/r/in-use.gguf', file: 'in-use.gguf', sizeBytes: statSync(tiny).size });

    await assert.rejects(deleteModel(storageDir, keep, [keep]), /is a model in use/);
    assert.ok(existsSync(keep));
    // The chat model in use (#25) is kept the same way, whichever of the two it is.
    await assert.rejects(deleteModel(storageDir, keep, [tiny, keep]), /is a model in use/);
    assert.ok(existsSync(keep));
    await assert.rejects(deleteModel(storageDir, tiny, [keep]), /Only models in the download cache/);
    assert.ok(existsSync(tiny));
    await assert.rejects(deleteModel(storageDir, path.join(modelsDir, 'index.json'), []), /Only models/);

    await deleteModel(storageDir, drop, [keep]);
    assert.equal(existsSync(drop), false);
    assert.equal(existsSync(`${drop}.ipull`), false);
    assert.deepEqual(
      (await readIndex(modelsDir)).map((e) => e.file),
      ['in-use.gguf'],
    );
    await deleteModel(storageDir, drop, [keep]); // already gone: no error
  });
});
