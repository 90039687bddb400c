// The standby host of a deep sleep as the benchmarks see it: a runtime folder of the benchmark's
// own (so its host log can be read), waiting until the standby has finished its warm-up (a user
// comes back after minutes, not milliseconds), and the wake breakdown the host logged.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseWakeBreakdown, type WakeBreakdown } from '../../server/src/host/wakeBreakdown';
import type { TestServer } from './lsp';

/** A rendezvous folder for one benchmark's server (LOCAL_LLM_RUNTIME_DIR); removed by the server's stop. */
export function benchRuntimeDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'llm-bench-rt-'));
}

/** How many standby hosts of this folder have finished their warm-up so far. */
export function standbysReady(dir: string): number {
  let count = 0;
  try {
    for (const f of readdirSync(dir)) {
      if (f.endsWith('.log')) count += readFileSync(path.join(dir, f), 'utf8').split('Standby host ready').length - 1;
    }
  } catch {
    // No folder yet.
  }
  return count;
}

/** Waits until more standbys than `before` are ready and the server holds one; false when none came within `timeoutMs`. */
export async function waitForStandby(server: TestServer, dir: string, before: number, timeoutMs = 60_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (standbysReady(dir) > before && ((await server.status()).memory.standbyRssBytes ?? null) !== null) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/** The last wake breakdown in the server's log lines from index `from` on; null when none. */
export function lastBreakdown(server: TestServer, from: number): WakeBreakdown | null {
  let found: WakeBreakdown | null = null;
  for (const chunk of server.logs.slice(from)) {
    for (const line of chunk.split('\n')) found = parseWakeBreakdown(line) ?? found;
  }
  return found;
}
