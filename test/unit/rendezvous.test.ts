import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { acquirePidLock, clearDeadLock, lockHolder, lockOwner, releasePidLock } from '../../server/src/shared/pidLock';
import { processStartTime } from '../../server/src/shared/processes';
import {
  ensurePrivateDir,
  fallbackRuntimeDir,
  hostKey,
  notSharedReason,
  otherHosts,
  privateRuntimeDir,
  RendezvousError,
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

  it('a draft model is part of the identity; without one the key is the one before draft models', () => {
    const keyBefore = createHash('sha256')
      .update(JSON.stringify([identity.modelPath, identity.gpu, identity.gpuLayers, identity.contextSize, identity.threads]))
      .digest('hex')
      .slice(0, 16);
    assert.equal(hostKey(identity), keyBefore);
    const drafted = { ...identity, draftModelPath: '/models/draft.gguf' };
    assert.notEqual(hostKey(drafted), hostKey(identity));
    assert.notEqual(hostKey(drafted), hostKey({ ...identity, draftModelPath: '/models/other-draft.gguf' }));
    assert.equal(notSharedReason(identity, [drafted]), "Not shared with another window's model host: it uses the draft model draft.gguf.");
    assert.equal(notSharedReason(drafted, [identity]), "Not shared with another window's model host: it uses no draft model.");
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
    assert.equal(lockOwner(lock), process.pid);
    releasePidLock(lock);
    // Another live process (our parent) holds it.
    writeFileSync(lock, String(process.ppid));
    assert.equal(acquirePidLock(lock), false);
    // A dead one: taken over.
    writeFileSync(lock, String(deadPid()));
    assert.equal(acquirePidLock(lock), true);
    assert.equal(lockOwner(lock), process.pid);
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

describe(
  'a rendezvous folder another user planted (#24)',
  { skip: process.platform !== 'linux' && 'XDG_RUNTIME_DIR is Linux only' },
  () => {
    /** A runtime folder (XDG_RUNTIME_DIR) and a cache folder (XDG_CACHE_HOME) of a test's own. */
    function folders(): { base: string; env: NodeJS.ProcessEnv; usual: string; fallback: string } {
      const base = mkdtempSync(path.join(os.tmpdir(), 'llm-planted-'));
      const env = { XDG_RUNTIME_DIR: path.join(base, 'run'), XDG_CACHE_HOME: path.join(base, 'cache') };
      mkdirSync(env.XDG_RUNTIME_DIR);
      return { base, env, usual: path.join(env.XDG_RUNTIME_DIR, 'local-llm'), fallback: path.join(base, 'cache', 'local-llm', 'run') };
    }

    it('uses the usual folder when it is ours', () => {
      const { base, env, usual } = folders();
      assert.deepEqual(privateRuntimeDir(env), { dir: usual, fallbackReason: null });
      rmSync(base, { recursive: true, force: true });
    });

    it('a link planted in its place: every window falls back to the same private folder under the cache folder, and says so', () => {
      const { base, env, usual, fallback } = folders();
      const theirs = path.join(base, 'theirs');
      mkdirSync(theirs);
      symlinkSync(theirs, usual);
      const first = privateRuntimeDir(env);
      assert.equal(first.dir, fallback);
      assert.equal(fallbackRuntimeDir(env), fallback);
      assert.equal(
        first.fallbackReason,
        `${usual} is not a directory, so no model host can be shared through it. The model host is shared through ${fallback} instead.`,
      );
      assert.equal(statSync(fallback).mode & 0o777, 0o700);
      // Another window of the same user picks the same folder, so both meet at one host.
      assert.equal(privateRuntimeDir(env).dir, first.dir);
      rmSync(base, { recursive: true, force: true });
    });

    it('a folder of another user: refused, and the fallback is used', { skip: process.getuid?.() !== 0 && 'chown needs root' }, () => {
      const { base, env, usual, fallback } = folders();
      mkdirSync(usual, { mode: 0o700 });
      chownSync(usual, 12345, 12345);
      assert.throws(
        () => ensurePrivateDir(usual),
        (e: unknown) => e instanceof RendezvousError && /belongs to another user/.test(e.message),
      );
      const chosen = privateRuntimeDir(env);
      assert.equal(chosen.dir, fallback);
      assert.match(chosen.fallbackReason ?? '', /belongs to another user, .* shared through .*local-llm\/run instead\.$/);
      rmSync(base, { recursive: true, force: true });
    });

    it('with the fallback planted too, one RendezvousError names both; an explicit folder has no fallback', () => {
      const { base, env, usual, fallback } = folders();
      const theirs = path.join(base, 'theirs');
      mkdirSync(theirs);
      symlinkSync(theirs, usual);
      mkdirSync(path.dirname(fallback), { recursive: true });
      symlinkSync(theirs, fallback);
      assert.throws(
        () => privateRuntimeDir(env),
        (e: unknown) => e instanceof RendezvousError && e.message.includes(usual) && e.message.includes(fallback),
      );
      assert.throws(
        () => privateRuntimeDir({ ...env, LOCAL_LLM_RUNTIME_DIR: usual }),
        (e: unknown) => e instanceof RendezvousError && !e.message.includes(fallback),
      );
      rmSync(base, { recursive: true, force: true });
    });
  },
);

describe('a stale lock or description whose pid another process got since (#24)', { skip: process.platform !== 'linux' && '/proc' }, () => {
  /** A live process of ours that is not the one a stale file names: as if the pid had been reused. */
  async function withLiveProcess(body: (pid: number) => void): Promise<void> {
    const child = spawn(process.execPath, ['-e', 'setInterval(() => undefined, 1000)'], { stdio: 'ignore' });
    await once(child, 'spawn');
    try {
      body(child.pid!);
    } finally {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  }

  it('the lock records the holder’s start time', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'llm-lock-'));
    const lock = path.join(dir, 'host.lock');
    assert.equal(acquirePidLock(lock), true);
    assert.deepEqual(lockHolder(lock), { pid: process.pid, startTime: processStartTime(process.pid) });
    assert.notEqual(processStartTime(process.pid), null);
    releasePidLock(lock);
    rmSync(dir, { recursive: true, force: true });
  });

  it('a lock whose pid now names another process is taken over; one naming its live holder is not', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'llm-lock-'));
    const lock = path.join(dir, 'host.lock');
    await withLiveProcess((pid) => {
      writeFileSync(lock, `${pid} ${processStartTime(pid)}`);
      assert.equal(acquirePidLock(lock), false, 'the live holder keeps it');
      // The holder that wrote this started at another time: its pid was reused.
      writeFileSync(lock, `${pid} 1`);
      assert.equal(acquirePidLock(lock), true);
      assert.equal(lockOwner(lock), process.pid);
    });
    // A lock written without a start time (an older version) counts by its pid alone, as before.
    writeFileSync(lock, String(process.ppid));
    assert.equal(acquirePidLock(lock), false);
    rmSync(dir, { recursive: true, force: true });
  });

  it('a description whose pid now names another process is no other host', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'llm-desc-'));
    const other = { ...identity, contextSize: 2048 };
    const key = hostKey(other);
    await withLiveProcess((pid) => {
      const description = rendezvousPaths(dir, key).description;
      writeFileSync(description, JSON.stringify({ ...other, pid, startTime: processStartTime(pid) }));
      assert.equal(otherHosts(dir, null).length, 1);
      writeFileSync(description, JSON.stringify({ ...other, pid, startTime: '1' }));
      assert.deepEqual(otherHosts(dir, null), []);
    });
    rmSync(dir, { recursive: true, force: true });
  });

  it('clearDeadLock removes a dead holder’s lock and what it left, never a live holder’s', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'llm-lock-'));
    const lock = path.join(dir, 'host.lock');
    const left = path.join(dir, 'host.sock');
    const dead = deadPid();
    writeFileSync(lock, `${dead} 1`);
    writeFileSync(left, '');
    assert.equal(
      clearDeadLock(lock, dead, () => rmSync(left)),
      true,
    );
    assert.deepEqual(readdirSync(dir), []);
    await withLiveProcess((pid) => {
      writeFileSync(lock, `${pid} ${processStartTime(pid)}`);
      writeFileSync(left, '');
      assert.equal(
        clearDeadLock(lock, pid, () => rmSync(left)),
        false,
      );
      // A new host took the lock over since: it is not undone.
      assert.equal(
        clearDeadLock(lock, dead, () => rmSync(left)),
        false,
      );
      assert.deepEqual(readdirSync(dir).sort(), ['host.lock', 'host.sock']);
    });
    rmSync(dir, { recursive: true, force: true });
  });
});
