// Where a turn's parts come from besides the question: the client's mentions, checked again
// against `localLlm.context.exclude` (the client refuses first; a part from an excluded file never
// reaches the prompt whatever the client did), and @codebase's chunks from the workspace index.
import { fileURLToPath } from 'node:url';
import type { ChatPart } from '../shared/protocol';
import { ExcludeGlobs } from '../workspace/excludeGlobs';
import type { RetrievedChunk } from '../workspace/workspaceIndex';

/** How many chunks @codebase asks the index for; the budget keeps those that fit. */
export const retrievedChunks = 8;

/** What the server needs of the workspace index. */
export interface CodebaseSource {
  readonly ready: boolean;
  status(): { files: number } | null;
  retrieve(question: string, limit: number): Promise<RetrievedChunk[]>;
  relativeOf(file: string): { relativePath: string } | null;
}

/** The path the exclude globs see: workspace-relative inside a folder, else the absolute path. */
function globPathOf(uri: string, workspace: CodebaseSource | null): string | null {
  if (!uri.startsWith('file:')) return null;
  let file: string;
  try {
    file = fileURLToPath(uri);
  } catch {
    return null;
  }
  return workspace?.relativeOf(file)?.relativePath ?? file;
}

/** Splits the mentions into those allowed and those whose file matches the exclude list, with a note for each refused one. */
export function refuseExcluded(
  parts: readonly ChatPart[],
  exclude: readonly string[],
  workspace: CodebaseSource | null,
): { allowed: ChatPart[]; refused: ChatPart[]; notes: string[] } {
  const globs = new ExcludeGlobs(exclude);
  const allowed: ChatPart[] = [];
  const refused: ChatPart[] = [];
  for (const part of parts) {
    const where = part.source ? globPathOf(part.source.uri, workspace) : null;
    if (where !== null && globs.excludes(where)) refused.push(part);
    else allowed.push(part);
  }
  return {
    allowed,
    refused,
    notes: refused.map((p) => `${p.label} left out: it matches localLlm.context.exclude`),
  };
}

/** @codebase: the index's best chunks for the question, less those a mention already carries. */
export async function retrieveForQuestion(
  workspace: CodebaseSource | null,
  question: string,
  mentions: readonly ChatPart[],
): Promise<{ parts: ChatPart[]; notes: string[] }> {
  if (!workspace) return { parts: [], notes: ['@codebase needs a workspace folder; none is open, so nothing was retrieved'] };
  const notes: string[] = [];
  if (!workspace.ready) {
    const files = workspace.status()?.files ?? 0;
    notes.push(`The workspace index is still being built (${files} files so far); @codebase searched what it has`);
  }
  const chunks = await workspace.retrieve(question, retrievedChunks);
  const parts = chunks
    .filter((c) => !mentions.some((m) => covers(m, c)))
    .map((c): ChatPart => ({
      kind: 'codebase',
      label: `${c.label}:${c.startLine + 1}-${c.endLine + 1}`,
      source: { uri: c.uri, startLine: c.startLine, endLine: c.endLine },
      text: c.text,
    }));
  if (chunks.length === 0) notes.push('@codebase found nothing in the workspace that matches the question');
  return { parts, notes };
}

/** True when a mention already holds the chunk's lines (the whole file, or a range around them). */
function covers(mention: ChatPart, chunk: RetrievedChunk): boolean {
  const s = mention.source;
  if (!s || s.uri !== chunk.uri) return false;
  if (s.startLine === undefined || s.endLine === undefined) return mention.kind === 'file';
  return s.startLine <= chunk.startLine && s.endLine >= chunk.endLine;
}
