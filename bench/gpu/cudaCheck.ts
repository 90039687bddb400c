// Before the GPU benchmarks: node-llama-cpp on CUDA loads the model and decodes a few tokens. The
// prebuilt CUDA library passed getLlama on the H200 and aborted at the first decode, so both are tried.
// Usage: node --import tsx bench/gpu/cudaCheck.ts <model.gguf>
async function main(modelPath: string | undefined): Promise<void> {
  if (!modelPath) throw new Error('Usage: cudaCheck.ts <model.gguf>');
  const { getLlama, LlamaCompletion } = await import('node-llama-cpp');
  const t0 = performance.now();
  const llama = await getLlama({ gpu: 'cuda', build: 'never', progressLogs: false });
  const t1 = performance.now();
  const model = await llama.loadModel({ modelPath, gpuLayers: 'auto' });
  const context = await model.createContext({ contextSize: 1024 });
  const completion = new LlamaCompletion({ contextSequence: context.getSequence() });
  const t2 = performance.now();
  const text = await completion.generateCompletion('function add(a, b) {', { maxTokens: 16 });
  const t3 = performance.now();
  const vram = await llama.getVramState();
  process.stdout.write(
    `backend ${llama.gpu} on ${(await llama.getGpuDeviceNames()).join(', ')}; layers on GPU ${model.gpuLayers}/${model.fileInsights.totalLayers}; ` +
      `getLlama ${(t1 - t0).toFixed(0)} ms, load+context ${(t2 - t1).toFixed(0)} ms, 16 tokens ${(t3 - t2).toFixed(0)} ms (${text.length} chars); ` +
      `device VRAM used ${(vram.used / 1048576).toFixed(0)} MiB\n`,
  );
  if (llama.gpu !== 'cuda') throw new Error(`node-llama-cpp runs on ${String(llama.gpu)}, not CUDA.`);
  await context.dispose();
  await model.dispose();
  await llama.dispose();
}

main(process.argv[2]).catch((err: unknown) => {
  process.stderr.write(`CUDA check failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
