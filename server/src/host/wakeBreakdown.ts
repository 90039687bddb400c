// Where a wake's time went, as one line of the host's log: the process start, node-llama-cpp's
// import, the backend (getLlama), the weights, the context and the saved state's restore. The
// benchmark reads the same line back (parseWakeBreakdown), so the two never disagree.

/** What the wake waited for, in ms; null where this wake did not do that step (done ahead, or kept). */
export interface WakeBreakdown {
  processStartMs: number | null;
  importMs: number | null;
  getLlamaMs: number | null;
  /** The model file's checks before the load (host/llama/modelFile.ts). */
  checkMs: number | null;
  loadModelMs: number;
  createContextMs: number;
  restoreMs: number | null;
  /** Which host served the wake: a new one, the standby of a deep sleep, or one that kept its process. */
  host: 'fresh' | 'standby' | 'kept';
}

const prefix = 'Wake breakdown:';
const hostWords: Record<WakeBreakdown['host'], string> = {
  fresh: 'a new host process',
  standby: 'the standby host, which had started, imported and warmed up before the wake',
  kept: 'the same host process',
};
const fields = [
  ['processStartMs', 'process start'],
  ['importMs', 'node-llama-cpp import'],
  ['getLlamaMs', 'backend'],
  ['checkMs', 'file checks'],
  ['loadModelMs', 'weights'],
  ['createContextMs', 'context'],
  ['restoreMs', 'state restore'],
] as const;

function ms(value: number | null): string {
  return value === null ? 'none' : `${Math.round(value)} ms`;
}

export function formatWakeBreakdown(b: WakeBreakdown): string {
  const parts = fields.map(([key, label]) => `${label} ${ms(b[key])}`);
  return `${prefix} ${parts.join(', ')} (${hostWords[b.host]}).`;
}

/** The breakdown in a log line; null when the line is not one. */
export function parseWakeBreakdown(line: string): WakeBreakdown | null {
  const at = line.indexOf(prefix);
  if (at < 0) return null;
  const text = line.slice(at + prefix.length);
  const out: Partial<Record<(typeof fields)[number][0], number | null>> = {};
  for (const [key, label] of fields) {
    const match = new RegExp(`${label} (none|\\d+ ms)`).exec(text);
    if (!match) return null;
    out[key] = match[1] === 'none' ? null : Number(match[1]!.slice(0, -3));
  }
  const host = (Object.keys(hostWords) as Array<WakeBreakdown['host']>).find((k) => text.includes(`(${hostWords[k]})`));
  if (host === undefined || out.loadModelMs == null || out.createContextMs == null) return null;
  return {
    processStartMs: out.processStartMs ?? null,
    importMs: out.importMs ?? null,
    getLlamaMs: out.getLlamaMs ?? null,
    checkMs: out.checkMs ?? null,
    loadModelMs: out.loadModelMs,
    createContextMs: out.createContextMs,
    restoreMs: out.restoreMs ?? null,
    host,
  };
}
