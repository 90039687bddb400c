// Serving a real VS Code workbench (code-server) on 127.0.0.1, in its own process group.
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { processPresence } from '../../server/src/shared/processes';
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
 * The shared model hosts this workbench's servers started. Each is detached in its own process
 * group (it outlives a window by a grace period), so stopping code-server's group leaves them.
 */
function modelHostPids(runtimeDir: string): number[] {
  let names: string[];
  try {
    names = readdirSync(runtimeDir);
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const name of names.filter((n) => /^host-[0-9a-f]+\.json$/.test(n))) {
    try {
      const { pid } = JSON.parse(readFileSync(path.join(runtimeDir, name), 'utf8')) as { pid?: unknown };
      if (typeof pid === 'number' && Number.isInteger(pid) && pid > 0) pids.push(pid);
    } catch {
      // Removed or half-written meanwhile: that host is on its way out.
    }
  }
  return pids;
}

/**
 * SIGTERM, then SIGKILL after 5 s. Gone includes a zombie: with its server stopped first, the
 * host is left to pid 1, which may never reap it, so its group would look alive for ever.
 */
async function stopModelHost(pid: number): Promise<void> {
  const signalGroup = (signal: NodeJS.Signals): void => {
    try {
      process.kill(-pid, signal);
    } catch {
      // Already gone.
    }
  };
  signalGroup('SIGTERM');
  const deadline = Date.now() + 5000;
  while (processPresence(pid) === 'ours' && Date.now() < deadline) await sleep(100);
  if (processPresence(pid) === 'ours') signalGroup('SIGKILL');
}

/** Stops code-server, then the model hosts it left, so nothing outlives the run. */
async function stopWorkbench(pgid: number, runtimeDir: string): Promise<void> {
  const hosts = modelHostPids(runtimeDir);
  await stopGroup(pgid);
  await Promise.all(hosts.filter((pid) => processPresence(pid) === 'ours').map(stopModelHost));
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
    throw new Error(`code-server could not install ${vsixPath} (exit code ${code}): ${proc.output().trim().split('\n').slice(-5).join(' | ')}`);
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

export async function startCodeServer({ profile, workspace, port: fixedPort, timeoutMs = 60_000 }: ServeOptions): Promise<RunningCodeServer> {
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
