// The state kept across sleep, on disk: the cap removes the oldest states first, a record is
// checked field by field, and deleting a model removes its states (and no other model's).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { deleteModel, modelsDirOf } from '../../server/src/models/cache';
import { pruneStates, recordMismatch, type StateRecord } from '../../server/src/host/sequenceState';
import { binOf, recordOf, stateBase, stateDirOf } from '../../server/src/shared/stateFiles';

const root = mkdtempSync(path.join(os.tmpdir(), 'local-llm-state-unit-'));
after(() => rmSync(root, { recursive: true, force: true }));

function saved(base: string, bytes: number, ageS: number): void {
  writeFileSync(binOf(base), Buffer.alloc(bytes));
  writeFileSync(recordOf(base), '{}');
  const when = new Date(Date.now() - ageS * 1000);
  utimesSync(binOf(base), when, when);
}

describe('sequence state on disk', () => {
  it('the cap removes the oldest states first, .bin and record together', async () => {
    const dir = path.join(root, 'cap');
    mkdirSync(dir);
    saved(path.join(dir, 'old-chat'), 400, 30);
    saved(path.join(dir, 'mid-chat'), 400, 20);
    saved(path.join(dir, 'new-completion'), 400, 10);
    const removed = await pruneStates(dir, 1000);
    assert.deepEqual(
      removed.map((b) => path.basename(b)),
      ['old-chat'],
    );
    assert.deepEqual(readdirSync(dir).sort(), ['mid-chat.bin', 'mid-chat.json', 'new-completion.bin', 'new-completion.json']);
    assert.equal((await pruneStates(dir, 0)).length, 2);
    assert.deepEqual(readdirSync(dir), []);
  });

  it('a record matches only the same model file, context size, library version and kind', () => {
    const record: StateRecord = {
      format: 1,
      modelPath: '/m/a.gguf',
      modelSize: 10,
      modelMtimeMs: 5,
      kind: 'chat',
      contextSize: 2048,
      engineVersion: '3.21.1',
      tokenCount: 3,
      bytes: 100,
      keptBeforeLine: null,
    };
    const same = {
      modelPath: '/m/a.gguf',
      modelSize: 10,
      modelMtimeMs: 5,
      contextSize: 2048,
      engineVersion: '3.21.1',
      kind: 'chat' as const,
    };
    assert.equal(recordMismatch(record, same), null);
    assert.match(recordMismatch(record, { ...same, modelPath: '/m/b.gguf' }) ?? '', /another model file/);
    assert.match(recordMismatch(record, { ...same, modelSize: 11 }) ?? '', /another model file/);
    assert.match(recordMismatch(record, { ...same, modelMtimeMs: 6 }) ?? '', /another model file/);
    assert.match(recordMismatch(record, { ...same, contextSize: 1024 }) ?? '', /context of 2048 tokens, not 1024/);
    assert.match(recordMismatch(record, { ...same, engineVersion: '3.22.0' }) ?? '', /node-llama-cpp 3.21.1/);
    assert.match(recordMismatch(record, { ...same, kind: 'completion' }) ?? '', /chat sequence/);
  });

  it("deleting a model removes its states and keeps the other models'", async () => {
    const storageDir = path.join(root, 'storage');
    const modelsDir = modelsDirOf(storageDir);
    const stateDir = stateDirOf(storageDir);
    mkdirSync(modelsDir, { recursive: true });
    mkdirSync(stateDir);
    const drop = path.join(modelsDir, 'drop.gguf');
    const keep = path.join(modelsDir, 'keep.gguf');
    writeFileSync(drop, 'x');
    writeFileSync(keep, 'x');
    for (const model of [drop, keep]) for (const kind of ['chat', 'completion'] as const) saved(stateBase(stateDir, model, kind), 10, 0);
    await deleteModel(storageDir, drop, [keep]);
    const left = readdirSync(stateDir).sort();
    const keepBases = ['chat', 'completion'].map((kind) => path.basename(stateBase(stateDir, keep, kind as 'chat')));
    assert.deepEqual(left, keepBases.flatMap((b) => [`${b}.bin`, `${b}.json`]).sort());
  });
});
