// llama.cpp's llama-server, built from the llama.cpp source node-llama-cpp ships (its
// gitRelease.bundle), for the `remote` test suite and the remote benchmark. Built once per machine
// and llama.cpp commit into ~/.cache/local-llm/llama-server-<commit>/ (outside the repo, so every
// worktree and CI run on the machine reuses it); about 7 minutes on 2 cores.
// CLI: `node --import tsx scripts/dev/llamaServer.ts` prints the binary's path, building it when missing.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, copyFileSync, chmodSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const repoRoot = path.resolve(__dirname, '..', '..');
export const llamaBundle = path.join(repoRoot, 'node_modules', 'node-llama-cpp', 'llama', 'gitRelease.bundle');

/** The llama.cpp commit in node-llama-cpp's bundle. */
export function bundleCommit(): string {
  const heads = execFileSync('git', ['bundle', 'list-heads', llamaBundle], { encoding: 'utf8' });
  const commit = /^([0-9a-f]{40})/m.exec(heads)?.[1];
  if (!commit) throw new Error(`No commit found in ${llamaBundle}.`);
  return commit;
}

/** The folder holding this machine's build (LOCAL_LLM_LLAMA_SERVER_DIR overrides it). */
export function llamaServerDir(): string {
  const override = process.env.LOCAL_LLM_LLAMA_SERVER_DIR;
  if (override) return path.resolve(override);
  return path.join(os.homedir(), '.cache', 'local-llm', `llama-server-${bundleCommit().slice(0, 12)}`);
}

/** The built binary's path, or null when it has not been built on this machine. */
export function builtLlamaServer(): string | null {
  const binary = path.join(llamaServerDir(), 'llama-server');
  return existsSync(binary) ? binary : null;
}

function run(cmd: string, args: string[], cwd: string, log: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    log(`$ ${cmd} ${args.join(' ')}`);
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const keep = (d: Buffer): void => {
      tail = (tail + d.toString()).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args[0]} failed (${code}):\n${tail}`))));
  });
}

/**
 * Builds llama-server when this machine has none; resolves with its path. A second caller while
 * one builds waits for it (a lock folder), so parallel test files never build twice.
 */
export async function ensureLlamaServer(log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<string> {
  const existing = builtLlamaServer();
  if (existing) return existing;
  const dir = llamaServerDir();
  const lock = `${dir}.lock`;
  mkdirSync(path.dirname(dir), { recursive: true });
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // Someone else builds: wait for their result.
      await new Promise((r) => setTimeout(r, 5000));
      const built = builtLlamaServer();
      if (built) return built;
    }
  }
  const work = `${dir}.build-${process.pid}`;
  try {
    const ready = builtLlamaServer();
    if (ready) return ready;
    const started = Date.now();
    log(`Building llama-server from ${llamaBundle} into ${dir} (about 7 minutes on 2 cores, once per machine)…`);
    rmSync(work, { recursive: true, force: true });
    await run('git', ['clone', '--quiet', llamaBundle, path.join(work, 'src')], os.tmpdir(), log);
    const src = path.join(work, 'src');
    await run(
      'cmake',
      [
        '-B',
        'build',
        '-DLLAMA_CURL=OFF',
        '-DLLAMA_BUILD_TESTS=OFF',
        '-DLLAMA_BUILD_EXAMPLES=OFF',
        // The web UI is not needed, and fetching a prebuilt one needs the network.
        '-DLLAMA_BUILD_UI=OFF',
        '-DLLAMA_USE_PREBUILT_UI=OFF',
        '-DLLAMA_OPENSSL=OFF',
        // One self-contained binary that can be copied out of the build folder.
        '-DBUILD_SHARED_LIBS=OFF',
        '-DCMAKE_BUILD_TYPE=Release',
      ],
      src,
      log,
    );
    await run('cmake', ['--build', 'build', '--target', 'llama-server', '-j', String(Math.max(1, os.availableParallelism()))], src, log);
    mkdirSync(dir, { recursive: true });
    const tmp = path.join(dir, `llama-server.${process.pid}.tmp`);
    copyFileSync(path.join(src, 'build', 'bin', 'llama-server'), tmp);
    chmodSync(tmp, 0o755);
    renameSync(tmp, path.join(dir, 'llama-server'));
    log(`Built llama-server in ${Math.round((Date.now() - started) / 1000)} s.`);
    return path.join(dir, 'llama-server');
  } finally {
    rmSync(work, { recursive: true, force: true });
    rmSync(lock, { recursive: true, force: true });
  }
}

if (require.main === module) {
  ensureLlamaServer()
    .then((binary) => process.stdout.write(`${binary}\n`))
    .catch((err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    });
}
