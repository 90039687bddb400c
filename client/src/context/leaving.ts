// What a file gives when the user leaves it: the region edited during the visit, and the chunk
// around where the cursor rested, unless the two are mostly the same lines or the visit was a
// glance. Pure (no `vscode`): editorWatch.ts records the visit and hands it in.
import type { ContextChunk } from '../../../server/src/shared/protocol';
import { chunkOf, mostlyOverlap, spanAround, spanOver, type ChunkOrigin, type LineSource } from './chunks';

/** A file glanced at for less than this (flicking through tabs) gives no chunk unless edited. */
export const dwellMs = 1000;

export interface EditedLines {
  first: number;
  last: number;
  /** The line of the most recent edit. */
  latest: number;
}

export interface Visit {
  /** When it became the active editor (ms, any clock `now` shares). */
  since: number;
  cursorLine: number;
  edits: EditedLines | null;
}

/** Widens the edited lines by one change that starts at `line` and spans `lines` lines of new text. */
export function noteEdit(edits: EditedLines | null, line: number, lines: number): EditedLines {
  const last = line + Math.max(1, lines) - 1;
  return edits
    ? { first: Math.min(edits.first, line), last: Math.max(edits.last, last), latest: last }
    : { first: line, last, latest: last };
}

export function chunksOnLeaving(visit: Visit, now: number, origin: ChunkOrigin, source: LineSource): ContextChunk[] {
  const around = spanAround(visit.cursorLine, source.lineCount);
  const chunks: ContextChunk[] = [];
  if (visit.edits) {
    const edited = spanOver(visit.edits.first, visit.edits.last, visit.edits.latest, source.lineCount);
    const chunk = chunkOf('edit', origin, source, edited);
    if (chunk) chunks.push(chunk);
    // The cursor usually rests where it edited; one chunk says it all then.
    if (mostlyOverlap(edited, around)) return chunks;
  } else if (now - visit.since < dwellMs) {
    return chunks;
  }
  const chunk = chunkOf('file', origin, source, around);
  if (chunk) chunks.push(chunk);
  return chunks;
}
