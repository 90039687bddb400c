// Retrieval quality of the workspace index (@codebase) on code nobody on the team wrote: the
// sources of several npm packages in node_modules. For a few hundred functions with a JSDoc
// comment, the comment's description (and, separately, the words of the function's name) is the
// question; a hit is a top-5 chunk of the function's file that holds the function's line
// (recall@5). Also the index's build time and saved size per 1,000 files. Not part of npm test.
//   node --import tsx bench/retrieval.ts
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { indexFileFor } from '../server/src/workspace/indexStore';
import { WorkspaceIndex } from '../server/src/workspace/workspaceIndex';
import { loadAverage, resultHeader, writeResult } from './lib/results';
import { round } from './lib/stats';
import { printTable } from './lib/table';

const repoRoot = path.resolve(__dirname, '..');
/** Package source folders, each a workspace folder of its own. */
const packages = [
  'node_modules/eslint/lib',
  'node_modules/markdown-it/lib',
  'node_modules/vscode-jsonrpc/lib',
  'node_modules/vscode-languageserver/lib',
  'node_modules/minimatch/dist/commonjs',
  'node_modules/@typescript-eslint/typescript-estree/dist',
];
const queriesWanted = 400;
const k = 5;

interface Target {
  file: string;
  /** 0-based line of the function's name. */
  line: number;
  name: string;
  doc: string;
}

/** Functions with a JSDoc description of at least four words, from the index's own files. */
function targetsOf(files: readonly string[]): Target[] {
  const targets: Target[] = [];
  const pattern =
    /\/\*\*((?:[^*]|\*(?!\/))*)\*\/\s*\n\s*(?:export\s+)?(?:default\s+)?(?:async\s+)?(?:function\s*\*?\s*([A-Za-z_$][\w$]*)|(?:static\s+)?([A-Za-z_$][\w$]*)\s*\([^)]*\)\s*\{|(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*=\s*(?:async\s*)?(?:function|\())/g;
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(pattern)) {
      const name = m[2] ?? m[3] ?? m[4];
      if (!name || ['if', 'for', 'while', 'switch', 'catch', 'constructor'].includes(name)) continue;
      const doc = m[1]
        .split('\n')
        .map((l) => l.replace(/^\s*\*\s?/, '').trim())
        .join(' ')
        .split(/\s@\w+|^@\w+/)[0]
        .replace(/\{@link\s+([^}]+)\}/g, '$1')
        .trim();
      if (doc.split(/\s+/).length < 4) continue;
      const offset = (m.index ?? 0) + m[0].lastIndexOf(name);
      targets.push({ file, line: text.slice(0, offset).split('\n').length - 1, name, doc });
    }
  }
  return targets;
}

/** "parseHTTPHeader" -> "parse HTTP Header". */
const nameWords = (name: string): string =>
  name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1 $2')
    .replace(/[_$]+/g, ' ')
    .trim();

async function main(): Promise<void> {
  const header = resultHeader('retrieval', loadAverage());
  const roots = packages.map((p) => path.join(repoRoot, p)).filter((p) => statSync(p, { throwIfNoEntry: false })?.isDirectory());
  const storageDir = mkdtempSync(path.join(os.tmpdir(), 'local-llm-retrieval-'));
  const logs: string[] = [];
  let ready!: () => void;
  const built = new Promise<void>((resolve) => (ready = resolve));
  const index = new WorkspaceIndex({
    roots,
    storageDir,
    exclude: () => [],
    log: (line) => logs.push(line),
    onStatus: () => {
      if (index.ready) ready();
    },
  });
  const heapBefore = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  index.start();
  await built;
  const buildMs = performance.now() - t0;
  const status = index.status()!;
  await index.stop();
  const savedBytes = statSync(indexFileFor(storageDir, roots)).size;
  const heapAfter = process.memoryUsage().heapUsed;
  // Read back, as a restart would.
  const t1 = performance.now();
  let again!: () => void;
  const reloaded = new Promise<void>((resolve) => (again = resolve));
  const index2 = new WorkspaceIndex({
    roots,
    storageDir,
    exclude: () => [],
    log: (line) => logs.push(line),
    onStatus: () => {
      if (index2.ready) again();
    },
  });
  index2.start();
  await reloaded;
  const reloadMs = performance.now() - t1;

  // The files the index holds, and the functions documented in them.
  const files = new Set<string>();
  for (const root of roots) {
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory() && e.name !== 'node_modules') walk(p);
        else if (e.isFile() && /\.(m?js|cjs|ts)$/.test(e.name) && !e.name.endsWith('.d.ts') && statSync(p).size <= 1024 * 1024)
          files.add(p);
      }
    };
    walk(root);
  }
  const all = targetsOf([...files].sort());
  const step = Math.max(1, Math.floor(all.length / queriesWanted));
  const targets = all.filter((_, i) => i % step === 0).slice(0, queriesWanted);

  const recall = async (question: (t: Target) => string): Promise<{ recall: number; mrr: number; ms: number }> => {
    let hits = 0;
    let rr = 0;
    const t = performance.now();
    for (const target of targets) {
      const uri = pathToFileURL(target.file).href;
      const found = await index2.retrieve(question(target), k);
      const rank = found.findIndex((c) => c.uri === uri && c.startLine <= target.line && c.endLine >= target.line);
      if (rank >= 0) {
        hits++;
        rr += 1 / (rank + 1);
      }
    }
    return { recall: hits / targets.length, mrr: rr / targets.length, ms: (performance.now() - t) / targets.length };
  };
  const byDoc = await recall((t) => t.doc);
  const byName = await recall((t) => nameWords(t.name));
  await index2.stop();
  rmSync(storageDir, { recursive: true, force: true });

  const perThousand = 1000 / status.files;
  printTable(
    'Workspace index: build and size',
    ['files', 'chunks', 'build s', 's per 1,000 files', 'saved MB', 'saved MB per 1,000 files', 'heap growth MB', 'read back s'],
    [
      [
        status.files,
        status.chunks,
        round(buildMs / 1000, 1),
        round((buildMs / 1000) * perThousand, 2),
        round(savedBytes / 1048576, 1),
        round((savedBytes / 1048576) * perThousand, 2),
        round((heapAfter - heapBefore) / 1048576, 0),
        round(reloadMs / 1000, 1),
      ],
    ],
  );
  printTable(
    `Retrieval: ${targets.length} documented functions from ${roots.length} packages, recall@${k}`,
    ['question', `recall@${k}`, 'MRR', 'ms per query', 'target'],
    [
      ['the doc comment', round(byDoc.recall, 3), round(byDoc.mrr, 3), round(byDoc.ms, 1), '>= 0.8'],
      ["the function name's words", round(byName.recall, 3), round(byName.mrr, 3), round(byName.ms, 1), '-'],
    ],
  );
  writeResult('retrieval', header, {
    packages,
    index: { files: status.files, chunks: status.chunks, buildMs, savedBytes, reloadMs, heapGrowthBytes: heapAfter - heapBefore },
    queries: targets.length,
    candidates: all.length,
    k,
    docComment: byDoc,
    nameWords: byName,
    targets: { doc: byDoc.recall >= 0.8, thousandFilesUnder10s: (buildMs / 1000) * perThousand < 10 },
  });
}

void main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
