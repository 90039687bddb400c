// The model host is a child process (dist/host.js of the installed extension). Reading the
// process table tells whether deep sleep really ended it, independent of what the UI says.
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

/** Pids of live processes running a dist/host.js from inside `extensionsDir` (Linux /proc). */
export function modelHostPids(extensionsDir: string): number[] {
  const prefix = path.resolve(extensionsDir) + path.sep;
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let args: string[];
    try {
      args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // Exited while we looked.
    }
    if (args.some((a) => a.startsWith(prefix) && a.endsWith(`${path.sep}dist${path.sep}host.js`))) pids.push(Number(entry));
  }
  return pids;
}

/**
 * The model host pids still alive once they are all gone, or when `timeoutMs` ran out. The status
 * item says "sleeping" as the sleep begins; a deep-sleeping host still saves its state and frees
 * the model before it exits, which on a loaded machine can take seconds.
 */
export async function modelHostsAfterExit(extensionsDir: string, timeoutMs = 30_000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let pids = modelHostPids(extensionsDir);
  while (pids.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    pids = modelHostPids(extensionsDir);
  }
  return pids;
}

/** Whether a live process maps a .gguf file (a loaded model; node-llama-cpp maps the weights). */
function mapsAModel(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/maps`, 'utf8').includes('.gguf');
  } catch {
    return false; // Exited while we looked.
  }
}

/**
 * After a deep sleep: the pids of `serving` (the hosts that held the model) still alive, plus any
 * host that maps a model, once there are none or when `timeoutMs` ran out. A standby host
 * (localLlm.sleep.standby, #23) may remain: it is a new process and holds no model.
 */
export async function modelHoldersAfterSleep(extensionsDir: string, serving: readonly number[], timeoutMs = 30_000): Promise<number[]> {
  const holders = (): number[] => {
    const live = new Set(modelHostPids(extensionsDir));
    return [...live].filter((pid) => serving.includes(pid) || mapsAModel(pid));
  };
  const deadline = Date.now() + timeoutMs;
  let pids = holders();
  while (pids.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    pids = holders();
  }
  return pids;
}
