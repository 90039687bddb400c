// `npm run package [-- --target linux-x64] [--cuda] [--out file.vsix]`
// Builds the production bundles, then packages a .vsix for one platform with @vscode/vsce.
// node-llama-cpp installs every platform's prebuilt binaries; only the target's go in. The
// CUDA builds (~540 MB unpacked on linux-x64) are left out unless --cuda is given: without
// them node-llama-cpp uses Vulkan or the CPU.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** vsce target -> @node-llama-cpp packages: always shipped, and shipped with --cuda. */
const binaries = {
  'linux-x64': { base: ['linux-x64', 'linux-x64-vulkan'], cuda: ['linux-x64-cuda', 'linux-x64-cuda-ext'] },
  'linux-arm64': { base: ['linux-arm64'], cuda: [] },
  'linux-armhf': { base: ['linux-armv7l'], cuda: [] },
  'darwin-arm64': { base: ['mac-arm64-metal'], cuda: [] },
  'darwin-x64': { base: ['mac-x64'], cuda: [] },
  'win32-x64': { base: ['win-x64', 'win-x64-vulkan'], cuda: ['win-x64-cuda', 'win-x64-cuda-ext'] },
  'win32-arm64': { base: ['win-arm64'], cuda: [] },
};

function fail(sentence) {
  process.stderr.write(`package: ${sentence}\n`);
  process.exit(1);
}

function hostTarget() {
  const arch = { x64: 'x64', arm64: 'arm64', arm: 'armhf' }[process.arch];
  const platform = { linux: 'linux', darwin: 'darwin', win32: 'win32' }[process.platform];
  return platform && arch ? `${platform}-${arch}` : undefined;
}

/** Runs a step with inherited output; returns its exit status. */
function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.error) fail(`${path.basename(args[0] ?? command)} could not start: ${result.error.message}`);
  return result.status ?? 1;
}

let options;
try {
  options = parseArgs({
    options: { target: { type: 'string' }, cuda: { type: 'boolean', default: false }, out: { type: 'string' } },
    strict: true,
  }).values;
} catch (err) {
  fail(`${err.message}. Usage: npm run package -- [--target linux-x64] [--cuda] [--out file.vsix]`);
}

const target = options.target ?? hostTarget();
if (!target || !(target in binaries)) {
  fail(`"${target ?? `${process.platform}-${process.arch}`}" is not a target with node-llama-cpp binaries; use one of ${Object.keys(binaries).join(', ')}.`);
}
const spec = binaries[target];
if (options.cuda && spec.cuda.length === 0) fail(`node-llama-cpp has no CUDA build for ${target}.`);
const keep = new Set([...spec.base, ...(options.cuda ? spec.cuda : [])]);

const scope = path.join(root, 'node_modules', '@node-llama-cpp');
const llamaVersion = JSON.parse(readFileSync(path.join(root, 'node_modules', 'node-llama-cpp', 'package.json'), 'utf8')).version;
const missing = [...keep].filter((name) => !existsSync(path.join(scope, name, 'package.json')));
if (missing.length > 0) {
  const [platform, arch] = target.split('-');
  const os_ = { win32: 'win32', darwin: 'darwin', linux: 'linux' }[platform];
  const cpu = { armhf: 'arm' }[arch] ?? arch;
  fail(
    `the node-llama-cpp binaries for ${target} are not installed (${missing.map((m) => `@node-llama-cpp/${m}`).join(', ')}); ` +
      `install them with: npm i --no-save --os=${os_} --cpu=${cpu} ${missing.map((m) => `@node-llama-cpp/${m}@${llamaVersion}`).join(' ')}`,
  );
}
const drop = existsSync(scope) ? readdirSync(scope).filter((name) => !keep.has(name)) : [];

const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const out = path.resolve(options.out ?? path.join(root, `${manifest.name}-${target}${options.cuda ? '-cuda' : ''}-${manifest.version}.vsix`));

const built = run(process.execPath, [path.join(root, 'esbuild.mjs'), '--production']);
if (built !== 0) process.exit(built);

// vsce reads one ignore file: the project's, plus this target's binary exclusions.
const temp = mkdtempSync(path.join(os.tmpdir(), 'local-llm-package-'));
const ignoreFile = path.join(temp, '.vscodeignore');
const base = readFileSync(path.join(root, '.vscodeignore'), 'utf8');
writeFileSync(ignoreFile, `${base}\n# Other platforms' node-llama-cpp binaries (scripts/package.mjs, target ${target})\n${drop.map((d) => `node_modules/@node-llama-cpp/${d}/**`).join('\n')}\n`);

const vsce = path.join(root, 'node_modules', '@vscode', 'vsce', 'vsce');
if (!existsSync(vsce)) fail('@vscode/vsce is not installed; run npm install first.');
const packaged = run(process.execPath, [vsce, 'package', '--target', target, '--allow-missing-repository', '--no-rewrite-relative-links', '--skip-license', '--ignoreFile', ignoreFile, '--out', out]);
rmSync(temp, { recursive: true, force: true });
if (packaged !== 0) process.exit(packaged);

const mb = (statSync(out).size / 1024 / 1024).toFixed(1);
process.stdout.write(`${path.relative(process.cwd(), out)}: ${mb} MB for ${target} with node-llama-cpp ${[...keep].join(', ')}\n`);
