// Checks what a user typed as a model to download, before it becomes the `localLlm.model`
// setting. The server checks again (and the file itself) when it loads. No `vscode` import.

const hfUri = /^hf:[\w.-]+\/[\w.-]+(:[\w.-]+|\/[^\s#]+)?(#[\w./-]+)?$/;

/** One sentence saying what is wrong, or null when it can be used. */
export function checkModelReference(text: string): string | null {
  const value = text.trim();
  if (value === '') return 'Type an hf: URI such as hf:user/repo/model.gguf, or an https URL of a .gguf file.';
  if (value.startsWith('hf:')) {
    return hfUri.test(value) ? null : 'An hf: URI looks like hf:user/repo/model.gguf or hf:user/repo:Q4_K_M.';
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'This is neither an hf: URI nor a URL.';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `A model URL must start with https://, not ${url.protocol}//.`;
  if (!url.pathname.toLowerCase().endsWith('.gguf')) return 'The URL must point at a .gguf file.';
  return null;
}
