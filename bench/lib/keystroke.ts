// One keystroke with its completion, as an editor with debounce 0 sends it, and what the server
// says it cost: the last completion's token figures from the status.
import type { TokenFigures } from '../../server/src/shared/protocol';
import type { EditorBuffer } from './editorBuffer';
import { complete, type TestServer } from './lsp';
import { cpuMs, hostPid } from './procCpu';

/** Keys to type: each differs from the shown completion's first character, so the server's cache never answers. */
const pool = 'qzjxkvwQZJXKVW';

export interface Keystroke {
  /** From the completion request to its answer, at the client. */
  ms: number;
  /** The model ran (not the server's cache, not dropped). */
  generated: boolean;
  /** The server's lastCompletion after this keystroke; null when the model did not run. */
  figures: TokenFigures | null;
  /** CPU time the model host spent on it (Linux); null when it could not be read (no host yet, as in a deep sleep). */
  hostCpuMs: number | null;
  /** What the editor shows now; the next key avoids its first character. */
  shown: string | null;
}

export function nextKey(shown: string | null): string {
  return [...pool].find((c) => c !== shown?.[0]) ?? pool[0];
}

/** The completion at the buffer's cursor, without typing (a document's first request). */
export async function completeHere(server: TestServer, buffer: EditorBuffer): Promise<Keystroke> {
  const before = (await server.status()).completions.generated;
  const pid = hostPid(server.process.pid);
  const cpuBefore = cpuMs(pid);
  const r = await complete(server, buffer.uri, buffer.position);
  const cpuAfter = cpuMs(pid);
  const status = await server.status();
  const generated = status.completions.generated > before;
  const hostCpuMs = cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore;
  return { ms: r.ms, generated, figures: generated ? status.lastCompletion : null, hostCpuMs, shown: r.text };
}

/** Types one key that the shown completion does not predict, then asks for the completion. */
export function keystroke(server: TestServer, buffer: EditorBuffer, shown: string | null): Promise<Keystroke> {
  buffer.type(nextKey(shown));
  return completeHere(server, buffer);
}
