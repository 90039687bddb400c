// What the worker checks before node-llama-cpp's downloader touches a model URL: one HEAD per
// redirect hop, followed by hand. The downloader itself follows a redirect to a file: URL or a
// redirect loop by failing and retrying for minutes, so those are caught here, in a moment. The
// same answers say whether the file is there (a 404 on the downloader's size request only makes
// it go on with an unknown size), which sha256 the hub publishes for it, and whether a hop leads
// to plain http off this machine (an https URL may redirect there), which the user is asked about.
import { hfFileUrl, parseModelRef, type HfModelRef } from '../../shared/modelRef';
import { hfToken, hubEndpoint, linkedEtagSha256 } from './hub';
import type { FailureReason } from './messages';
import { needsInsecureConfirmation } from '../../shared/insecureUrl';

const maxRedirects = 10;
const requestTimeoutMs = 15_000;

/** A failure the worker recognised itself (see FailureReason). */
export class ProbeFailure extends Error {
  constructor(readonly reason: FailureReason) {
    super(`probe: ${reason.kind}`);
  }
}

/** An HTTP status that means the file cannot be had (404, 401, 403). */
export class HttpStatusError extends Error {
  constructor(
    readonly statusCode: number,
    url: string,
  ) {
    super(`HTTP ${statusCode} for ${url}`);
  }
}

export interface ProbeResult {
  /** The sha256 the hub publishes for the file (x-linked-etag), or null. */
  hubSha256: string | null;
  /** The first plain-http host off this machine on the way to the file (a redirect's), or null. */
  plainHttpHost: string | null;
}

/** A model URL as the downloader gets it: without the fragment (which only carries a hash). */
export function downloadUri(uri: string): string {
  const parsed = parseModelRef(uri);
  if (!parsed.ok || parsed.ref.kind !== 'url') return uri;
  const url = new URL(parsed.ref.url.href);
  url.hash = '';
  return url.href;
}

/** The file an hf:user/repo:quant URI names, read from the hub's manifest as node-llama-cpp does; null when unsure. */
async function quantFileUrl(ref: HfModelRef, hub: string, token: string | null): Promise<string | null> {
  const base = hub.endsWith('/') ? hub : `${hub}/`;
  const manifest = new URL(
    `v2/${encodeURIComponent(ref.user)}/${encodeURIComponent(ref.repo)}/manifests/${encodeURIComponent(ref.quant ?? 'latest')}`,
    base,
  );
  let res: Response;
  try {
    // This user agent makes the hub name the GGUF file (ggufFile) in its answer.
    const headers: Record<string, string> = { 'user-agent': 'llama-cpp', ...(token ? { authorization: `Bearer ${token}` } : {}) };
    res = await fetch(manifest, { headers, signal: AbortSignal.timeout(requestTimeoutMs) });
  } catch {
    return null; // the downloader meets, and reports, the same trouble
  }
  if (res.status === 400 || res.status === 404) throw new HttpStatusError(404, manifest.href);
  if (res.status === 401 || res.status === 403) throw new HttpStatusError(res.status, manifest.href);
  if (!res.ok) return null;
  try {
    const body = (await res.json()) as { ggufFile?: { rfilename?: unknown } };
    const file = body.ggufFile?.rfilename;
    return typeof file === 'string' && file !== '' ? hfFileUrl({ ...ref, file, quant: null, branch: null }, hub) : null;
  } catch {
    return null;
  }
}

/**
 * Follows the model URL's redirects with HEAD requests. Throws ProbeFailure for a redirect to
 * anything but http(s), a loop or too many hops, and HttpStatusError when the URL's own host
 * answers 404/410, 401 or 403; other answers and network errors are left to the downloader. The
 * token goes only to the URL's own host, and only the hub's own answers count for the hash.
 */
async function follow(start: string, token: string | null): Promise<ProbeResult> {
  const origin = new URL(start).origin;
  const seen = new Set<string>();
  let url = start;
  let hubSha256: string | null = null;
  let plainHttpHost: string | null = null;
  for (let hops = 0; ; hops++) {
    seen.add(url);
    // Noted before the request: a hop that cannot be reached is still one the bytes would take.
    if (plainHttpHost === null && needsInsecureConfirmation(url)) plainHttpHost = new URL(url).host;
    const own = new URL(url).origin === origin;
    const headers: Record<string, string> = own && token ? { authorization: `Bearer ${token}` } : {};
    let res: Response;
    try {
      res = await fetch(url, { method: 'HEAD', headers, redirect: 'manual', signal: AbortSignal.timeout(requestTimeoutMs) });
    } catch {
      return { hubSha256, plainHttpHost };
    }
    if (own) hubSha256 ??= linkedEtagSha256(res.headers.get('x-linked-etag'));
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location !== null) {
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        throw new ProbeFailure({ kind: 'redirectScheme', scheme: 'invalid' });
      }
      if (next.protocol !== 'http:' && next.protocol !== 'https:')
        throw new ProbeFailure({ kind: 'redirectScheme', scheme: next.protocol });
      next.hash = '';
      if (seen.has(next.href)) throw new ProbeFailure({ kind: 'redirectLoop' });
      if (hops + 1 > maxRedirects) throw new ProbeFailure({ kind: 'redirectTooMany', hops: maxRedirects });
      url = next.href;
      continue;
    }
    if (own && (res.status === 404 || res.status === 410)) throw new HttpStatusError(404, url);
    if (own && (res.status === 401 || res.status === 403)) throw new HttpStatusError(res.status, url);
    return { hubSha256, plainHttpHost };
  }
}

/** Checks the file's URL before the download (see follow); an hf: URI's hub also gets the token. */
export async function probeModelUrl(uri: string, endpoint: string | undefined): Promise<ProbeResult> {
  const parsed = parseModelRef(uri);
  if (!parsed.ok || parsed.ref.kind === 'local') return { hubSha256: null, plainHttpHost: null };
  const hub = hubEndpoint(endpoint);
  if (parsed.ref.kind === 'url') {
    // A URL on the hub gets the token too, as node-llama-cpp sends it there.
    const onHub = [new URL(hub).host, 'huggingface.co', 'hf.co'].includes(parsed.ref.url.host);
    return follow(downloadUri(uri), onHub ? await hfToken() : null);
  }
  const token = await hfToken();
  const url = parsed.ref.file !== null ? hfFileUrl(parsed.ref, hub) : await quantFileUrl(parsed.ref, hub, token);
  return url ? follow(url, token) : { hubSha256: null, plainHttpHost: null };
}
