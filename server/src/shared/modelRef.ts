// The one grammar of the `localLlm.model` setting: a local path, an `hf:` URI or an http(s) URL.
// The client checks what a user types with it, the server resolves and caches with it, and the
// downloader builds the file URL from it, so all three accept exactly the same forms.

/** `hf:user/repo/path/to/file.gguf`, `hf:user/repo:Q4_K_M`, each optionally `#branch`. */
export interface HfModelRef {
  kind: 'hf';
  user: string;
  repo: string;
  /** Path of the file inside the repository; null when a quantization tag names it instead. */
  file: string | null;
  quant: string | null;
  branch: string | null;
  /** The one spelling used as cache key: `hf:user/repo/file#branch`. */
  source: string;
}

export interface UrlModelRef {
  kind: 'url';
  url: URL;
  source: string;
}

export interface LocalModelRef {
  kind: 'local';
  /** As the user wrote it: absolute, `~/…` or a `file:` URI; the server makes it a real path. */
  text: string;
}

export type ModelRef = HfModelRef | UrlModelRef | LocalModelRef;

export type ParsedModelRef = { ok: true; ref: ModelRef } | { ok: false; problem: string };

// `hf:`, `hf://`, `huggingface:` and `huggingface://` are all spellings of the same thing.
const hfPrefix = /^(?:hf|huggingface):(?:\/\/)?/i;
const name = '[\\w.-]+';
const hfBody = new RegExp(`^(${name})/(${name})(?:/([^\\s#]+)|:(${name}))?(?:#([\\w./-]+))?$`);
const urlPrefix = /^[a-z][a-z0-9+.-]*:\/\//i;

/** True for references that name something to download (hf: URIs and URLs). */
export function isRemoteModelRef(text: string): boolean {
  const value = text.trim();
  return hfPrefix.test(value) || (urlPrefix.test(value) && !/^file:/i.test(value));
}

/** Reads a model reference; an empty setting is not one (it means "the recommended preset"). */
export function parseModelRef(text: string): ParsedModelRef {
  const value = text.trim();
  if (value === '') return { ok: false, problem: 'No model is set.' };
  if (hfPrefix.test(value)) {
    const m = hfBody.exec(value.replace(hfPrefix, ''));
    if (!m) return { ok: false, problem: 'An hf: URI looks like hf:user/repo/model.gguf or hf:user/repo:Q4_K_M.' };
    const [, user, repo, file, quant, branch] = m;
    const ref: HfModelRef = {
      kind: 'hf',
      user,
      repo,
      file: file ?? null,
      quant: quant ?? null,
      branch: branch ?? null,
      source: `hf:${user}/${repo}${file ? `/${file}` : quant ? `:${quant}` : ''}${branch ? `#${branch}` : ''}`,
    };
    return { ok: true, ref };
  }
  if (urlPrefix.test(value) && !/^file:/i.test(value)) {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return { ok: false, problem: `${value} is not a valid URL.` };
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      return { ok: false, problem: `A model URL must start with https://, not ${url.protocol}//.` };
    }
    if (!url.pathname.toLowerCase().endsWith('.gguf')) return { ok: false, problem: 'A model URL must point at a .gguf file.' };
    return { ok: true, ref: { kind: 'url', url, source: value } };
  }
  return { ok: true, ref: { kind: 'local', text: value } };
}

/** The cache key of a remote reference; a local one (or an unreadable one) is returned trimmed. */
export function modelSource(text: string): string {
  const parsed = parseModelRef(text);
  return parsed.ok && parsed.ref.kind !== 'local' ? parsed.ref.source : text.trim();
}

/** The direct file URL of an hf: reference that names a file, on the given hub; null otherwise. */
export function hfFileUrl(ref: HfModelRef, endpoint: string): string | null {
  if (ref.file === null) return null;
  const base = endpoint.endsWith('/') ? endpoint : `${endpoint}/`;
  return new URL(`${ref.user}/${ref.repo}/resolve/${ref.branch ?? 'main'}/${ref.file}`, base).href;
}
