// The names of the download cache's files are the cache's own. A server's Content-Disposition
// must never choose them: "index.json" would overwrite the index, ".download.lock" would be
// removed as the lock, "x.gguf.ipull" would be taken for another download's partial file.

import { createHash } from 'node:crypto';

const maxNameChars = 200;

/**
 * The cache file name of a model URL: its last path segment, reduced to safe characters, and a
 * short hash of the whole URL, so that two URLs ending in the same name never share a file.
 */
export function urlCacheFileName(url: URL): string {
  const segment = url.pathname.split('/').pop() ?? '';
  let decoded: string;
  try {
    decoded = decodeURIComponent(segment);
  } catch {
    decoded = segment;
  }
  const safe = decoded
    .replace(/[^\w.-]+/g, '_')
    .replace(/^[.-]+/, '')
    .replace(/\.gguf$/i, '');
  const stem = safe.slice(0, maxNameChars).replace(/[.-]+$/, '');
  const bare = new URL(url.href);
  bare.hash = '';
  const tag = createHash('sha256').update(bare.href).digest('hex').slice(0, 8);
  return `${stem === '' ? 'model' : stem}-${tag}.gguf`;
}

/**
 * True for a name a model may have in the cache: a plain file name (no folder, not hidden)
 * ending in .gguf, so never the index, the lock or a partial file.
 */
export function isModelFileName(name: string): boolean {
  return (
    name.length > '.gguf'.length &&
    name.length <= 255 &&
    !/[/\\\0]/.test(name) &&
    !name.startsWith('.') &&
    name.toLowerCase().endsWith('.gguf')
  );
}
