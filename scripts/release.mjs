// `npm run release [-- --cuda]`: every target's .vsix into dist-vsix/ (emptied first), built
// once from this machine with binaries checked against the registry's integrity (--verified),
// and dist-vsix/SHA256SUMS, which `sha256sum -c SHA256SUMS` checks. --cuda adds the CUDA
// builds of linux-x64 and win32-x64 (each several hundred MB).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = path.join(root, 'dist-vsix');

let options;
try {
  options = parseArgs({ options: { cuda: { type: 'boolean', default: false } }, strict: true }).values;
} catch (err) {
  process.stderr.write(`release: ${err.message}. Usage: npm run release [-- --cuda]\n`);
  process.exit(1);
}

function packageStep(args) {
  const result = spawnSync(
    process.execPath,
    [path.join(root, 'scripts', 'package.mjs'), '--all', '--verified', '--out-dir', outDir, ...args],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
  if (result.status !== 0) {
    process.stderr.write(`release: node scripts/package.mjs ${args.join(' ')} failed.\n`);
    process.exit(result.status ?? 1);
  }
}

rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
packageStep([]);
if (options.cuda) packageStep(['--cuda', '--skip-build']);

const files = readdirSync(outDir)
  .filter((f) => f.endsWith('.vsix'))
  .sort();
const sums = files.map(
  (f) =>
    `${createHash('sha256')
      .update(readFileSync(path.join(outDir, f)))
      .digest('hex')}  ${f}`,
);
writeFileSync(path.join(outDir, 'SHA256SUMS'), `${sums.join('\n')}\n`);
process.stdout.write(`\n${path.relative(root, outDir)}/:\n`);
for (const f of files) process.stdout.write(`  ${f}  ${(statSync(path.join(outDir, f)).size / 1024 / 1024).toFixed(1)} MB\n`);
process.stdout.write(`  SHA256SUMS (sha256sum -c SHA256SUMS)\n`);
