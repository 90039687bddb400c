// `npm run package [-- --target linux-x64 ...] [--all] [--cuda] [--out file.vsix | --out-dir dir]`
// Builds the production bundles once, then packages a .vsix per target with @vscode/vsce, from
// any machine: each target's node-llama-cpp binaries (Metal on darwin-arm64) come from the npm
// registry's tarballs of the exact locked versions, checked against the lockfile's integrity and
// cached in .cache/npm-tarballs/, and are staged next to the bundles (scripts/package/), so no
// foreign binary is installed into node_modules and no other platform's binary ships.
// With no --target it packages this machine's target. The CUDA builds (~540 MB unpacked) ship
// only with --cuda; without them node-llama-cpp uses Vulkan or the CPU.
// --verified refuses to fall back to the installed copy when the registry cannot be reached
// (the release uses it); --skip-build reuses dist/ from an earlier production build.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildStage } from './package/stage.mjs';
import { checkTables, hostTarget, packagesFor, targets } from './package/targets.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const usage = 'npm run package -- [--target linux-x64 ...] [--all] [--cuda] [--out file.vsix | --out-dir dir] [--verified] [--skip-build]';

function fail(sentence) {
  process.stderr.write(`package: ${sentence}\n`);
  process.exit(1);
}

/** Runs a step with inherited output; returns its exit status. */
function run(command, args, cwd = root) {
  const result = spawnSync(command, args, { cwd, stdio: 'inherit' });
  if (result.error) fail(`${path.basename(args[0] ?? command)} could not start: ${result.error.message}`);
  return result.status ?? 1;
}

let options;
try {
  options = parseArgs({
    options: {
      target: { type: 'string', multiple: true },
      all: { type: 'boolean', default: false },
      cuda: { type: 'boolean', default: false },
      out: { type: 'string' },
      'out-dir': { type: 'string' },
      verified: { type: 'boolean', default: false },
      'skip-build': { type: 'boolean', default: false },
    },
    strict: true,
  }).values;
} catch (err) {
  fail(`${err.message}. Usage: ${usage}`);
}

const known = Object.keys(targets);
let wanted = options.all ? known : (options.target ?? [hostTarget()]);
for (const target of wanted) {
  if (!target || !known.includes(target)) {
    fail(
      `"${target ?? `${process.platform}-${process.arch}`}" is not a target with node-llama-cpp binaries; use one of ${known.join(', ')}.`,
    );
  }
}
wanted = [...new Set(wanted)];
if (options.cuda) {
  const without = wanted.filter((t) => targets[t].cuda.length === 0);
  // --all --cuda builds the CUDA variant of the targets that have one; a named target must have one.
  if (options.all) wanted = wanted.filter((t) => targets[t].cuda.length > 0);
  else if (without.length > 0) fail(`node-llama-cpp has no CUDA build for ${without.join(', ')}.`);
}
if (options.out && wanted.length > 1) fail('--out names one file; with several targets use --out-dir.');
if (options.out && options['out-dir']) fail('give --out or --out-dir, not both.');

const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8'));
const tableErrors = checkTables(lock);
if (tableErrors.length > 0) fail(tableErrors.join(' '));
const llamaVersion = lock.packages['node_modules/node-llama-cpp']?.version;
for (const name of wanted.flatMap((t) => packagesFor(t, options.cuda))) {
  const version = lock.packages[`node_modules/${name}`]?.version;
  // node-llama-cpp ignores a binaries package whose version is not its own.
  if (name.startsWith('@node-llama-cpp/') && version !== llamaVersion)
    fail(`${name}@${version} is locked, but node-llama-cpp is ${llamaVersion}; they must match.`);
}

const vsce = path.join(root, 'node_modules', '@vscode', 'vsce', 'vsce');
if (!existsSync(vsce)) fail('@vscode/vsce is not installed; run npm install first.');

if (!options['skip-build']) {
  const built = run(process.execPath, [path.join(root, 'esbuild.mjs'), '--production']);
  if (built !== 0) process.exit(built);
}

const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const outDir = path.resolve(options['out-dir'] ?? root);
const cacheDir = path.join(root, '.cache', 'npm-tarballs');
const results = [];
for (const target of wanted) {
  const out = options.out
    ? path.resolve(options.out)
    : path.join(outDir, `${manifest.name}-${target}${options.cuda ? '-cuda' : ''}-${manifest.version}.vsix`);
  mkdirSync(path.dirname(out), { recursive: true });
  rmSync(out, { force: true });
  const stage = path.join(root, '.cache', 'package', `${target}-${process.pid}`);
  const packages = packagesFor(target, options.cuda);
  let sources;
  try {
    sources = buildStage({ root, stage, packages, cacheDir, verified: options.verified, log: (line) => process.stderr.write(`${line}\n`) });
  } catch (err) {
    rmSync(stage, { recursive: true, force: true });
    fail(`${target}: ${err.message}`);
  }
  // vsce takes the production packages that `npm list` finds in the stage: exactly what was staged.
  const packaged = run(process.execPath, [vsce, 'package', '--target', target, '--out', out], stage);
  rmSync(stage, { recursive: true, force: true });
  if (packaged !== 0) process.exit(packaged);
  const mb = (statSync(out).size / 1024 / 1024).toFixed(1);
  const from = packages.map((p) => `${p} (${sources[p]})`).join(', ');
  results.push(`${path.relative(process.cwd(), out) || out}: ${mb} MB for ${target}${options.cuda ? ' with CUDA' : ''}; ${from}`);
}
process.stdout.write(`${results.join('\n')}\n`);
