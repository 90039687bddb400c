// Serving a real VS Code workbench (code-server) on 127.0.0.1, in its own process group.
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { otherHosts } from '../../server/src/shared/rendezvous';
import { ensureCodeServer } from './codeServerInstall';
import { freePort } from './freePort';
import { isGroupAlive, spawnGroup, stopGroup, type GroupProcess } from './processGroup';
import type { Profile } from './profile';

export interface RunningCodeServer {
  port: number;
  /** http://127.0.0.1:PORT/ */
  baseUrl: string;
  pgid: number;
  output(): string;
  /** Stops the whole process group; resolves once no member is left. */
  stop(): Promise<void>;
}

// Its own rendezvous for the shared model host: a workbench of the tests (or of `npm start`)
// never attaches to the model of the user's own editor, nor that one to its.
function runtimeDirOf(profile: Profile): string {
  return process.env['LOCAL_LLM_RUNTIME_DIR'] ?? path.join(profile.root, 'run');
}

function codeServerEnv(profile: Profile): NodeJS.ProcessEnv {
  return { ...process.env, XDG_CONFIG_HOME: profile.configHome, LOCAL_LLM_RUNTIME_DIR: runtimeDirOf(profile) };
}

/**
 * Stops code-server, then the shared model hosts its servers started: each is detached in a
 * process group of its own (it outlives a window by a grace period), so code-server's group
 * leaves them, and nothing must outlive the run.
 */
async function stopWorkbench(pgid: number, runtimeDir: string): Promise<void> {
  const hosts = otherHosts(runtimeDir, null).map((host) => host.pid);
  await stopGroup(pgid);
  await Promise.all(hosts.map((pid) => stopGroup(pid)));
}

function profileArgs(profile: Profile): string[] {
  return ['--user-data-dir', profile.userDataDir, '--extensions-dir', profile.extensionsDir];
}

/** Installs a .vsix into the profile's own extensions folder. */
export async function installExtension(profile: Profile, vsixPath: string): Promise<void> {
  const entry = await ensureCodeServer();
  const proc = spawnGroup(process.execPath, [entry, ...profileArgs(profile), '--install-extension', path.resolve(vsixPath), '--force'], {
    env: codeServerEnv(profile),
  });
  const code = await proc.exited;
  await stopGroup(proc.pgid, 1000);
  if (code !== 0) {
    throw new Error(
      `code-server could not install ${vsixPath} (exit code ${code}): ${proc.output().trim().split('\n').slice(-5).join(' | ')}`,
    );
  }
}

async function waitHealthy(proc: GroupProcess, baseUrl: string, timeoutMs: number): Promise<boolean> {
  let exited = false;
  void proc.exited.then(() => {
    exited = true;
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !exited) {
    try {
      const res = await fetch(new URL('healthz', baseUrl), { signal: AbortSignal.timeout(2000) });
      if (res.ok) return true;
    } catch {
      // Not listening yet.
    }
    await sleep(250);
  }
  return false;
}

export interface ServeOptions {
  profile: Profile;
  /** Folder opened when the bare URL is visited. */
  workspace?: string;
  /** A fixed port; default: a free one. */
  port?: number;
  timeoutMs?: number;
}

export async function startCodeServer({
  profile,
  workspace,
  port: fixedPort,
  timeoutMs = 60_000,
}: ServeOptions): Promise<RunningCodeServer> {
  const entry = await ensureCodeServer();
  let lastOutput = '';
  // A free port can be taken between the probe and the bind; try a few.
  for (let attempt = 0; attempt < (fixedPort ? 1 : 3); attempt++) {
    const port = fixedPort ?? (await freePort());
    const baseUrl = `http://127.0.0.1:${port}/`;
    const args = [
      entry,
      '--bind-addr',
      `127.0.0.1:${port}`,
      '--auth',
      'none',
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      ...profileArgs(profile),
      ...(workspace ? [workspace] : []),
    ];
    const proc = spawnGroup(process.execPath, args, { env: codeServerEnv(profile) });
    if (await waitHealthy(proc, baseUrl, timeoutMs)) {
      return {
        port,
        baseUrl,
        pgid: proc.pgid,
        output: proc.output,
        stop: () => stopWorkbench(proc.pgid, runtimeDirOf(profile)),
      };
    }
    lastOutput = proc.output();
    await stopGroup(proc.pgid, 1000);
    if (!/EADDRINUSE/.test(lastOutput)) break;
  }
  throw new Error(`code-server did not become healthy: ${lastOutput.trim().split('\n').slice(-8).join(' | ')}`);
}

export { isGroupAlive };
