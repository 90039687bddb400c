// Runs a test suite, or some test files, N times in a row and says how many runs passed: the check
// that a suite which touches the network, a child process or a timer never flakes (DESIGN.md,
// "Tests": 20 runs in a row).
//
//   node test/repeat.mjs 20 server/download.test.ts      one file (a path under test/, or from the root)
//   node test/repeat.mjs 20 remote                       a suite by name: unit, host, server, remote
//   node test/repeat.mjs 5 unit/httpRequest.test.ts unit/remoteDeadline.test.ts
//
// Each run is node's test runner on the files, one file at a time, as `npm test` runs them. The
// server, host and remote suites test the bundle in dist/: run `npm run build` first (this script
// does not build, so every run tests the same build). Each run's output goes to
// test-results/repeat/<name>-<run>.log; a failed run's file names are printed. The last line is
// "<name>: K of N passed"; the exit code is 0 only when every run passed.
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const suites = ['unit', 'host', 'server', 'remote'];

function usage(message) {
  console.error(`${message}\nUsage: node test/repeat.mjs <runs> <suite | test file>...  (suites: ${suites.join(', ')})`);
  process.exit(2);
}

function testFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return testFiles(full);
    return /\.test\.ts$/.test(entry.name) ? [full] : [];
  });
}

/** A suite's files, or the one file an argument names (under test/ or from the root). */
function filesOf(arg) {
  if (suites.includes(arg)) return testFiles(path.join(root, 'test', arg)).sort();
  for (const candidate of [path.join(root, 'test', arg), path.resolve(root, arg)]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return [candidate];
  }
  usage(`No suite or test file named ${arg}.`);
}

const [countArg, ...targets] = process.argv.slice(2);
const runs = Number(countArg);
if (!Number.isInteger(runs) || runs < 1) usage(`The number of runs must be a whole number from 1, not ${countArg ?? 'nothing'}.`);
if (targets.length === 0) usage('Name a suite or at least one test file.');
const files = targets.flatMap(filesOf).map((f) => path.relative(root, f));
const name = targets.length === 1 ? targets[0] : `${targets.length} targets`;
const logDir = path.join(root, 'test-results', 'repeat');
mkdirSync(logDir, { recursive: true });
const logName = name.replace(/[^\w.-]+/g, '_');

/** One run of the files; resolves with the runner's exit code. */
function runOnce(logFile) {
  return new Promise((resolve) => {
    const out = createWriteStream(logFile);
    const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...files], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.pipe(out, { end: false });
    child.stderr.pipe(out, { end: false });
    child.on('close', (code, signal) => out.end(() => resolve(code ?? (signal ? 1 : 0))));
  });
}

console.log(`${name}: ${runs} run(s) of ${files.join(', ')}`);
let passed = 0;
for (let i = 1; i <= runs; i++) {
  const logFile = path.join(logDir, `${logName}-${i}.log`);
  const code = await runOnce(logFile);
  if (code === 0) passed++;
  console.log(`run ${i} of ${runs}: ${code === 0 ? 'passed' : `FAILED (exit ${code}), see ${path.relative(root, logFile)}`}`);
}
console.log(`${name}: ${passed} of ${runs} passed`);
process.exit(passed === runs ? 0 : 1);
