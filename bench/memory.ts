// 3. Memory: RSS (and VRAM, where nvidia-smi exists) of the language server and the model host
// before load, loaded, after a light sleep, after a deep sleep and over many sleep/wake cycles,
// with the large model; then the direct engine through the same steps. The two run one after the
// other, so that each GPU figure belongs to one of them even where nvidia-smi's pids are not ours.
import type { ModelStatus } from '../server/src/shared/protocol';
import { DirectEngine } from './direct/engine';
import type { EngineLoadParams } from './direct/engineProtocol';
import { gpu, gpuLayers, serverSettings, threads } from './lib/config';
import { count, type BenchContext, type BenchOutcome } from './lib/context';
import { infillParamsFor } from './lib/document';
import { complete, sleep, startServer, wake } from './lib/lsp';
import { loadAverage, resultHeader, writeResult } from './lib/results';
import { alive } from './lib/processAlive';
import { mib, printTable } from './lib/table';
import { vramOf, vramSnapshot, type VramSnapshot } from './lib/vram';
import { errorMessage } from '../server/src/shared/errors';

const contextSize = 2048;
const limits = { maxTokens: 2, maxLines: 1 };
const MiB = 1024 * 1024;
const targetLightMiB = 32;
const targetGrowthMiB = 16;
// A one-line prompt: each cycle runs the model once, cheaply.
const useDocument = "export type TaskState = 'queued' | 'running';\n";
const cursor = { line: 0, character: 24 };
const uri = 'file:///bench/memory.ts';

interface Step {
  step: string;
  serverRss: number | null;
  hostRss: number | null;
  hostRunning: boolean | null;
  directRss: number | null;
  /** VRAM of the process under test: by pid where nvidia-smi's pids are ours, else all compute apps. */
  vramMiB: number | null;
  vram: VramSnapshot | null;
}

/** The process's VRAM; nvidia-smi in a container may list other pids, then only this process is on the GPU. */
function vramFor(snapshot: VramSnapshot | null, pid: number | null): number | null {
  if (snapshot === null) return null;
  const own = vramOf(snapshot, pid);
  if (own !== null && own > 0) return own;
  return snapshot.apps.reduce((sum, a) => sum + a.mib, 0);
}

const growth = (list: number[]): number => (list.length > 1 ? list[list.length - 1] - list[0] : Number.NaN);

