// The workspace index for `@codebase`: the files of the workspace folders chunked (chunking.ts)
// and searched with BM25 (chunkSearch.ts), built in the background after start, kept current from
// file events or a slow rescan, and saved in the extension's storage (indexStore.ts) so that a
// restart reads only the files that changed. It never touches the model: it does not go through
// the gate, so indexing neither wakes a sleeping model nor delays its sleep. All its work runs one
// job at a time and gives the event loop back every few milliseconds, so completions never wait.
import { readFile, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { WorkspaceIndexStatus } from '../shared/protocol';
import { ChunkSearch } from './chunkSearch';
import { chunkLines, rangeText, splitLines } from './chunking';
import { ExcludeGlobs } from './excludeGlobs';
import { declaredNames } from './terms';
import { ignoredBy, layersFor } from './gitIgnore';
import { indexFileFor, loadIndex, saveIndex, type StoredFile } from './indexStore';
import { maxFileBytes, scanFolder, skippedByName, skippedFolders, type ScannedFile } from './scan';

/** One retrieved chunk, its text read from the file as it is now. */
export interface RetrievedChunk {
  uri: string;
  /** Workspace-relative path (prefixed by the folder's name when there are several folders). */
  label: string;
  startLine: number;
  endLine: number;
  text: string;
  score: number;
}

export interface FileEvent {
  /** Absolute path. */
  path: string;
  deleted: boolean;
}

export interface WorkspaceIndexOptions {
  /** Absolute paths of the workspace folders. */
  roots: readonly string[];
  /** The extension's storage; null keeps nothing across a restart. */
  storageDir: string | null;
  /** `localLlm.context.exclude` as of now. */
  exclude(): readonly string[];
  log(line: string): void;
  /** The status changed (state, or a step of progress). */
  onStatus(): void;
}

interface FileEntry {
  mtimeMs: number;
  size: number;
  ids: number[];
}

interface ChunkRef {
  file: string;
  startLine: number;
  endLine: number;
}

/**
 * Beyond this many files a workspace is indexed only in part (and the log says so), which bounds
 * the memory: about 2.2 KB of heap per small file (50,000 files kept 110 MB; the server's RSS went
 * from 56 to about 400 MiB while building, bench/indexMemory.ts).
 */
export const maxIndexedFiles = 100_000;
/** Work runs in slices of this many milliseconds between returns to the event loop. */
const sliceMs = 8;
/** Progress is reported at most this often while indexing. */
const progressEveryMs = 500;
/** More file events than this at once are answered by a walk of the folders instead. */
const maxEventsOneByOne = 200;
/** A change is saved this long after the last one. */
const saveDelayMs = 5_000;

export class WorkspaceIndex {
  private search = ChunkSearch.empty();
  private readonly files = new Map<string, FileEntry>();
  private readonly chunks = new Map<number, ChunkRef>();
  private nextId = 1;
  /** Files with at least one chunk (binaries and empty files are kept, so as not to be read again, but not counted). */
  private indexedFiles = 0;
  private state: 'idle' | 'indexing' | 'ready' = 'idle';
  /** Files seen by the scan under way. */
  private seen = 0;
  private dirty = false;
  private stopped = false;
  private rescanQueued = false;
  private queue: Promise<void> = Promise.resolve();
  private lastYield = Date.now();
  private lastProgress = 0;
  private saveTimer: NodeJS.Timeout | null = null;
  /** The workspace folders as of now: they change when the editor adds or removes one. */
  private roots: readonly string[];
  /** Where the index of the current folders is saved (one file per set of folders). */
  private indexFile: string | null;
  /** Files read (and chunked) since the server started: a restart over a saved index reads only what changed. */
  filesRead = 0;

  constructor(private readonly options: WorkspaceIndexOptions) {
    this.roots = [...options.roots];
    this.indexFile = this.indexFileOf(this.roots);
  }

  /** "indexing N files" while it builds; null when there is no workspace folder. */
  status(): WorkspaceIndexStatus | null {
    if (this.roots.length === 0) return null;
    if (this.state === 'ready') return { state: 'ready', files: this.indexedFiles, chunks: this.search.size };
    return { state: 'indexing', files: this.seen, chunks: this.search.size };
  }

  get ready(): boolean {
    return this.state === 'ready';
  }

  /** Reads the saved index back, then brings it up to date with the folders, in the background. */
  start(): void {
    if (this.roots.length === 0) return;
    this.enqueue(async () => {
      await this.load();
      await this.scan();
    });
  }

  /** Walks the folders again (settings changed, a .gitignore changed, or the periodic rescan). */
  rescan(): void {
    if (this.rescanQueued || this.roots.length === 0) return;
    this.rescanQueued = true;
    this.enqueue(async () => {
      this.rescanQueued = false;
      await this.scan();
    });
  }

  /**
   * The workspace folders changed (one added or removed while running): one walk of the new set
   * reads an added folder's files, forgets a removed folder's, and only stats the others. The
   * index is then saved as that set's, so a restart with the same folders reads it back.
   */
  setRoots(roots: readonly string[]): void {
    const next = [...new Set(roots.map((r) => path.resolve(r)))];
    this.enqueue(async () => {
      if (same(next, this.roots)) return;
      const removed = this.roots.filter((r) => !next.includes(r));
      this.roots = next;
      this.indexFile = this.indexFileOf(next);
      this.dirty = true;
      this.options.log(
        `Workspace index: folders now ${next.length === 0 ? 'none' : next.join(', ')}${removed.length > 0 ? ` (removed ${removed.join(', ')})` : ''}.`,
      );
      if (next.length === 0) {
        for (const file of [...this.files.keys()]) this.forget(file);
        this.state = 'idle';
        this.options.onStatus();
        return;
      }
      await this.scan();
    });
  }

  /** Files created, changed or deleted (from the client's file watcher). */
  changed(events: readonly FileEvent[]): void {
    if (events.length === 0) return;
    this.enqueue(() => this.update(events));
  }

  /** The chunks that best answer a question, best first, at most `limit`. */
  async retrieve(question: string, limit: number): Promise<RetrievedChunk[]> {
    const exclude = new ExcludeGlobs(this.options.exclude());
    const results: RetrievedChunk[] = [];
    const stale: FileEvent[] = [];
    const texts = new Map<string, string[] | null>();
    for (const hit of this.search.query(question, limit * 3)) {
      if (results.length >= limit) break;
      const ref = this.chunks.get(hit.id);
      const entry = ref && this.files.get(ref.file);
      const where = ref && this.relativeOf(ref.file);
      if (!ref || !entry || !where || exclude.excludes(where.relativePath)) continue;
      if (!texts.has(ref.file)) texts.set(ref.file, await this.currentLines(ref.file, entry));
      const lines = texts.get(ref.file);
      if (!lines) {
        // Changed since it was indexed: its lines may have moved; index it again for next time.
        if (!stale.some((s) => s.path === ref.file)) stale.push({ path: ref.file, deleted: false });
        continue;
      }
      results.push({
        uri: pathToFileURL(ref.file).href,
        label: where.label,
        startLine: ref.startLine,
        endLine: ref.endLine,
        text: rangeText(lines, ref),
        score: hit.score,
      });
    }
    this.changed(stale);
    return results;
  }

  /** Stops what runs and saves what changed; bounded by the slice it is in. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = null;
    await this.queue;
    if (this.dirty) await this.save();
  }

  /** The path relative to its workspace folder, and the label the prompt shows. */
  relativeOf(file: string): { root: string; relativePath: string; label: string } | null {
    for (const root of this.roots) {
      const rel = path.relative(root, file);
      if (rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel)) {
        const relativePath = rel.split(path.sep).join('/');
        const label = this.roots.length > 1 ? `${path.basename(root)}/${relativePath}` : relativePath;
        return { root, relativePath, label };
      }
    }
    return null;
  }

  private indexFileOf(roots: readonly string[]): string | null {
    return this.options.storageDir === null ? null : indexFileFor(this.options.storageDir, roots);
  }

  private enqueue(job: () => Promise<void>): void {
    this.queue = this.queue.then(async () => {
      if (this.stopped) return;
      try {
        await job();
      } catch (err) {
        this.options.log(`Workspace index: ${err instanceof Error ? err.message : String(err)}`);
      }
    });
  }

  /** Gives the event loop back once a slice is used up; false once stopped. */
  private readonly pause = async (): Promise<boolean> => {
    if (Date.now() - this.lastYield >= sliceMs) {
      await new Promise((resolve) => setImmediate(resolve));
      this.lastYield = Date.now();
    }
    return !this.stopped;
  };

  private async load(): Promise<void> {
    if (!this.indexFile) return;
    const stored = await loadIndex(this.indexFile, this.roots);
    if (!stored) return;
    try {
      this.search = await ChunkSearch.fromJSON(stored.search);
    } catch {
      this.options.log('Workspace index: the saved index could not be read; it is built again.');
      return;
    }
    for (const file of stored.files) {
      this.files.set(file.path, { mtimeMs: file.mtimeMs, size: file.size, ids: file.chunks.map(([id]) => id) });
      if (file.chunks.length > 0) this.indexedFiles++;
      for (const [id, startLine, endLine] of file.chunks) this.chunks.set(id, { file: file.path, startLine, endLine });
    }
    this.nextId = stored.nextId;
    this.options.log(`Workspace index: ${this.indexedFiles} files and ${this.search.size} chunks read back from the saved index.`);
  }

  private async scan(): Promise<void> {
    this.state = 'indexing';
    this.seen = 0;
    this.options.onStatus();
    const exclude = new ExcludeGlobs(this.options.exclude());
    const seenPaths = new Set<string>();
    const readBefore = this.filesRead;
    let capped = false;
    for (const root of this.roots) {
      for await (const file of scanFolder(root, { exclude, pause: this.pause })) {
        if (seenPaths.size >= maxIndexedFiles) {
          capped = true;
          break;
        }
        seenPaths.add(file.path);
        this.seen++;
        const entry = this.files.get(file.path);
        if (entry && entry.mtimeMs === file.mtimeMs && entry.size === file.size) continue;
        if (entry) this.forget(file.path);
        await this.read(file);
        this.progress();
      }
    }
    if (this.stopped) return;
    for (const file of [...this.files.keys()]) if (!seenPaths.has(file)) this.forget(file);
    this.state = 'ready';
    this.options.onStatus();
    const read = this.filesRead - readBefore;
    this.options.log(
      `Workspace index ready: ${this.indexedFiles} files, ${this.search.size} chunks; ${read} file${read === 1 ? '' : 's'} read, ${this.files.size - read} unchanged.` +
        (capped ? ` Only the first ${maxIndexedFiles} files are indexed.` : ''),
    );
    if (this.dirty) await this.save();
  }

  private async update(events: readonly FileEvent[]): Promise<void> {
    // A branch switch or an install sends thousands at once: one walk that stats is cheaper than
    // checking each against its .gitignore files.
    if (events.length > maxEventsOneByOne) {
      this.rescan();
      return;
    }
    const exclude = new ExcludeGlobs(this.options.exclude());
    for (const event of events) {
      if (!(await this.pause())) return;
      if (path.basename(event.path) === '.gitignore') {
        this.rescan();
        continue;
      }
      const where = this.relativeOf(event.path);
      if (!where) continue;
      if (event.deleted) {
        // A deleted folder takes its files with it.
        const below = event.path + path.sep;
        for (const file of [...this.files.keys()]) if (file === event.path || file.startsWith(below)) this.forget(file);
        continue;
      }
      let info;
      try {
        info = await stat(event.path);
      } catch {
        this.forget(event.path);
        continue;
      }
      if (info.isDirectory()) {
        this.rescan();
        continue;
      }
      if (!info.isFile() || !(await this.indexable(where.root, where.relativePath, exclude)) || info.size > maxFileBytes) {
        this.forget(event.path);
        continue;
      }
      const entry = this.files.get(event.path);
      if (entry && entry.mtimeMs === info.mtimeMs && entry.size === info.size) continue;
      this.forget(event.path);
      await this.read({ path: event.path, relativePath: where.relativePath, mtimeMs: info.mtimeMs, size: info.size });
    }
    this.options.onStatus();
    this.scheduleSave();
  }

  /** The walk's rules for one path: not in a skipped, ignored or excluded folder, not a known binary. */
  private async indexable(root: string, relativePath: string, exclude: ExcludeGlobs): Promise<boolean> {
    const parts = relativePath.split('/');
    if (parts.slice(0, -1).some((p) => skippedFolders.has(p)) || skippedByName(parts[parts.length - 1])) return false;
    if (exclude.excludes(relativePath)) return false;
    const layers = await layersFor(root, relativePath);
    for (let i = 1; i < parts.length; i++) if (ignoredBy(layers, `${parts.slice(0, i).join('/')}/`)) return false;
    return !ignoredBy(layers, relativePath);
  }

  /** Reads one file and indexes its chunks; a binary (a NUL byte) is recorded with none. */
  private async read(file: ScannedFile): Promise<void> {
    let bytes: Buffer;
    try {
      bytes = await readFile(file.path);
    } catch {
      return;
    }
    this.filesRead++;
    const ids: number[] = [];
    if (!bytes.includes(0)) {
      const lines = splitLines(bytes.toString('utf8'));
      const where = this.relativeOf(file.path);
      const pathWords = where?.label ?? path.basename(file.path);
      for (const range of chunkLines(lines)) {
        const id = this.nextId++;
        const text = rangeText(lines, range);
        this.search.add({ id, path: pathWords, names: declaredNames(text), text });
        this.chunks.set(id, { file: file.path, startLine: range.startLine, endLine: range.endLine });
        ids.push(id);
      }
    }
    this.files.set(file.path, { mtimeMs: file.mtimeMs, size: file.size, ids });
    if (ids.length > 0) this.indexedFiles++;
    this.dirty = true;
  }

  private forget(file: string): void {
    const entry = this.files.get(file);
    if (!entry) return;
    this.search.remove(entry.ids);
    for (const id of entry.ids) this.chunks.delete(id);
    if (entry.ids.length > 0) this.indexedFiles--;
    this.files.delete(file);
    this.dirty = true;
  }

  /** The file's lines if it is still what was indexed; null when it changed or is gone. */
  private async currentLines(file: string, entry: FileEntry): Promise<string[] | null> {
    try {
      const info = await stat(file);
      if (info.mtimeMs !== entry.mtimeMs || info.size !== entry.size) return null;
      return splitLines(await readFile(file, 'utf8'));
    } catch {
      return null;
    }
  }

  private progress(): void {
    const now = Date.now();
    if (now - this.lastProgress < progressEveryMs) return;
    this.lastProgress = now;
    this.options.onStatus();
  }

  private scheduleSave(): void {
    if (!this.dirty || !this.indexFile || this.stopped) return;
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = setTimeout(() => {
      this.saveTimer = null;
      this.enqueue(() => this.save());
    }, saveDelayMs);
    this.saveTimer.unref();
  }

  private async save(): Promise<void> {
    if (!this.indexFile) return;
    const files: StoredFile[] = [];
    for (const [file, entry] of this.files) {
      files.push({
        path: file,
        mtimeMs: entry.mtimeMs,
        size: entry.size,
        chunks: entry.ids.map((id) => {
          const ref = this.chunks.get(id)!;
          return [id, ref.startLine, ref.endLine];
        }),
      });
    }
    this.dirty = false;
    try {
      const bytes = await saveIndex(this.indexFile, this.roots, { files, nextId: this.nextId, search: this.search.toJSON() });
      this.options.log(`Workspace index saved (${Math.round(bytes / 1024)} KB).`);
    } catch (err) {
      this.dirty = true;
      this.options.log(`Workspace index: could not be saved (${err instanceof Error ? err.message : String(err)}).`);
    }
  }
}

function same(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
