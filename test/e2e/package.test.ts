// `npm run package` for two targets from this (Linux x64) machine, one of them foreign: the
// .vsix files themselves are read back and checked for the bundles, exactly the target's
// node-llama-cpp binaries (Metal on darwin-arm64), no sources or tests, the marketplace
// metadata, a size budget, fewer than 100 JavaScript files, and vsce's output (no warning).
// The linux-x64 one is unpacked alone and its bundled node-llama-cpp runs the tiny model.
// The first run on a machine fetches the targets' binary packages from the npm registry into
// .cache/npm-tarballs/; later runs use that cache.
// Alone: `node --import tsx --test test/e2e/package.test.ts`.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import { inflateRawSync } from 'node:zlib';
import { cacheRoot, repoRoot } from '../../scripts/dev/paths';
import { tinyModelPath } from '../../scripts/dev/tinyModel';

interface ZipEntry {
  name: string;
  size: number;
  read(): Buffer;
}

/** The entries of a zip file, from its central directory (no zip64: a .vsix here is far smaller). */
function readZip(file: string): Map<string, ZipEntry> {
  const zip = readFileSync(file);
  let end = zip.length - 22;
  while (end >= 0 && zip.readUInt32LE(end) !== 0x06054b50) end--;
  assert.ok(end >= 0, `${file} has no zip end record`);
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const entries = new Map<string, ZipEntry>();
  for (let i = 0; i < count; i++) {
    assert.equal(zip.readUInt32LE(at), 0x02014b50, `${file}: bad central directory entry ${i}`);
    const method = zip.readUInt16LE(at + 10);
    const compressed = zip.readUInt32LE(at + 20);
    const size = zip.readUInt32LE(at + 24);
    const nameLength = zip.readUInt16LE(at + 28);
    const local = zip.readUInt32LE(at + 42);
    const name = zip.subarray(at + 46, at + 46 + nameLength).toString('utf8');
    at += 46 + nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
    const read = (): Buffer => {
      const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
      const data = zip.subarray(start, start + compressed);
      return method === 0 ? Buffer.from(data) : inflateRawSync(data);
    };
    entries.set(name, { name, size, read });
  }
  return entries;
}

/** What each checked target must ship, stated here independently of scripts/package/targets.mjs. */
const expected = {
  'linux-x64': {
    platformPackages: ['@node-llama-cpp/linux-x64', '@node-llama-cpp/linux-x64-vulkan', '@reflink/reflink-linux-x64-gnu'],
    addons: [
      '@node-llama-cpp/linux-x64/bins/linux-x64/llama-addon.node',
      '@node-llama-cpp/linux-x64-vulkan/bins/linux-x64-vulkan/llama-addon.node',
    ],
    // The format of the native files: ELF.
    magic: [Buffer.from([0x7f, 0x45, 0x4c, 0x46])],
    extraFiles: ['@node-llama-cpp/linux-x64-vulkan/bins/linux-x64-vulkan/libggml-vulkan.so'],
    budgetMb: 45,
  },
  'darwin-arm64': {
    platformPackages: ['@node-llama-cpp/mac-arm64-metal', '@reflink/reflink-darwin-arm64'],
    addons: ['@node-llama-cpp/mac-arm64-metal/bins/mac-arm64-metal/llama-addon.node'],
    // Mach-O 64-bit (little-endian), or a universal (fat) binary.
    magic: [Buffer.from([0xcf, 0xfa, 0xed, 0xfe]), Buffer.from([0xca, 0xfe, 0xba, 0xbe])],
    extraFiles: ['@node-llama-cpp/mac-arm64-metal/bins/mac-arm64-metal/libggml-metal.so'],
    budgetMb: 10,
  },
} as const;
type Target = keyof typeof expected;

