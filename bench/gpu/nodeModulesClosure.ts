// Prints (one per line, relative to the repository) the node_modules folders that the given
// packages need at run time: each package and, recursively, its installed dependencies. The GPU
// run carries only these, since all of node_modules is far over one device transfer.
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(__dirname, '../..');

interface PackageJson {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

/** Where Node would find `name` when required from `fromDir`: the nearest node_modules up the tree. */
function resolvePackage(name: string, fromDir: string): string | null {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (existsSync(path.join(candidate, 'package.json'))) return candidate;
    if (dir === root || dir === path.dirname(dir)) return null;
  }
}

export function closure(roots: readonly string[], skip: (name: string) => boolean): string[] {
  const seen = new Set<string>();
  const visit = (name: string, fromDir: string, required: boolean): void => {
    if (skip(name)) return;
    const dir = resolvePackage(name, fromDir);
    if (!dir) {
      if (required) throw new Error(`${name} is needed but not installed (from ${fromDir}).`);
      return;
    }
    if (seen.has(dir)) return;
    seen.add(dir);
    const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as PackageJson;
    for (const dep of Object.keys(pkg.dependencies ?? {})) visit(dep, dir, true);
    for (const dep of Object.keys(pkg.optionalDependencies ?? {})) visit(dep, dir, false);
    for (const dep of Object.keys(pkg.peerDependencies ?? {})) visit(dep, dir, false);
  };
  for (const name of roots) visit(name, root, true);
  return [...seen].map((d) => path.relative(root, d)).sort();
}

if (require.main === module) {
  // Only the CUDA build of node-llama-cpp: every other platform's binaries stay behind.
  const skip = (name: string): boolean => name.startsWith('@node-llama-cpp/') && name !== '@node-llama-cpp/linux-x64-cuda';
  const roots = process.argv.slice(2);
  process.stdout.write(`${closure(roots, skip).join('\n')}\n`);
}
