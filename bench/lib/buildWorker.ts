// Bundles the direct engine like the model host is bundled (CommonJS, node-llama-cpp external),
// so the baseline runs as plain JavaScript in plain Node, without a TypeScript loader.
import * as path from 'node:path';
import { build } from 'esbuild';
import { engineWorkerPath } from '../direct/engine';

export async function buildEngineWorker(): Promise<void> {
  await build({
    entryPoints: [path.resolve(__dirname, '../direct/engineWorker.ts')],
    outfile: engineWorkerPath,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['node-llama-cpp'],
    logLevel: 'warning',
  });
}
