import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { acquirePidLock, releasePidLock } from '../../server/src/shared/pidLock';
import {
  ensurePrivateDir,
  hostKey,
  notSharedReason,
  rendezvousPaths,
  runtimeDir,
  type HostIdentity,
} from '../../server/src/shared/rendezvous';

const unixOnly = process.platform === 'win32' && 'Unix modes';
const identity: HostIdentity = { modelPath: '/models/coder.gguf', gpu: 'auto', gpuLayers: 'auto', contextSize: 4096, threads: 8 };

/** A pid that is certainly gone: a child that already exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid ?? 999_999;
}

describe('rendezvous', () => {
  it('one key per model and load settings', () => {
    assert.equal(hostKey(identity), hostKey({ ...identity }));
    for (const other of [
      { modelPath: '/models/other.gguf' },
      { gpu: 'cpu' as const },
      { gpuLayers: 0 },
      { contextSize: 2048 },
      { threads: 4 },
    ]) {
      assert.notEqual(hostKey({ ...identity, ...other }), hostKey(identity), JSON.stringify(other));
    }
    const paths = rendezvousPaths('/run/user/1000/local-llm', hostKey(identity));
    if (process.platform !== 'win32') assert.match(paths.socket, /^\/run\/user\/1000\/local-llm\/host-[0-9a-f]{16}\.sock$/);
  });

  it('the folder: the test override, else XDG_RUNTIME_DIR on Linux, else the temp folder with the user id', () => {
    assert.equal(runtimeDir({ LOCAL_LLM_RUNTIME_DIR: '/tmp/x' }), '/tmp/x');
    if (process.platform === 'linux') assert.equal(runtimeDir({ XDG_RUNTIME_DIR: '/run/user/7' }), '/run/user/7/local-llm');
    assert.ok(runtimeDir({}).startsWith(path.join(os.tmpdir(), 'local-llm-')));
  });

  it('says which settings differ from the closest other host', () => {
    assert.equal(notSharedReason(identity, []), null);
    const reason = notSharedReason(identity, [
      { ...identity, modelPath: '/models/big.gguf', contextSize: 8192 },
      { ...identity, contextSize: 2048 },
    ]);
    assert.equal(reason, "Not shared with another window's model host: it uses contextSize 2048 (here 4096).");
  });

  it('makes the folder 0700, tightens a loose one, refuses a link', { skip: unixOnly }, () => {
    const base = mkdtempSync(path.join(os.tmpdir(), 'llm-rv-'));
    const dir = path.join(base, 'local-llm');
    ensurePrivateDir(dir);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    chmodSync(dir, 0o755);
    ensurePrivateDir(dir);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    const target = path.join(base, 'elsewhere');
    mkdirSync(target);
    const link = path.join(base, 'link');
    symlinkSync(target, link);
    assert.throws(() => ensurePrivateDir(link), /is not a directory/);
    rmSync(base, { recursive: true, force: true });
  });
});

describe('pid lock', () => {
  it('one holder; a live holder keeps it; a dead holder is taken over once', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'llm-lock-'));
    const lock = path.join(dir, 'host.lock');
    assert.equal(acquirePidLock(lock), true);
    assert.equal(readFileSync(lock, 'utf8'), String(process.pid));
    releasePidLock(lock);
    // Another live process (our parent) holds it.
    writeFileSync(lock, String(process.ppid));
    assert.equal(acquirePidLock(lock), false);
    // A dead one: taken over.
    writeFileSync(lock, String(deadPid()));
    assert.equal(acquirePidLock(lock), true);
    assert.equal(readFileSync(lock, 'utf8'), String(process.pid));
    releasePidLock(lock);
    rmSync(dir, { recursive: true, force: true });
  });

  it('a takeover already claimed by a live process is not taken twice', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'llm-lock-'));
    const lock = path.join(dir, 'host.lock');
    const dead = deadPid();
    writeFileSync(lock, String(dead));
    // Someone alive is taking over the same dead holder right now.
    writeFileSync(`${lock}.${dead}`, String(process.ppid));
    assert.equal(acquirePidLock(lock), false);
    assert.equal(readFileSync(lock, 'utf8'), String(dead));
    rmSync(dir, { recursive: true, force: true });
  });
});
