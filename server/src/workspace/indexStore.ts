// The index kept in the extension's storage (`<storageDir>/index/`, private to the user: 0700
// folder, 0600 file), one file per set of workspace folders, so that a restart reads it back
// instead of the workspace: a file whose mtime and size still match keeps its chunks unread.
// One file, two lines (the table of files and chunks, then MiniSearch's JSON), written to a
// temporary name and renamed, so a crash mid-write leaves the old index whole.
import { createHash } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import * as path from 'node:path';

/** Bumped whenever chunking, terms or this format change: an older file is then ignored. */
export const indexFormatVersion = 2;

/** One indexed file: what it was when read, and its chunks (id, first line, last line). */
export interface StoredFile {
  path: string;
  mtimeMs: number;
  size: number;
  chunks: Array<[id: number, startLine: number, endLine: number]>;
}

export interface StoredIndex {
  files: StoredFile[];
  nextId: number;
  /** MiniSearch's own JSON. */
  search: string;
}

interface Header {
  version: number;
  roots: string[];
  nextId: number;
  files: Array<[path: string, mtimeMs: number, size: number, chunks: number[]]>;
}

/** The index file for these workspace folders. */
export function indexFileFor(storageDir: string, roots: readonly string[]): string {
  const key = createHash('sha256')
    .update(JSON.stringify([...roots].sort()))
    .digest('hex')
    .slice(0, 16);
  return path.join(storageDir, 'index', `${key}.json`);
}

/** The saved index, or null when there is none or it does not belong to this version and these roots. */
export async function loadIndex(file: string, roots: readonly string[]): Promise<StoredIndex | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return null;
  }
  const newline = text.indexOf('\n');
  if (newline < 0) return null;
  try {
    const header = JSON.parse(text.slice(0, newline)) as Header;
    if (header.version !== indexFormatVersion || JSON.stringify(header.roots) !== JSON.stringify(roots)) return null;
    const files: StoredFile[] = header.files.map(([p, mtimeMs, size, flat]) => {
      const chunks: StoredFile['chunks'] = [];
      for (let i = 0; i + 2 < flat.length; i += 3) chunks.push([flat[i], flat[i + 1], flat[i + 2]]);
      return { path: p, mtimeMs, size, chunks };
    });
    return { files, nextId: header.nextId, search: text.slice(newline + 1) };
  } catch {
    return null;
  }
}

export async function saveIndex(file: string, roots: readonly string[], index: StoredIndex): Promise<number> {
  const header: Header = {
    version: indexFormatVersion,
    roots: [...roots],
    nextId: index.nextId,
    files: index.files.map((f) => [f.path, f.mtimeMs, f.size, f.chunks.flat()]),
  };
  const text = `${JSON.stringify(header)}\n${index.search}`;
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, text, { mode: 0o600 });
  await chmod(temporary, 0o600);
  await rename(temporary, file);
  return Buffer.byteLength(text);
}
