// What git ignores, from the .gitignore files of a workspace folder (each one applies below its
// own folder, as git reads them) and .git/info/exclude, matched with the `ignore` package (the
// gitignore rules as git documents them; used by eslint, prettier and globby).
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import ignore, { type Ignore } from 'ignore';

/** The rules of one folder's .gitignore; `base` is that folder, relative to the root ('' at the root). */
export interface IgnoreLayer {
  base: string;
  rules: Ignore;
}

/** Reads a rules file; null when there is none (or it cannot be read, which git treats the same way). */
export async function readIgnoreFile(file: string): Promise<Ignore | null> {
  try {
    const text = await readFile(file, 'utf8');
    return ignore({ allowRelativePaths: true }).add(text);
  } catch {
    return null;
  }
}

/** The layers for the root folder itself: its .git/info/exclude and its .gitignore. */
export async function rootLayers(root: string): Promise<IgnoreLayer[]> {
  const layers: IgnoreLayer[] = [];
  const info = await readIgnoreFile(path.join(root, '.git', 'info', 'exclude'));
  if (info) layers.push({ base: '', rules: info });
  const own = await readIgnoreFile(path.join(root, '.gitignore'));
  if (own) layers.push({ base: '', rules: own });
  return layers;
}

/** True when git would ignore `relativePath` (forward slashes; a folder with a trailing '/'). */
export function ignoredBy(layers: readonly IgnoreLayer[], relativePath: string): boolean {
  for (const layer of layers) {
    const below = layer.base === '' ? relativePath : relativePath.slice(layer.base.length + 1);
    if (below.length > 0 && layer.rules.ignores(below)) return true;
  }
  return false;
}

/** The layers that apply to one path: the root's, then each folder's on the way down to it. */
export async function layersFor(root: string, relativePath: string): Promise<IgnoreLayer[]> {
  const layers = await rootLayers(root);
  const folders = relativePath.split('/').slice(0, -1);
  for (let i = 1; i <= folders.length; i++) {
    const base = folders.slice(0, i).join('/');
    const rules = await readIgnoreFile(path.join(root, base, '.gitignore'));
    if (rules) layers.push({ base, rules });
  }
  return layers;
}
