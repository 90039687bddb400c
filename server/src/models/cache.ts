// The download cache: GGUF files in storageDir/models, plus index.json recording where each came
// from, so a cached hf: URI or URL resolves to its file without touching the network.
// An entry is written only after the file passed the GGUF check (and matched the sha256 its hub
// published, where it published one), so the index never names a partial or broken file.
import { readdir, readFile, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { CachedModel } from '../shared/protocol';
import { checkGgufFile } from './gguf';
import { errorMessage } from '../shared/errors';
import { modelSource } from '../shared/modelRef';
import { removeStatesOf, stateDirOf } from '../shared/stateFiles';

export interface CacheEntry {
  /** The hf: URI or URL, as modelSource (shared/modelRef.ts) spells it. */
  source: string;
  /** File name inside the models folder. */
  file: string;
  sizeBytes: number;
  downloadedAt: string;
  /** The content's sha256 (lower-case hex), computed once after the download; absent in older indexes. */
  sha256?: string;
  /** Who published the sha256 the content matched: the hub, the URL's #sha256= fragment, or nobody (null). */
  verifiedBy?: 'hub' | 'url' | null;
}

interface CacheIndex {
  version: 1;
  entries: CacheEntry[];
}

const indexName = 'index.json';
/** ipull's suffix for a download in progress (data plus resume state). */
export const partialSuffix = '.ipull';

export const modelsDirOf = (storageDir: string): string => path.join(storageDir, 'models');

function isEntry(v: unknown): v is CacheEntry {
  if (typeof v !== 'object' || v === null) return false;
  const e = v as Record<string, unknown>;
  return (
    typeof e.source === 'string' &&
    typeof e.file === 'string' &&
    typeof e.sizeBytes === 'number' &&
    typeof e.downloadedAt === 'string' &&
    (e.sha256 === undefined || (typeof e.sha256 === 'string' && /^[0-9a-f]{64}$/.test(e.sha256))) &&
    (e.verifiedBy === undefined || e.verifiedBy === null || e.verifiedBy === 'hub' || e.verifiedBy === 'url') &&
    path.basename(e.file) === e.file
  );
}

/** The index; a missing or unreadable one counts as empty (the files themselves stay listed). */
export async function readIndex(modelsDir: string): Promise<CacheEntry[]> {
  try {
    const raw: unknown = JSON.parse(await readFile(path.join(modelsDir, indexName), 'utf8'));
    const entries = (raw as { entries?: unknown }).entries;
    return Array.isArray(entries) ? entries.filter(isEntry) : [];
  } catch {
    return [];
  }
}

async function writeIndex(modelsDir: string, entries: CacheEntry[]): Promise<void> {
  const index: CacheIndex = { version: 1, entries };
  const tmp = path.join(modelsDir, `${indexName}.${process.pid}.tmp`);
  await writeFile(tmp, `${JSON.stringify(index, null, 2)}\n`);
  await rename(tmp, path.join(modelsDir, indexName));
}

/** Records a checked download; replaces any older entry for the same source or file. */
export async function recordDownload(modelsDir: string, entry: Omit<CacheEntry, 'downloadedAt'>): Promise<void> {
  const source = modelSource(entry.source);
  const kept = (await readIndex(modelsDir)).filter((e) => e.source !== source && e.file !== entry.file);
  await writeIndex(modelsDir, [...kept, { ...entry, source, downloadedAt: new Date().toISOString() }]);
}

/**
 * The cached file for `source`, or null. Reads only local files: the entry, the file's size and
 * its GGUF header. A file that changed size or fails the check is not trusted.
 */
export async function findCached(modelsDir: string, source: string): Promise<{ path: string; sizeBytes: number } | null> {
  const key = modelSource(source);
  const entry = (await readIndex(modelsDir)).find((e) => e.source === key);
  if (!entry) return null;
  const filePath = path.join(modelsDir, entry.file);
  try {
    if ((await stat(filePath)).size !== entry.sizeBytes) return null;
  } catch {
    return null;
  }
  const check = await checkGgufFile(filePath);
  return check.ok ? { path: filePath, sizeBytes: entry.sizeBytes } : null;
}

/** The GGUF files in the cache, with the source each came from when the index knows it. */
export async function listModels(storageDir: string): Promise<CachedModel[]> {
  const modelsDir = modelsDirOf(storageDir);
  let names: string[];
  try {
    names = await readdir(modelsDir);
  } catch {
    return [];
  }
  const entries = await readIndex(modelsDir);
  const models: CachedModel[] = [];
  for (const name of names.filter((n) => n.toLowerCase().endsWith('.gguf')).sort()) {
    const filePath = path.join(modelsDir, name);
    try {
      const s = await stat(filePath);
      if (!s.isFile()) continue;
      models.push({ path: filePath, name, sizeBytes: s.size, source: entries.find((e) => e.file === name)?.source ?? null });
    } catch {
      // Deleted while listing.
    }
  }
  return models;
}

async function samePath(a: string, b: string): Promise<boolean> {
  const real = async (p: string): Promise<string> => realpath(p).catch(() => path.resolve(p));
  return (await real(a)) === (await real(b));
}

/** Deletes a cached model, its partial download and its index entry. Throws a sentence on refusal. */
export async function deleteModel(storageDir: string, filePath: string, inUsePaths: readonly string[]): Promise<void> {
  const modelsDir = modelsDirOf(storageDir);
  const target = path.resolve(filePath);
  if (path.dirname(target) !== path.resolve(modelsDir) || !target.toLowerCase().endsWith('.gguf')) {
    throw new Error(`Only models in the download cache (${modelsDir}) can be deleted here, not ${filePath}.`);
  }
  for (const inUse of inUsePaths) {
    if (await samePath(target, inUse)) {
      throw new Error(`${path.basename(target)} is a model in use; choose another model before deleting it.`);
    }
  }
  try {
    await rm(target);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new Error(`${path.basename(target)} could not be deleted (${errorMessage(err)}).`, { cause: err });
    }
  }
  await rm(target + partialSuffix, { force: true });
  // What the model had read before a sleep is no use without it.
  await removeStatesOf(stateDirOf(storageDir), target);
  const name = path.basename(target);
  const entries = await readIndex(modelsDir);
  if (entries.some((e) => e.file === name))
    await writeIndex(
      modelsDir,
      entries.filter((e) => e.file !== name),
    );
}
