// Builds one target's staging folder: what vsce packages, so that only that target's native
// packages are in it, whatever this machine has installed.
//   stage/package.json, README.md, CHANGELOG.md, LICENSE, .vscodeignore, dist/, media/
//   stage/node_modules/  node-llama-cpp's package.json and data (its JavaScript is in
//                        dist/nodeLlamaCpp.mjs, scripts/build/nodeLlamaCpp.mjs), the few packages
//                        the bundles load at run time, and the target's platform packages, unpacked
//                        from registry tarballs checked against the lockfile's integrity.
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runtimePackages } from '../build/nodeLlamaCpp.mjs';
import { cachedTarball, extractPackage, registryIntegrity } from './tarball.mjs';

/** Top-level files and folders of the project that go into the stage (.vscodeignore trims them). */
export const shipped = ['package.json', 'README.md', 'CHANGELOG.md', 'LICENSE', '.vscodeignore', 'dist', 'media'];

/** Copies an installed production package into the stage, less its nested node_modules and `leaveOut`. */
function stageInstalled({ root, stage, lock, name, leaveOut = [] }) {
  const key = `node_modules/${name}`;
  const entry = lock.packages[key];
  if (!entry || entry.dev) throw new Error(`${name} is not a production package in package-lock.json.`);
  const from = path.join(root, key);
  if (!existsSync(path.join(from, 'package.json'))) throw new Error(`${name} is not installed; run npm ci first.`);
  const skipped = new Set(['node_modules', ...leaveOut].map((p) => path.join(from, p)));
  cpSync(from, path.join(stage, key), { recursive: true, filter: (src) => !skipped.has(src) });
}

/**
 * node-llama-cpp without its JavaScript: the bundles find its package.json, llama/ and bins/ here.
 * vsce lists the packages to ship with `npm list`, which fails on a dependency that is not
 * installed, so the staged package.json drops `dependencies` (they are in the bundle) and keeps
 * `optionalDependencies` (its binaries packages).
 */
function stageNodeLlamaCpp({ root, stage, lock }) {
  stageInstalled({ root, stage, lock, name: 'node-llama-cpp', leaveOut: ['dist'] });
  const manifestFile = path.join(stage, 'node_modules', 'node-llama-cpp', 'package.json');
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
  delete manifest.dependencies;
  writeFileSync(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
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
  stageNodeLlamaCpp({ root, stage, lock });
  for (const name of runtimePackages) stageInstalled({ root, stage, lock, name });
  const sources = {};
  for (const name of packages) sources[name] = stagePlatformPackage({ root, stage, lock, name, cacheDir, verified, log });
  return sources;
}
