// Resident memory of a process, read from /proc so it also works while that process is busy in
// native code and cannot answer a request. Linux only; elsewhere the readers return null.
import { readFileSync } from 'node:fs';

/** VmRSS of `pid` (or of this process) in bytes; null when /proc has no such process. */
export function readProcessRss(pid: number | 'self'): number | null {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  return match ? Number(match[1]) * 1024 : null;
}

/** This process's RSS: /proc where it exists, Node's own figure elsewhere. */
export function ownRssBytes(): number {
  return readProcessRss('self') ?? process.memoryUsage().rss;
}
