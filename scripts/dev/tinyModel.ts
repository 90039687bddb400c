// The generated tiny GGUF (random weights, real tokenizer metadata) from scripts/dev/models.ts, run as a child.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from './paths';

const generator = path.join(repoRoot, 'scripts', 'dev', 'models.ts');

/** Path of the tiny model, generating it when its cache lacks it. */
export function tinyModelPath(): Promise<string> {
  if (!existsSync(generator)) return Promise.reject(new Error('scripts/dev/models.ts is missing, so no tiny model can be generated.'));
  return new Promise((resolve, reject) => {
    // A child process keeps node-llama-cpp (ESM, native) out of this process.
    const child = spawn(process.execPath, ['--import', 'tsx', generator, 'tiny'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const last = out.trim().split('\n').pop()?.trim() ?? '';
      if (code === 0 && last && existsSync(last)) resolve(last);
      else
        reject(new Error(`Generating the tiny model failed (exit code ${code}): ${(err || out).trim().split('\n').slice(-5).join(' | ')}`));
    });
  });
}