const outDir = path.join(cacheRoot, 'vsix', 'package-test');
const manifest = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { name: string; version: string };
const vsixOf = (target: Target): string => path.join(outDir, `${manifest.name}-${target}-${manifest.version}.vsix`);
const isNative = (name: string): boolean => /\.(node|so|dylib|dll)$/.test(name) || /\.so\.\d/.test(name);
/** The package a node_modules path belongs to (`@scope/name` or `name`), innermost. */
function packageOf(name: string): string | undefined {
  const parts = name.split('/');
  const at = parts.lastIndexOf('node_modules');
  if (at < 0) return undefined;
  return parts[at + 1]?.startsWith('@') ? `${parts[at + 1]}/${parts[at + 2]}` : parts[at + 1];
}

describe('npm run package: one .vsix per target, from this machine', () => {
  let log = '';

  before(() => {
    rmSync(outDir, { recursive: true, force: true });
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const result = spawnSync(
      npm,
      ['run', '--silent', 'package', '--', '--target', 'linux-x64', '--target', 'darwin-arm64', '--out-dir', outDir],
      {
        cwd: repoRoot,
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
        shell: process.platform === 'win32',
      },
    );
    log = `${result.stdout}\n${result.stderr}`;
    assert.equal(result.status, 0, `npm run package failed:\n${log.split('\n').slice(-30).join('\n')}`);
  });

  for (const target of Object.keys(expected) as Target[]) {
    const want = expected[target];

    test(`${target}: the bundles, the manifest files and the marketplace metadata are in it`, () => {
      const zip = readZip(vsixOf(target));
      for (const file of [
        'client.js',
        'server.js',
        'host.js',
        'downloadWorker.js',
        'media/chat.js',
        'nodeLlamaCpp.mjs',
        'testBindingBinary.mjs',
      ]) {
        assert.ok(zip.get(`extension/dist/${file}`)?.size, `extension/dist/${file} is missing or empty`);
      }
      for (const file of [
        'package.json',
        'readme.md',
        'changelog.md',
        'LICENSE.txt',
        'media/icon.png',
        'media/chat.css',
        'node_modules/node-llama-cpp/package.json',
      ]) {
        assert.ok(zip.has(`extension/${file}`), `extension/${file} is missing`);
      }
      const icon = zip.get('extension/media/icon.png')!.read();
      assert.deepEqual([...icon.subarray(1, 4)], [...Buffer.from('PNG')], 'the icon is a PNG');
      assert.ok(
        [128, 256].includes(icon.readUInt32BE(16)) && icon.readUInt32BE(16) === icon.readUInt32BE(20),
        'the icon is 128 or 256 pixels square',
      );

      const vsixManifest = zip.get('extension.vsixmanifest')!.read().toString('utf8');
      assert.match(vsixManifest, new RegExp(`TargetPlatform="${target}"`));
      assert.match(vsixManifest, /<Icon>extension\/media\/icon\.png<\/Icon>/);
      assert.match(vsixManifest, /<License>extension\/LICENSE\.txt<\/License>/);
      assert.match(vsixManifest, /Links\.Source" Value="https:\/\/github\.com\/local-llm\/local-llm-vscode/);
      assert.match(vsixManifest, /Branding\.Color" Value="#/);

      const changelog = zip.get('extension/changelog.md')!.read().toString('utf8');
      assert.match(changelog, new RegExp(`^## ${manifest.version.replace(/\./g, '\\.')}$`, 'm'), 'the changelog has this version');

      // The marketplace renders the README away from the repository: its relative links and
      // images point into the repository.
      const readme = zip.get('extension/readme.md')!.read().toString('utf8');
      const relative = [...readme.matchAll(/\]\(([^)#\s]+)[^)]*\)/g)].map((m) => m[1]).filter((link) => !/^[a-z]+:/i.test(link));
      assert.deepEqual(relative, [], 'no relative links are left in the packaged README');
      assert.match(readme, /\]\(https:\/\/github\.com\/local-llm\/local-llm-vscode\/raw\/HEAD\/media\/screenshot-ghost-text\.png\)/);
    });

    test(`${target}: exactly its own native binaries are in it`, () => {
      const zip = readZip(vsixOf(target));
      const names = [...zip.keys()];
      const platformPackages = new Set(
        names
          .map(packageOf)
          .filter((p): p is string => p !== undefined && (p.startsWith('@node-llama-cpp/') || /^@reflink\/reflink-/.test(p))),
      );
      assert.deepEqual([...platformPackages].sort(), [...want.platformPackages].sort());
      for (const addon of [...want.addons, ...want.extraFiles])
        assert.ok(zip.get(`extension/node_modules/${addon}`)?.size, `${addon} is missing`);

      const natives = names.filter(isNative);
      assert.ok(natives.length > 0);
      for (const name of natives) {
        const owner = packageOf(name);
        assert.ok(
          owner && (want.platformPackages as readonly string[]).includes(owner),
          `${name} is a native file outside ${target}'s packages`,
        );
        const head = zip.get(name)!.read().subarray(0, 4);
        assert.ok(
          want.magic.some((m) => head.equals(m)),
          `${name} is not a ${target} binary (starts with ${head.toString('hex')})`,
        );
      }
      // node-llama-cpp uses a binaries package only when its version is node-llama-cpp's own.
      const version = (file: string): string =>
        (JSON.parse(zip.get(`extension/node_modules/${file}`)!.read().toString('utf8')) as { version: string }).version;
      const llama = version('node-llama-cpp/package.json');
      for (const p of want.platformPackages.filter((p) => p.startsWith('@node-llama-cpp/')))
        assert.equal(version(`${p}/package.json`), llama, p);
    });

    test(`${target}: nothing from tests, benchmarks, caches or sources, and under ${want.budgetMb} MB`, () => {
      const file = vsixOf(target);
      const zip = readZip(file);
      for (const name of zip.keys()) {
        assert.doesNotMatch(name, /^extension\/(test|bench|\.cache|client|server|scripts|\.github|\.ci|out|test-results)\//, name);
        assert.doesNotMatch(name, /^extension\/dist\/(test|bench)\//, name);
        assert.doesNotMatch(name, /\.(map|ts|mts|cts|vsix)$/, name);
        assert.doesNotMatch(name, /^extension\/node_modules\/(typescript|@vscode|esbuild|eslint|tsx|mocha)\//, name);
        assert.doesNotMatch(name, /^extension\/node_modules\/node-llama-cpp\/llama\/(gitRelease\.bundle|addon|cmake)/, name);
      }
      const mb = readFileSync(file).length / 1024 / 1024;
      assert.ok(mb < want.budgetMb, `${path.basename(file)} is ${mb.toFixed(1)} MB, over the ${want.budgetMb} MB budget`);
    });

    test(`${target}: node-llama-cpp is bundled: under 100 JavaScript files, its data still next to its package.json`, () => {
      const names = [...readZip(vsixOf(target)).keys()];
      // vsce counts .js only; .mjs and .cjs are JavaScript too.
      const scripts = names.filter((name) => /\.[cm]?js$/.test(name));
      assert.ok(scripts.length < 100, `${scripts.length} JavaScript files:\n${scripts.join('\n')}`);
      assert.deepEqual(
        names.filter((name) => name.startsWith('extension/node_modules/node-llama-cpp/dist/')),
        [],
        "node-llama-cpp's own modules are in dist/nodeLlamaCpp.mjs",
      );
      // What the bundle reads at paths relative to node-llama-cpp's modules, and the package it
      // loads at run time (scripts/build/nodeLlamaCpp.mjs).
      for (const file of [
        'node-llama-cpp/llama/binariesGithubRelease.json',
        'node-llama-cpp/llama/grammars/json.gbnf',
        '@reflink/reflink/index.js',
      ]) {
        assert.ok(names.includes(`extension/node_modules/${file}`), `${file} is missing`);
      }
    });
  }

  test(
    'linux-x64: node-llama-cpp runs from the unpacked .vsix alone, its binary tested in a fork of the bundled test file',
    {
      skip: process.platform === 'linux' && process.arch === 'x64' ? false : 'runs the linux-x64 binaries',
    },
    async () => {
      // Outside the repository, so no package can be found in its node_modules instead.
      const dir = mkdtempSync(path.join(os.tmpdir(), 'local-llm-vsix-'));
      try {
        for (const entry of readZip(vsixOf('linux-x64')).values()) {
          const file = path.join(dir, ...entry.name.split('/'));
          mkdirSync(path.dirname(file), { recursive: true });
          writeFileSync(file, entry.read());
        }
        const extension = path.join(dir, 'extension');
        // Records what node-llama-cpp forks, then asks it for a CPU llama (the prebuilt binary is
        // tested in a child first), loads the tiny model and completes a few tokens.
        const script = `
        import cp from 'node:child_process';
        import { syncBuiltinESMExports } from 'node:module';
        import { pathToFileURL } from 'node:url';
        const forks = [];
        const fork = cp.fork;
        cp.fork = function (file, ...rest) {
          const child = fork.call(this, file, ...rest);
          const record = { file: String(file), code: null };
          forks.push(record);
          child.on('exit', (code) => { record.code = code; });
          return child;
        };
        syncBuiltinESMExports();
        const [bundle, model] = process.argv.slice(2);
        const lib = await import(pathToFileURL(bundle).href);
        const version = await lib.getModuleVersion();
        const llama = await lib.getLlama({ build: 'never', gpu: false, logLevel: 'error' });
        const loaded = await llama.loadModel({ modelPath: model });
        const context = await loaded.createContext({ contextSize: 256 });
        const completion = new lib.LlamaCompletion({ contextSequence: context.getSequence() });
        const text = await completion.generateCompletion('def main', { maxTokens: 4 });
        await context.dispose();
        await loaded.dispose();
        const buildType = llama.buildType;
        await llama.dispose();
        process.stdout.write(JSON.stringify({ version, buildType, forks, text }) + '\\n');
      `;
        // A file, not `node -e`: a fork inherits the parent's execArgv, and with it an -e script.
        const probe = path.join(dir, 'probe.mjs');
        writeFileSync(probe, script);
        const result = spawnSync(process.execPath, [probe, path.join(extension, 'dist', 'nodeLlamaCpp.mjs'), await tinyModelPath()], {
          cwd: dir,
          encoding: 'utf8',
          timeout: 120_000,
        });
        const output = `${result.stdout}\n${result.stderr}`;
        assert.equal(result.status, 0, output);
        const ran = JSON.parse(result.stdout.trim().split('\n').pop() ?? '') as {
          version: string;
          buildType: string;
          forks: { file: string; code: number | null }[];
          text: string;
        };
        const locked = (
          JSON.parse(readFileSync(path.join(repoRoot, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version: string }> }
        ).packages['node_modules/node-llama-cpp']!.version;
        assert.equal(ran.version, locked, 'the version is read from the shipped node-llama-cpp/package.json');
        assert.equal(ran.buildType, 'prebuilt');
        assert.deepEqual(ran.forks, [{ file: path.join(extension, 'dist', 'testBindingBinary.mjs'), code: 0 }], output);
        assert.doesNotMatch(output, /not independent|Assuming the test passed/);
        assert.equal(typeof ran.text, 'string');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  test('vsce warns about nothing', () => {
    // Without node-llama-cpp's ~850 module files vsce has nothing to suggest (it warns above 100
    // .js files or 5000 files).
    assert.deepEqual(
      log.split('\n').filter((line) => /WARNING/.test(line)),
      [],
    );
    assert.doesNotMatch(log, /--allow-missing-repository|--skip-license|LICENSE not found|repository field/i);
  });
});
