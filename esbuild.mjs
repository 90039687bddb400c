// One build script for every bundle: client (extension host), server, model host, download
// worker, chat webview; with --tests also the suite that runs inside a real extension host.
import * as esbuild from 'esbuild';
import { importBundledNodeLlamaCpp, nodeLlamaCppBundles } from './scripts/build/nodeLlamaCpp.mjs';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');
// The in-VS-Code test suite is built only for the tests, never into the product.
const tests = process.argv.includes('--tests');

const node = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: !production,
  minify: production,
  logLevel: 'info',
  // Only the model host and the download worker load node-llama-cpp, from its own bundle.
  external: ['vscode', 'node-llama-cpp'],
};
/** The bundles that import node-llama-cpp: their import loads dist/nodeLlamaCpp.mjs. */
const llamaUser = { ...node, external: ['vscode'], plugins: [importBundledNodeLlamaCpp] };

const bundles = [
  { ...node, entryPoints: { client: 'client/src/extension.ts' }, outdir: 'dist' },
  { ...node, entryPoints: { server: 'server/src/main.ts' }, outdir: 'dist' },
  { ...llamaUser, entryPoints: { host: 'server/src/host/main.ts' }, outdir: 'dist' },
  // Short-lived child for model downloads, so the server never loads node-llama-cpp itself.
  { ...llamaUser, entryPoints: { downloadWorker: 'server/src/models/download/worker.ts' }, outdir: 'dist' },
  // node-llama-cpp and its dependencies, with its binaries and data left where it looks for them.
  ...nodeLlamaCppBundles({ root: import.meta.dirname, base: node }),
  {
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    sourcemap: !production,
    minify: production,
    logLevel: 'info',
    entryPoints: { chat: 'media/chat.ts' },
    outdir: 'dist/media',
  },
];
if (tests) {
  // Runs inside a real extension host (code-server here, @vscode/test-electron elsewhere).
  bundles.push({
    ...node,
    entryPoints: { index: 'test/vscode/suites/index.ts' },
    outdir: 'dist/test/vscode',
    // mocha's parallel mode (unused here) resolves worker files at run time.
    logOverride: { 'require-resolve-not-external': 'silent' },
  });
}

const contexts = await Promise.all(bundles.map((b) => esbuild.context(b)));
if (watch) {
  await Promise.all(contexts.map((c) => c.watch()));
} else {
  await Promise.all(contexts.map((c) => c.rebuild()));
  await Promise.all(contexts.map((c) => c.dispose()));
}
