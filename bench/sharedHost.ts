// Three windows on one model: (1) resident memory of three servers sharing one model host against
// three servers with a host each (the large model); (2) completion latency in window A while
// window B streams a chat, against no chat (the tiny model, whose chat streams ~500 tokens).
// Run alone: npm run build && node --import tsx bench/sharedHost.ts   (BENCH_QUICK=1: a few reps)
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { largeModel, tinyModel } from '../scripts/dev/models';
import { serverSettings } from './lib/config';
import { sampleDocument, cursorAt } from './lib/document';
import { chat, complete, startServer, type TestServer } from './lib/lsp';
import { loadAverage, resultHeader, writeResult } from './lib/results';
import { percentile } from './lib/stats';

const quick = process.env['BENCH_QUICK'] === '1';
const mib = 1024 * 1024;

async function windows(
  count: number,
  model: string,
  sharedDir: string | null,
  extra: Record<string, unknown> = {},
): Promise<{ servers: TestServer[]; dirs: string[] }> {
  const dirs: string[] = [];
  const servers: TestServer[] = [];
  for (let i = 0; i < count; i++) {
    const dir = sharedDir ?? mkdtempSync(path.join(os.tmpdir(), 'llm-bench-'));
    if (sharedDir === null) dirs.push(dir);
    servers.push(await startServer(serverSettings(model, { contextSize: 2048, ...extra }), { env: { LOCAL_LLM_RUNTIME_DIR: dir } }));
  }
  await Promise.all(servers.map((s) => s.waitForState('ready', 300_000)));
  return { servers, dirs };
}

async function stop(servers: TestServer[], dirs: string[]): Promise<void> {
  await Promise.all(servers.map((s) => s.stop()));
  // Past the hosts' grace period (1 s in lspClient).
  await new Promise((r) => setTimeout(r, 2000));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}

/** Server RSS summed, and each distinct host's RSS once. */
async function memory(servers: TestServer[]): Promise<{ serversMiB: number; hostsMiB: number; hosts: number }> {
  const statuses = await Promise.all(servers.map((s) => s.status()));
  const hosts = new Map<number, number>();
  for (const s of statuses) if (s.memory.hostPid !== null) hosts.set(s.memory.hostPid, s.memory.hostRssBytes ?? 0);
  return {
    serversMiB: statuses.reduce((sum, s) => sum + s.memory.serverRssBytes, 0) / mib,
    hostsMiB: [...hosts.values()].reduce((a, b) => a + b, 0) / mib,
    hosts: hosts.size,
  };
}

/** `n` completions in A at the cursors from `first` on: each a new document (no cache hit) and a new place (no KV reuse of the one before). */
async function completionLatencies(a: TestServer, n: number, prefix: string, first = 0): Promise<number[]> {
  const ms: number[] = [];
  for (let i = first; i < first + n; i++) {
    const uri = `file:///bench/${prefix}-${i}.ts`;
    a.open(uri, sampleDocument);
    ms.push((await complete(a, uri, cursorAt(i))).ms);
  }
  return ms;
}

async function main(): Promise<void> {
  const load = loadAverage();
  const large = await largeModel();
  const tiny = await tinyModel();

  const sharedDir = mkdtempSync(path.join(os.tmpdir(), 'llm-bench-shared-'));
  const shared = await windows(3, large, sharedDir);
  const sharedMemory = await memory(shared.servers);
  await stop(shared.servers, [sharedDir]);
  const apart = await windows(3, large, null);
  const apartMemory = await memory(apart.servers);
  await stop(apart.servers, apart.dirs);

  const n = quick ? 3 : 15;
  const latencyDir = mkdtempSync(path.join(os.tmpdir(), 'llm-bench-latency-'));
  const pair = await windows(2, tiny, latencyDir, { completion: { debounceMs: 0, maxTokens: 16, maxLines: 4 } });
  const [a, b] = pair.servers;
  const alone = await completionLatencies(a, n, 'alone');
  const during: number[] = [];
  const chatTokensPerTurn: number[] = [];
  for (let i = 0; i < n; i++) {
    // Window B streams a long answer; window A asks for a completion once B's first piece is out.
    let streaming!: () => void;
    const started = new Promise<void>((resolve) => (streaming = resolve));
    const answer = chat(b, `bench-${i}`, 'Explain this code at length.', 10_000);
    const watch = setInterval(() => void b.status().then((s) => s.inFlight > 0 && streaming()), 20);
    await started;
    clearInterval(watch);
    await new Promise((r) => setTimeout(r, 100));
    // The same cursors as alone: the same prompts, none found in the KV cache.
    during.push(...(await completionLatencies(a, 1, `during-${i}`, i)));
    await answer;
    chatTokensPerTurn.push((await b.status()).lastChat?.generatedTokens ?? 0);
  }
  await stop(pair.servers, [latencyDir]);

  const rows = [
    [
      '3 windows, RSS of the model hosts',
      `${sharedMemory.hostsMiB.toFixed(0)} MiB (${sharedMemory.hosts} host)`,
      `${apartMemory.hostsMiB.toFixed(0)} MiB (${apartMemory.hosts} hosts)`,
    ],
    ['3 windows, RSS of the servers', `${sharedMemory.serversMiB.toFixed(0)} MiB`, `${apartMemory.serversMiB.toFixed(0)} MiB`],
    [
      'completion in A, p50 / max (ms)',
      `${percentile(during, 50).toFixed(0)} / ${Math.max(...during).toFixed(0)} while B chats`,
      `${percentile(alone, 50).toFixed(0)} / ${Math.max(...alone).toFixed(0)} alone`,
    ],
    ['B chat answer, tokens (median)', `${percentile(chatTokensPerTurn, 50)}`, ''],
  ];
  for (const row of rows) process.stdout.write(`${row[0].padEnd(40)} ${row[1].padEnd(32)} ${row[2]}\n`);
  const file = writeResult('sharedHost', resultHeader('sharedHost', load), {
    memory: { shared: sharedMemory, separate: apartMemory },
    completionMs: { alone, duringChat: during },
    chatTokensPerTurn,
  });
  process.stdout.write(`${file}\n`);
}

void main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