export async function runMemory(ctx: BenchContext): Promise<BenchOutcome> {
  const header = resultHeader('memory', loadAverage());
  // A shape-true model's cycle takes seconds (its load and a completion): fewer of them.
  const lightCycles = Number(process.env['BENCH_MEMORY_CYCLES'] ?? 0);
  const cycles = count(ctx, lightCycles || 100, 5, lightCycles || 10);
  const deepCycles = count(ctx, 10, 3, 3);
  // The direct engine's own growth, over fewer cycles to keep the run short.
  const directCycles = count(ctx, 20, 3, 3);
  const settings = (mode: 'light' | 'deep'): Record<string, unknown> =>
    serverSettings(ctx.model.path, { contextSize, sleepMode: mode, loadOnStartup: false, completion: { debounceMs: 0, ...limits } });
  const loadParams: EngineLoadParams = { modelPath: ctx.model.path, gpu, gpuLayers, contextSize, threads };
  const infill = infillParamsFor(useDocument, cursor, limits);

  const steps: Step[] = [];
  const lightHost: number[] = [];
  const lightServer: number[] = [];
  const lightHostVram: (number | null)[] = [];
  const deepServer: number[] = [];
  const directRss: number[] = [];
  const directVram: (number | null)[] = [];
  let hostBaseline: number | null;
  let backend: string | null;
  let deepHostGone: boolean;
  let lightHostKept = true;

  // Server and model host.
  const server = await startServer(settings('light'));
  try {
    const snap = async (step: string): Promise<ModelStatus> => {
      const s = await server.status();
      const vram = vramSnapshot();
      steps.push({
        step,
        serverRss: s.memory.serverRssBytes,
        hostRss: s.memory.hostRssBytes,
        hostRunning: s.memory.hostPid !== null,
        directRss: null,
        vramMiB: s.memory.hostPid === null ? (vram === null ? null : vramFor(vram, null)) : vramFor(vram, s.memory.hostPid),
        vram,
      });
      return s;
    };
    const use = (): Promise<unknown> => complete(server, uri, cursor);

    await server.waitForState('sleeping', 60_000);
    server.open(uri, useDocument);
    await snap('before load (no model host yet)');
    await wake(server);
    let s = await snap('loaded');
    hostBaseline = s.memory.hostBaselineRssBytes;
    backend = s.model?.backend ?? null;
    await use();
    await snap('loaded, after a completion');
    await sleep(server);
    await snap('after light sleep');

    await wake(server);
    await use();
    server.configure(settings('deep'));
    const deepPid = (await server.status()).memory.hostPid;
    await sleep(server);
    s = await snap('after deep sleep');
    deepHostGone = s.memory.hostPid === null && deepPid !== null && !alive(deepPid);

    server.configure(settings('light'));
    let cyclePid: number | null = null;
    for (let i = 0; i < cycles; i++) {
      await wake(server);
      await use();
      cyclePid ??= (await server.status()).memory.hostPid;
      await sleep(server);
      const c = await server.status();
      if (c.memory.hostPid !== cyclePid) lightHostKept = false;
      lightHost.push(c.memory.hostRssBytes ?? Number.NaN);
      lightServer.push(c.memory.serverRssBytes);
      lightHostVram.push(vramFor(vramSnapshot(), c.memory.hostPid));
    }
    await snap(`after ${cycles} light sleep/wake cycles`);

    server.configure(settings('deep'));
    for (let i = 0; i < deepCycles; i++) {
      await wake(server);
      await use();
      await sleep(server);
      deepServer.push((await server.status()).memory.serverRssBytes);
    }
    await snap(`after ${deepCycles} more deep sleep/wake cycles`);
  } finally {
    await server.stop();
  }

  // The direct engine through the same steps.
  const engine = new DirectEngine();
  let directBaseline: number | null = null;
  let directError: string | null = null;
  try {
    const snap = async (step: string): Promise<void> => {
      const { stats } = await engine.request({ op: 'stats' });
      const vram = vramSnapshot();
      steps.push({
        step: `direct: ${step}`,
        serverRss: null,
        hostRss: null,
        hostRunning: null,
        directRss: stats.rssBytes,
        vramMiB: vramFor(vram, engine.pid),
        vram,
      });
    };
    await snap('started, node-llama-cpp imported, before getLlama');
    // Its "before load" is after getLlama, as the host's baseline is.
    await engine.request({ op: 'load', params: loadParams });
    await engine.request({ op: 'unload' });
    directBaseline = (await engine.request({ op: 'stats' })).stats.rssBytes;
    await engine.request({ op: 'load', params: loadParams });
    await snap('loaded');
    await engine.request({ op: 'infill', params: infill });
    await snap('loaded, after a completion');
    await engine.request({ op: 'unload' });
    await snap('model and context disposed (light sleep)');
    for (let i = 0; i < directCycles; i++) {
      await engine.request({ op: 'load', params: loadParams });
      await engine.request({ op: 'infill', params: infill });
      directRss.push((await engine.request({ op: 'unload' })).stats.rssBytes);
      directVram.push(vramFor(vramSnapshot(), engine.pid));
    }
    await snap(`after ${directCycles} load/unload cycles`);
  } catch (err) {
    // The server's figures stand on their own; say why the baseline is missing.
    directError = errorMessage(err);
    process.stdout.write(`The direct engine failed: ${directError}\n`);
  } finally {
    await engine.stop();
  }

  printTable(
    `Memory (MiB): ${ctx.model.kind} on ${backend ?? gpu}, context ${contextSize}, ${threads} thread(s); host baseline (started, no model) ${mib(hostBaseline)}, direct after getLlama ${mib(directBaseline)}`,
    ['step', 'server RSS', 'host RSS', 'direct RSS', 'VRAM'],
    steps.map((x) => [x.step, mib(x.serverRss), x.hostRunning === false ? 'no host' : mib(x.hostRss), mib(x.directRss), x.vramMiB]),
  );
  const lightSleep = steps.find((x) => x.step === 'after light sleep');
  const lightOverBaseline = lightSleep?.hostRss != null && hostBaseline != null ? lightSleep.hostRss - hostBaseline : Number.NaN;
  const hostGrowth = growth(lightHost);
  const serverGrowthLight = growth(lightServer);
  const serverGrowthDeep = growth(deepServer);
  const directGrowth = growth(directRss);
  const vramGrowth = lightHostVram.length > 1 && lightHostVram[0] !== null ? (lightHostVram.at(-1) ?? 0) - lightHostVram[0] : null;
  process.stdout.write(
    `Light sleep: host ${mib(lightOverBaseline)} MiB over its pre-load RSS. Growth first to last cycle: host ${mib(hostGrowth)} MiB and server ${mib(serverGrowthLight)} MiB over ${cycles} light cycles` +
      `${vramGrowth === null ? '' : `, host VRAM ${vramGrowth} MiB`}; server ${mib(serverGrowthDeep)} MiB over ${deepCycles} deep cycles; direct ${mib(directGrowth)} MiB over ${directCycles}. ` +
      `Deep sleep: model host ${deepHostGone ? 'gone' : 'STILL RUNNING'}.\n`,
  );

  const file = writeResult('memory', header, {
    model: { path: ctx.model.path, kind: ctx.model.kind, backend },
    settings: { contextSize, threads, gpu, ...limits },
    units: 'RSS in MiB; VRAM in MiB from nvidia-smi (null: no NVIDIA GPU)',
    hostBaselineRssMiB: mib(hostBaseline),
    directBaselineRssMiB: mib(directBaseline),
    directError,
    steps: steps.map((x) => ({ ...x, serverRss: mib(x.serverRss), hostRss: mib(x.hostRss), directRss: mib(x.directRss) })),
    lightSleepOverBaselineMiB: mib(lightOverBaseline),
    deepSleepHostGone: deepHostGone,
    lightCyclesKeptOneHost: lightHostKept,
    cycles: {
      light: cycles,
      deep: deepCycles,
      direct: directCycles,
      hostRssAfterEachLightSleep: lightHost.map(mib),
      hostVramAfterEachLightSleep: lightHostVram,
      serverRssAfterEachLightSleep: lightServer.map(mib),
      serverRssAfterEachDeepSleep: deepServer.map(mib),
      directRssAfterEachUnload: directRss.map(mib),
      directVramAfterEachUnload: directVram,
      growthMiB: {
        host: mib(hostGrowth),
        hostVram: vramGrowth,
        serverLight: mib(serverGrowthLight),
        serverDeep: mib(serverGrowthDeep),
        direct: mib(directGrowth),
      },
    },
    targets: { lightSleepOverBaselineMiB: targetLightMiB, growthMiB: targetGrowthMiB },
  });
  const maxGrowth = Math.max(hostGrowth, serverGrowthLight, serverGrowthDeep);
  return {
    name: 'memory',
    file,
    verdicts: [
      {
        figure: 'Light sleep: host RSS over its pre-load RSS',
        value: `+${mib(lightOverBaseline)} MiB (${mib(lightSleep?.hostRss)} vs ${mib(hostBaseline)})`,
        target: `<= +${targetLightMiB} MiB`,
        met: lightOverBaseline <= targetLightMiB * MiB,
      },
      { figure: 'Deep sleep: model host gone', value: deepHostGone ? 'gone' : 'still running', target: 'gone', met: deepHostGone },
      {
        figure: `RSS growth over ${cycles} light cycles (host / server)`,
        value: `${mib(hostGrowth)} / ${mib(serverGrowthLight)} MiB; server over ${deepCycles} deep: ${mib(serverGrowthDeep)} MiB`,
        target: `<= ${targetGrowthMiB} MiB`,
        met: maxGrowth <= targetGrowthMiB * MiB,
      },
    ],
  };
}
