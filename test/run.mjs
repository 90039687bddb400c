// `npm test`: builds, typechecks and lints once, then runs every suite in order (unit, host, server, in-VS-Code
// integration, end to end), each with node's test runner, and prints one summary line.
// `npm test -- unit server` runs only the named suites.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const resultsDir = path.join(root, 'test-results');
mkdirSync(resultsDir, { recursive: true });

/** Each suite: its test files, and whether its files may run in parallel. */
const suites = [
  { name: 'unit', dir: 'test/unit', concurrency: 2 },
  { name: 'host', dir: 'test/host', concurrency: 1 },
  { name: 'server', dir: 'test/server', concurrency: 1 },
  // A real llama-server (built once per machine by scripts/dev/llamaServer.ts).
  { name: 'remote', dir: 'test/remote', concurrency: 1 },
  { name: 'vscode', dir: 'test/vscode', concurrency: 1 },
  { name: 'e2e', dir: 'test/e2e', concurrency: 1 },
];

const wanted = process.argv.slice(2);
const selected = wanted.length ? suites.filter((s) => wanted.includes(s.name)) : suites;
if (wanted.length && selected.length !== wanted.length) {
  console.error(`Unknown suite in ${wanted.join(', ')}; known: ${suites.map((s) => s.name).join(', ')}`);
  process.exit(2);
}

function run(cmd, args) {
  const result = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  return result.status ?? 1;
}

console.log('\n== build and typecheck ==');
if (
  run(process.execPath, ['esbuild.mjs', '--tests']) !== 0 ||
  run(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.', '--noEmit']) !== 0
) {
  console.log('0 passed, 1 failed');
  process.exit(1);
}

// The lint holds the folder layout (no import cycles; client/ and media/ reach the server only
// through server/src/shared/), so a lint error fails the run like a type error does; so does a
// file that Prettier would format differently (`npm run format` fixes that).
console.log('\n== lint ==');
if (
  run(process.execPath, [path.join(root, 'node_modules', 'eslint', 'bin', 'eslint.js'), '.']) !== 0 ||
  run(process.execPath, [path.join(root, 'node_modules', 'prettier', 'bin', 'prettier.cjs'), '--check', '.']) !== 0
) {
  console.log('0 passed, 1 failed');
  process.exit(1);
}

const totals = { pass: 0, fail: 0, skipped: 0 };
const failedSuites = [];
for (const suite of selected) {
  const files = testFiles(path.join(root, suite.dir))
    .map((f) => path.relative(root, f))
    .sort();
  if (!files.length) continue;
  // The remote suite needs llama-server: built once per machine (minutes), reused after that.
  if (suite.name === 'remote' && run(process.execPath, ['--import', 'tsx', path.join(root, 'scripts', 'dev', 'llamaServer.ts')]) !== 0) {
    console.log(`-- ${suite.name}: llama-server could not be built`);
    totals.fail += 1;
    failedSuites.push(suite.name);
    continue;
  }
  console.log(`\n== ${suite.name}: ${files.length} file(s) ==`);
  const tap = path.join(resultsDir, `${suite.name}.tap`);
  rmSync(tap, { force: true });
  const code = run(process.execPath, [
    '--import',
    'tsx',
    '--test',
    `--test-concurrency=${suite.concurrency}`,
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=tap',
    `--test-reporter-destination=${tap}`,
    ...files,
  ]);
  const counts = existsSync(tap) ? readTap(tap) : { pass: 0, fail: 1, skipped: 0 };
  // A runner that died without reporting a failure still failed.
  if (code !== 0 && counts.fail === 0) counts.fail = 1;
  totals.pass += counts.pass;
  totals.fail += counts.fail;
  totals.skipped += counts.skipped;
  if (counts.fail) failedSuites.push(suite.name);
  console.log(`-- ${suite.name}: ${counts.pass} passed, ${counts.fail} failed, ${counts.skipped} skipped`);
}

function testFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true })
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => path.join(dir, f));
}

function readTap(file) {
  const text = readFileSync(file, 'utf8');
  const num = (key) => Number(text.match(new RegExp(`^# ${key} (\\d+)$`, 'm'))?.[1] ?? 0);
  return { pass: num('pass'), fail: num('fail') + num('cancelled'), skipped: num('skipped') + num('todo') };
}

console.log('');
if (failedSuites.length) console.log(`Failed suites: ${failedSuites.join(', ')}`);
console.log(`${totals.pass} passed, ${totals.fail} failed, ${totals.skipped} skipped`);
process.exit(totals.fail ? 1 : 0);
