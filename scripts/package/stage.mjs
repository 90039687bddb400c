// Builds one target's staging folder: what vsce packages (with --no-dependencies), so that only
// that target's native packages are in it, whatever this machine has installed.
//   stage/package.json, README.md, CHANGELOG.md, LICENSE, .vscodeignore, dist/, media/
//   stage/node_modules/  every production package from the lockfile that is plain JavaScript,
//                        copied from node_modules, plus the target's platform packages, unpacked
//                        from registry tarballs checked against the lockfile's integrity.
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { cachedTarball, extractPackage, registryIntegrity } from './tarball.mjs';

/** Top-level files and folders of the project that go into the stage (.vscodeignore trims them). */
export const shipped = ['package.json', 'README.md', 'CHANGELOG.md', 'LICENSE', '.vscodeignore', 'dist', 'media'];

const isPlatformPackage = (entry) => Boolean(entry.os || entry.cpu);

/**
 * Copies the production packages that are the same on every platform. Packages that
 * .vscodeignore drops whole (a `node_modules/<name>/**` line) are not copied at all.
 */
function stageCommonPackages({ root, stage, lock, ignoreLines }) {
  for (const [key, entry] of Object.entries(lock.packages)) {
    if (!key || entry.dev || entry.link || isPlatformPackage(entry)) continue;
    if (ignoreLines.has(`${key}/**`)) continue;
    const from = path.join(root, key);
    if (!existsSync(path.join(from, 'package.json'))) {
      if (entry.optional) continue;
      throw new Error(`${key} is in package-lock.json but not installed; run npm ci first.`);
    }
    const nested = path.join(from, 'node_modules');
    cpSync(from, path.join(stage, key), { recursive: true, filter: (src) => src !== nested });
  }
}

/**
 * Unpacks one platform package into the stage. Returns where it came from: "registry" (fetched
 * now), "cache" (an earlier fetch), or "installed" (node_modules, when the registry could not be
 * reached and `verified` is false).
 */
function stagePlatformPackage({ root, stage, lock, name, cacheDir, verified, log }) {
  const entry = lock.packages[`node_modules/${name}`];
  if (!entry) throw new Error(`${name} is not in package-lock.json.`);
  const dest = path.join(stage, 'node_modules', name);
  try {
    const integrity = entry.integrity ?? registryIntegrity(name, entry.version, root);
    const { file, fetched } = cachedTarball({ name, version: entry.version, integrity, cacheDir, cwd: root });
    extractPackage(file, dest);
    return fetched ? 'registry' : 'cache';
  } catch (err) {
    const installed = path.join(root, 'node_modules', name);
    const installedVersion = existsSync(path.join(installed, 'package.json'))
      ? JSON.parse(readFileSync(path.join(installed, 'package.json'), 'utf8')).version
      : undefined;
    if (verified || installedVersion !== entry.version) throw err;
    log(`package: ${err.message} Using the installed ${name}@${installedVersion} instead (not checked against the registry).`);
    rmSync(dest, { recursive: true, force: true });
    cpSync(installed, dest, { recursive: true });
    return 'installed';
  }
}

/** Fills `stage` (emptied first) for `packages`; returns each platform package's source. */
export function buildStage({ root, stage, packages, cacheDir, verified, log }) {
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });
  for (const entry of shipped) {
    const from = path.join(root, entry);
    if (!existsSync(from)) throw new Error(`${entry} is missing; the .vsix needs it.`);
    cpSync(from, path.join(stage, entry), { recursive: true });
  }
  const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8'));
  const ignoreLines = new Set(
    readFileSync(path.join(root, '.vscodeignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim()),
  );
  stageCommonPackages({ root, stage, lock, ignoreLines });
  const sources = {};
  for (const name of packages) sources[name] = stagePlatformPackage({ root, stage, lock, name, cacheDir, verified, log });
  return sources;
}
