// CPU time of the model host process, from /proc (Linux): what a request cost in work, which the
// other agents sharing this machine's cores stretch far less than they stretch wall time.
import { readdirSync, readFileSync } from 'node:fs';

const ticksPerSecond = 100; // USER_HZ on Linux

function childrenOf(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
      readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
    );
  } catch {
    return [];
  }
}

/** The server's model host process (dist/host.js), or null when there is none (deep sleep, not Linux). */
export function hostPid(serverPid: number | undefined): number | null {
  if (serverPid === undefined) return null;
  for (const child of childrenOf(serverPid)) {
    try {
      if (readFileSync(`/proc/${child}/cmdline`, 'utf8').includes('host.js')) return child;
    } catch {
      // Gone since it was listed.
    }
  }
  return null;
}

/** User + system CPU time of a process in ms (10 ms resolution); null when it cannot be read. */
export function cpuMs(pid: number | null): number | null {
  if (pid === null) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
  } catch {
    return null;
  }
}
