// Which files of a workspace folder the index may read: a walk that never enters what git ignores,
// .git, node_modules and the like, nor a folder or file of `localLlm.context.exclude`, and never
// follows a symbolic link (so nothing outside the folder is read, and no link loop is walked).
// It only stats; reading is the index's.
import { opendir, stat } from 'node:fs/promises';
import * as path from 'node:path';
import type { ExcludeGlobs } from './excludeGlobs';
import { ignoredBy, readIgnoreFile, rootLayers, type IgnoreLayer } from './gitIgnore';

/** Folders never worth indexing, wherever they are, whatever .gitignore says. */
export const skippedFolders = new Set(['.git', '.hg', '.svn', 'node_modules', '.venv', '__pycache__', '.cache']);

/** Files larger than this are not indexed (generated, data, bundles). */
export const maxFileBytes = 1024 * 1024;

// Known binaries are left out before being read; other binaries are found by a NUL byte.
const binaryExtensions = new Set(
  'png jpg jpeg gif bmp ico webp tiff psd pdf zip gz tgz bz2 xz 7z rar jar war class exe dll so dylib o a lib wasm woff woff2 ttf otf eot mp3 mp4 m4a wav ogg webm mov avi mkv gguf bin dat db sqlite pyc node'.split(
    ' ',
  ),
);

export interface ScannedFile {
  /** Absolute path. */
  path: string;
  /** Relative to its workspace folder, forward slashes. */
  relativePath: string;
  mtimeMs: number;
  size: number;
}

export interface ScanOptions {
  exclude: ExcludeGlobs;
  /** Called now and then so that a long walk gives the event loop back; resolves to false to stop. */
  pause(): Promise<boolean>;
}

/** True when the name alone rules a file out (a known binary type). */
export function skippedByName(name: string): boolean {
  const dot = name.lastIndexOf('.');
  return dot >= 0 && binaryExtensions.has(name.slice(dot + 1).toLowerCase());
}

/** The files of `root` the index may read, folder by folder. */
export async function* scanFolder(root: string, options: ScanOptions): AsyncGenerator<ScannedFile> {
  const pending: Array<{ rel: string; layers: IgnoreLayer[] }> = [{ rel: '', layers: await rootLayers(root) }];
  while (pending.length > 0) {
    if (!(await options.pause())) return;
    const { rel, layers: parentLayers } = pending.pop()!;
    const dir = rel === '' ? root : path.join(root, rel);
    let layers = parentLayers;
    if (rel !== '') {
      const own = await readIgnoreFile(path.join(dir, '.gitignore'));
      if (own) layers = [...parentLayers, { base: rel, rules: own }];
    }
    let entries;
    try {
      entries = await opendir(dir);
    } catch {
      continue; // gone or unreadable: nothing to index there
    }
    const folders: string[] = [];
    try {
      for await (const entry of entries) {
        const childRel = rel === '' ? entry.name : `${rel}/${entry.name}`;
        if (entry.isDirectory()) {
          if (skippedFolders.has(entry.name) || ignoredBy(layers, `${childRel}/`) || options.exclude.excludes(childRel)) continue;
          folders.push(childRel);
        } else if (entry.isFile()) {
          if (skippedByName(entry.name) || ignoredBy(layers, childRel) || options.exclude.excludes(childRel)) continue;
          const file = path.join(root, childRel);
          let info;
          try {
            info = await stat(file);
          } catch {
            continue;
          }
          if (info.size > maxFileBytes) continue;
          yield { path: file, relativePath: childRel, mtimeMs: info.mtimeMs, size: info.size };
        }
      }
    } catch {
      // A folder removed while it was read: what was seen stands.
    }
    // Sorted in reverse so that the stack walks each folder's children in name order.
    folders.sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
    for (const f of folders) pending.push({ rel: f, layers });
  }
}
