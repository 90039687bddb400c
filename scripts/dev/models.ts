// Generated test models, cached under .cache/models/ (the file name holds a hash of the generator
// and its options, so a change to either makes a fresh file and a stale one is never reused).
// CLI: `node --import tsx scripts/dev/models.ts tiny|large` prints the model's path.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import * as path from 'node:path';
import { defaultGgufOptions, writeGguf, type GgufModelOptions } from './gguf';

const repoRoot = path.resolve(__dirname, '..', '..');
export const modelCacheDir = path.join(repoRoot, '.cache', 'models');

/** 2 layers x 64: about 0.5 MB, loads in milliseconds. */
export const tinyOptions: GgufModelOptions = { ...defaultGgufOptions, name: 'tiny-random', seed: 1 };

/** The tiny model with Qwen2.5-Coder's repository tokens, so the ring's repository layout runs on a real model. */
export const tinyRepoOptions: GgufModelOptions = { ...tinyOptions, name: 'tiny-repo', withRepo: true };
/**
 * The tiny model for llama-server: byte tokens 0x00-0x7F only, so whatever random weights sample is
 * valid UTF-8 (llama-server answers 500 on invalid UTF-8 in its JSON).
 */
export const tinyAsciiOptions: GgufModelOptions = { ...tinyOptions, name: 'tiny-ascii', asciiBytesOnly: true };
/** The tiny model whose output tokenizes back to the tokens it generated (#24's control case): one token per character. */
export const tinyRoundTripOptions: GgufModelOptions = { ...tinyOptions, name: 'tiny-roundtrip', roundTrip: true };

/** 8 layers x 1024, F16: about 270 MB, big enough that freeing it shows in RSS. */
export const largeOptions: GgufModelOptions = {
  ...defaultGgufOptions,
  name: 'large-random',
  layers: 8,
  embd: 1024,
  ff: 4096,
  heads: 16,
  f16: true,
  seed: 2,
};

const generatorHash = ['gguf.ts', 'ggufWriter.ts', 'randomBits.ts']
  .reduce((hash, file) => hash.update(readFileSync(path.join(__dirname, file))), createHash('sha256'))
  .digest('hex');

/** Path of the model for these options, written once (atomically, so parallel callers are safe). */
export async function cachedModel(options: GgufModelOptions): Promise<string> {
  const key = createHash('sha256').update(generatorHash).update(JSON.stringify(options)).digest('hex').slice(0, 12);
  const file = path.join(modelCacheDir, `${options.name}-${key}.gguf`);
  if (existsSync(file)) return file;
  await mkdir(modelCacheDir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeGguf(tmp, options);
  await rename(tmp, file);
  return file;
}

export const tinyModel = (): Promise<string> => cachedModel(tinyOptions);
export const tinyRepoModel = (): Promise<string> => cachedModel(tinyRepoOptions);
export const largeModel = (): Promise<string> => cachedModel(largeOptions);
export const tinyAsciiModel = (): Promise<string> => cachedModel(tinyAsciiOptions);
export const tinyRoundTripModel = (): Promise<string> => cachedModel(tinyRoundTripOptions);

async function main(which: string | undefined): Promise<void> {
  if (which !== 'tiny' && which !== 'large') {
    process.stderr.write('Usage: node --import tsx scripts/dev/models.ts tiny|large\n');
    process.exitCode = 2;
    return;
  }
  process.stdout.write(`${which === 'tiny' ? await tinyModel() : await largeModel()}\n`);
}

if (require.main === module) {
  main(process.argv[2]).catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
