// VRAM per process from nvidia-smi, the figure a user sees; null where there is no NVIDIA GPU.
import { execFileSync } from 'node:child_process';

export interface VramSnapshot {
  /** MiB per compute process, as nvidia-smi lists them (pid as nvidia-smi sees it). */
  apps: { pid: number; name: string; mib: number }[];
  /** The whole GPU's used memory in MiB, whoever holds it. */
  gpuUsedMiB: number | null;
}

function smi(args: string[]): string | null {
  try {
    return execFileSync('nvidia-smi', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return null;
  }
}

/** What nvidia-smi says now; null without nvidia-smi. */
export function vramSnapshot(): VramSnapshot | null {
  const apps = smi(['--query-compute-apps=pid,process_name,used_memory', '--format=csv,noheader,nounits']);
  if (apps === null) return null;
  const used = smi(['--query-gpu=memory.used', '--format=csv,noheader,nounits']);
  const gpuUsed = used === null ? Number.NaN : Number(used.trim().split('\n')[0]);
  return {
    apps: apps
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => {
        const parts = l.split(',').map((x) => x.trim());
        return { pid: Number(parts[0]), name: parts.slice(1, -1).join(','), mib: Number(parts[parts.length - 1]) };
      }),
    gpuUsedMiB: Number.isFinite(gpuUsed) ? gpuUsed : null,
  };
}

/** MiB used by `pid` in a snapshot: 0 when it holds none, null without nvidia-smi or a pid. */
export function vramOf(snapshot: VramSnapshot | null, pid: number | null): number | null {
  if (snapshot === null) return null;
  if (pid === null) return 0;
  return snapshot.apps.filter((a) => a.pid === pid).reduce((sum, a) => sum + a.mib, 0);
}
