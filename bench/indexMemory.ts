// The workspace index on a 50,000-file tree: the language server's RSS once the index is
// built, against the same server without a workspace folder; the time it took; and the same after
// a restart that reads the saved index back. The model is never loaded (loadOnStartup off) and
// must still be asleep at the end: indexing never wakes it. Not part of npm test.
//   npm run build && node --import tsx bench/indexMemory.ts [files]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ModelStatus } from '../server/src/shared/protocol';
import { startServer } from '../test/server/lspClient';
import { loadAverage, resultHeader, writeResult } from './lib/results';
import { round } from './lib/stats';
import { mib, printTable } from './lib/table';

const fileCount = Number(process.argv[2] ?? 50_000);
const filesPerFolder = 100;
const words =
  'alpha beta gamma delta epsilon zeta theta kappa lambda sigma omega vector matrix buffer stream token parser render cache queue'.split(
    ' ',
  );

/** Small source files with varied names, so the index holds many distinct terms as real code does. */
function makeTree(root: string): void {
  let seed = 12345;
  const next = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  const word = (): string => words[next() % words.length];
  for (let i = 0; i < fileCount; i++) {
    const dir = path.join(root, `pkg${Math.floor(i / filesPerFolder)}`);
    if (i % filesPerFolder === 0) mkdirSync(dir, { recursive: true });
    const name = `${word()}${word()[0].toUpperCase()}${word().slice(1)}${i}`;
    const text = [
      `/** Computes the ${word()} of a ${word()} for ${name}. */`,
      `export function ${name}(input: number[]): number {`,
      `  const ${word()}Total = input.reduce((a, b) => a + b, ${i});`,
      `  return ${word()}Total * ${next() % 100};`,
      '}',
      '',
    ].join('\n');
    writeFileSync(path.join(dir, `${name}.ts`), text);
  }
}

const settings = { model: '', loadOnStartup: false, sleepIdleSeconds: 0 };

async function main(): Promise<void> {
  const header = resultHeader('indexMemory', loadAverage());
  const root = mkdtempSync(path.join(os.tmpdir(), 'local-llm-50k-'));
  const storageDir = mkdtempSync(path.join(os.tmpdir(), 'local-llm-50k-storage-'));
  try {
    let t = performance.now();
    makeTree(root);
    const makeMs = performance.now() - t;

    const bare = await startServer(settings, { storageDir });
    const bareRss = (await bare.status()).memory.serverRssBytes;
    await bare.stop();

    t = performance.now();
    let server = await startServer(settings, { storageDir, workspaceFolders: [root] });
    await server.waitFor((s) => s.index?.state === 'ready', 'the index', 1_800_000);
    const buildMs = performance.now() - t;
    // Let a collection run, then take what the process really keeps.
    await new Promise((r) => setTimeout(r, 2000));
    const built = { status: await server.status() };
    const peakRss = Math.max(...server.statuses.map((s) => s.memory.serverRssBytes), built.status.memory.serverRssBytes);
    await server.stop();

    t = performance.now();
    server = await startServer(settings, { storageDir, workspaceFolders: [root] });
    await server.waitFor((s) => s.index?.state === 'ready', 'the index read back', 1_800_000);
    const reloadMs = performance.now() - t;
    await new Promise((r) => setTimeout(r, 2000));
    const reloaded = { status: await server.status() };
    const readLine = server.logs.find((l) => l.includes('Workspace index ready')) ?? '';
    await server.stop();

    const row = (what: string, ms: number, s: ModelStatus): Array<string | number | null> => [
      what,
      s.index?.files ?? null,
      s.index?.chunks ?? null,
      round(ms / 1000, 1),
      mib(s.memory.serverRssBytes),
      mib(s.memory.serverRssBytes - bareRss),
      s.state,
      s.counters.loads,
    ];
    printTable(
      `Workspace index of ${fileCount} small files (tree made in ${round(makeMs / 1000, 1)} s); server RSS without a workspace ${mib(bareRss)} MiB`,
      ['run', 'files', 'chunks', 'ready after s', 'server RSS MiB', 'over bare MiB', 'model state', 'model loads'],
      [row('first build', buildMs, built.status), row('after a restart', reloadMs, reloaded.status)],
    );
    process.stdout.write(`Peak RSS seen while building: ${mib(peakRss)} MiB. Restart: ${readLine.trim()}\n`);
    writeResult('indexMemory', header, {
      files: fileCount,
      makeMs,
      bareRssBytes: bareRss,
      build: { ms: buildMs, status: built.status, peakRssBytes: peakRss },
      reload: { ms: reloadMs, status: reloaded.status, log: readLine },
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
    rmSync(storageDir, { recursive: true, force: true });
  }
}

void main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
