// A model host of the built dist/host.js with a rendezvous folder of its own, so that two hosts of
// one identity can differ in what they load (prompt lookup, a draft model); the folder is listed
// in `dirs` for the caller to remove once the host has exited.
import { mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HostProcess } from '../../server/src/engine/local/hostProcess';
import type { LoadParams } from '../../server/src/engine/types';
import { testHooksEnv, type TestHooks } from '../../server/src/shared/testHooks';

const hostPath = path.resolve(__dirname, '..', '..', 'dist', 'host.js');

/** Its identity is the load parameters' (with the draft model's file when there is one); it sleeps deep and saves no state. */
export function startBenchHost(params: LoadParams, name: string, dirs: string[], hooks: TestHooks): HostProcess {
  const dir = mkdtempSync(path.join(os.tmpdir(), `llm-bench-${name}-`));
  dirs.push(dir);
  const { modelPath, gpu, gpuLayers, contextSize, threads, draftModelPath } = params;
  return new HostProcess({
    hostPath,
    env: { ...process.env, LOCAL_LLM_RUNTIME_DIR: dir, ...testHooksEnv(hooks) },
    identity: { modelPath, gpu, gpuLayers, contextSize, threads, ...(draftModelPath ? { draftModelPath } : {}) },
    hello: { idleMs: 0, sleepMode: 'deep', stateCapBytes: 0 },
  });
}
