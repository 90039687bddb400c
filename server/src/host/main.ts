// The model host process: the only importer of node-llama-cpp. Started by a language server
// detached, as the host that every window of the user with the same model and settings shares
// through a socket (sharedHost.ts). If llama.cpp aborts, only this process dies.
import { errorMessage, errorStack } from '../shared/errors';
import { readTestHooks, waitForFile } from '../shared/testHooks';
import { LlamaEngine } from './llama/llamaEngine';
import { hostKey, rendezvousPaths, type HostIdentity } from '../shared/rendezvous';
import { SharedHost } from './sharedHost';
import { describeWarmth, standbyWindows, warmStandby, whenWindowsGone } from './standby';
import { formatWakeBreakdown } from './wakeBreakdown';

/** Ms from the process start until this module ran (the bundle's modules before it): the first step of a deep wake. */
const processStartMs = performance.now();

/** How long a shared host waits for a window after the last one left; tests shorten it (testHooks.ts). */
const defaultGraceMs = 10_000;
/** What tests and benchmarks set (testHooks.ts), read once here and handed on as options. */
const hooks = readTestHooks();

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

process.on('uncaughtException', (err) => {
  log(`Model host error: ${errorStack(err)}`);
  process.exit(1);
});
process.on('unhandledRejection', (reason) => {
  log(`Model host unhandled rejection: ${errorStack(reason)}`);
});

/** Where the engine's lines go: stderr, and in a shared host also every attached window's log. */
let logLine = log;
const sharedDir = process.env['LOCAL_LLM_HOST_DIR'];
// A shared host's own log (its detached stderr) also gets the window switches' save and restore times.
const engine = new LlamaEngine({
  log: (line) => logLine(line),
  ...(hooks.hostDraftConfidence !== undefined ? { draftConfidence: hooks.hostDraftConfidence } : {}),
  ...(hooks.hostSecondLoadGateFile !== undefined ? { secondLoadGate: waitForFile(hooks.hostSecondLoadGateFile) } : {}),
  ...(sharedDir ? { trace: (line: string) => log(`${new Date().toISOString()} ${line}`) } : {}),
});
engine.ready().catch((err: unknown) => {
  log(`node-llama-cpp could not be imported: ${errorMessage(err)}`);
  process.exit(1);
});

if (sharedDir) {
  // Whatever the host creates (socket, description, log) is the user's alone.
  process.umask(0o077);
  const identity = JSON.parse(process.env['LOCAL_LLM_HOST_IDENTITY'] ?? '{}') as HostIdentity;
  const windows = standbyWindows(process.env);
  const standby = windows !== null;
  // Stops the standby's read of the model file once a load begins.
  const warming = new AbortController();
  let loads = 0;
  const shared: SharedHost = new SharedHost({
    engine,
    identity,
    paths: rendezvousPaths(sharedDir, hostKey(identity)),
    graceMs: hooks.hostGraceMs ?? defaultGraceMs,
    // The benchmark's baseline: completions of all windows first come, first served.
    priority: hooks.hostPriority ?? true,
    // The benchmark's baseline: a window switch evaluates the window's prompt again.
    windowStates: hooks.hostWindowStates ?? true,
    log: (line) => log(`${new Date().toISOString()} ${line}`),
    standby,
    onLoadStart: () => warming.abort(),
    onLoaded: () => {
      const first = loads++ === 0;
      const timings = engine.lastLoadTimings;
      if (!timings) return;
      const restoreStarted = performance.now();
      // Queued behind the restore the load started, so it settles when that one is done.
      void engine
        .restoreSaved('completion')
        .catch(() => undefined)
        .then(() => {
          const host = !first ? 'kept' : standby ? 'standby' : 'fresh';
          // A fresh host's start and import were on the wake's way; a standby's were done before it.
          const ahead = host !== 'fresh';
          shared.logLine(
            formatWakeBreakdown({
              processStartMs: ahead ? null : processStartMs,
              importMs: ahead ? null : engine.importMs,
              getLlamaMs: timings.getLlamaMs,
              checkMs: timings.checkMs,
              loadModelMs: timings.loadModelMs,
              createContextMs: timings.createContextMs,
              restoreMs: performance.now() - restoreStarted,
              host,
            }),
          );
        });
    },
  });
  logLine = (line) => shared.logLine(line);
  shared.listen().then(
    (listening) => {
      if (listening) {
        if (windows !== null) {
          whenWindowsGone(windows, () => shared.endStandby('The windows this standby host was started for are gone: it exits.'));
          warmStandby(engine, identity, warming.signal).then(
            (done) => log(`${new Date().toISOString()} ${describeWarmth(done)}`),
            (err: unknown) => log(`The standby host's warm-up failed: ${errorMessage(err)}`),
          );
        }
        return;
      }
      log('Another model host of this model and these settings runs already; this one exits.');
      process.exit(0);
    },
    (err: unknown) => {
      log(`The model host could not listen: ${errorMessage(err)}`);
      process.exit(1);
    },
  );
} else {
  // The socket is the only way in: a host started any other way would serve nobody.
  log('The model host serves only through its socket: the language server starts it with LOCAL_LLM_HOST_DIR set.');
  process.exit(1);
}
