// Which kind of server answers at the engine URL, found from the server itself: llama-server's
// GET /props, Ollama's GET /api/version, vLLM's GET /version (then any OpenAI-compatible server
// with GET /v1/models). Every probe is read-only and none wakes a sleeping model.
import type { RemoteKind } from '../../shared/settings';
import { isRecord, type ServerAdapter, type ServerKind } from './adapter';
import { llamaServerAdapter, looksLikeLlamaServer } from './llamaServer';
import { ollamaAdapter } from './ollama';
import { openAiAdapter } from './openai';
import { RemoteError, type HttpClient, type RequestOptions } from './request';

export const adapters: Record<ServerKind, ServerAdapter> = {
  'llama-server': llamaServerAdapter,
  ollama: ollamaAdapter,
  openai: openAiAdapter,
};

export async function detectKind(http: HttpClient, forced: RemoteKind, options: RequestOptions): Promise<ServerKind> {
  if (forced !== 'auto') return forced;
  const props = await http.json('GET', '/props', undefined, options);
  // An API key problem is the answer whatever the kind.
  if (props.status === 401 || props.status === 403) throw http.statusError(props.status, props.body);
  if (props.status === 200 && looksLikeLlamaServer(props.body)) return 'llama-server';
  const ollama = await http.json('GET', '/api/version', undefined, options);
  if (ollama.status === 200 && isRecord(ollama.body) && typeof ollama.body.version === 'string') return 'ollama';
  const vllm = await http.json('GET', '/version', undefined, options);
  if (vllm.status === 200 && isRecord(vllm.body) && typeof vllm.body.version === 'string') return 'openai';
  const models = await http.json('GET', '/v1/models', undefined, options);
  if (models.status === 401 || models.status === 403) throw http.statusError(models.status, models.body);
  if (models.status === 200 && isRecord(models.body) && Array.isArray(models.body.data)) return 'openai';
  throw new RemoteError(
    'unknown-server',
    `${http.label} is not a model server this extension knows (llama-server, Ollama or an OpenAI-compatible one); set localLlm.remote.kind if it is one.`,
  );
}
