// Where hf: references are downloaded from: the Hugging Face hub, or the endpoint a test or a
// mirror names (MODEL_ENDPOINT and HF_ENDPOINT are the variables node-llama-cpp also reads), the
// token node-llama-cpp would send there, and the file hash the hub publishes.
import { readFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';

const defaultHub = 'https://huggingface.co/';

export function hubEndpoint(endpoint?: string): string {
  return endpoint || process.env.MODEL_ENDPOINT || process.env.HF_ENDPOINT || defaultHub;
}

/**
 * The Hugging Face token node-llama-cpp sends to the hub: HF_TOKEN, else the file the
 * huggingface CLI writes (HF_TOKEN_PATH, or `token` under HF_HOME or ~/.cache/huggingface).
 */
export async function hfToken(): Promise<string | null> {
  if (process.env.HF_TOKEN) return process.env.HF_TOKEN;
  const home = process.env.HF_HOME || path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'huggingface');
  try {
    const token = (await readFile(process.env.HF_TOKEN_PATH || path.join(home, 'token'), 'utf8')).trim();
    return token === '' ? null : token;
  } catch {
    return null;
  }
}

const sha256Hex = /^[0-9a-f]{64}$/;

/**
 * The sha256 in Hugging Face's x-linked-etag header (a quoted hex digest, sent for files stored
 * in LFS, which every GGUF is), lower-case; null when the header is absent or holds anything else.
 */
export function linkedEtagSha256(header: string | null): string | null {
  if (!header) return null;
  const value = header
    .trim()
    .replace(/^W\//, '')
    .replace(/^"(.*)"$/, '$1')
    .toLowerCase();
  return sha256Hex.test(value) ? value : null;
}

/**
 * The sha256 a model URL carries in a `#sha256=<hex>` fragment, lower-case: null without one,
 * 'invalid' when the fragment names sha256 but does not hold 64 hex digits.
 */
export function urlFragmentSha256(url: URL): string | null | 'invalid' {
  const m = /^#sha256=(.*)$/i.exec(url.hash);
  if (!m) return null;
  const value = m[1].toLowerCase();
  return sha256Hex.test(value) ? value : 'invalid';
}
