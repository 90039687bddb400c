// HTTP to a model server: JSON requests and server-sent-event streams, each with a deadline that
// counts from the last sign of life (so a long answer that keeps streaming is fine, a server that
// stops answering is not), cancellation by aborting the fetch (the server sees the connection
// close and stops generating), a bearer token that is never logged, and every failure turned into
// one sentence that names the server.
import { systemClock, type Clock } from '../../shared/clock';
import { formatTimeSpan } from '../../shared/format';

/** What went wrong, for the caller's choice of what to do next; the message is the sentence. */
export type RemoteFailure = 'unreachable' | 'refused' | 'auth' | 'unknown-server' | 'no-fim' | 'timeout' | 'cut' | 'http';

export class RemoteError extends Error {
  constructor(
    readonly failure: RemoteFailure,
    message: string,
    readonly status: number | null = null,
    /** The server had begun its answer when this happened. */
    readonly answered = false,
  ) {
    super(message);
  }
}

/** The request was aborted by its caller (not a failure). */
export class RemoteAbortError extends Error {
  constructor() {
    super('The request was cancelled.');
  }
}

export interface HttpClientOptions {
  /** The server's base URL, without a trailing slash. */
  baseUrl: string;
  apiKey(): string | null;
  /** The deadlines' timers (a fake one in tests). */
  clock?: Clock;
}

export interface RequestOptions {
  signal?: AbortSignal;
  /** No answer (or no new data on a stream) for this long fails the request. */
  timeoutMs: number;
  /**
   * Asked when the deadline passes before the server answered at all: a longer deadline to wait
   * on instead (the server is waking its model), or null to fail.
   */
  onSlow?(): Promise<number | null>;
}

export interface JsonResponse {
  status: number;
  body: unknown;
}

function errorCode(err: unknown): string | null {
  let e: unknown = err;
  for (let depth = 0; depth < 4 && e; depth++) {
    if (typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string') return e.code;
    e = typeof e === 'object' && e !== null && 'cause' in e ? e.cause : null;
  }
  return null;
}

export class HttpClient {
  constructor(private readonly options: HttpClientOptions) {}

  get baseUrl(): string {
    return this.options.baseUrl;
  }

  /** The server as a sentence names it: its host and port. */
  get label(): string {
    try {
      return new URL(this.options.baseUrl).host;
    } catch {
      return this.options.baseUrl;
    }
  }

  /** A JSON request; any status is answered (the caller decides), a transport failure throws a RemoteError. */
  async json(method: 'GET' | 'POST', path: string, body: unknown, options: RequestOptions): Promise<JsonResponse> {
    return this.send(method, path, body, options, async (response, alive) => {
      const text = await response.text();
      alive();
      return { status: response.status, body: text ? parseMaybe(text) : null };
    });
  }

  /**
   * POSTs `body` and hands each server-sent event's data (parsed JSON) to `onEvent`, which returns
   * false to stop reading (the connection is closed, which stops the server's generation). A
   * non-2xx answer throws a RemoteError with the server's own message. `ndjson`: one JSON object
   * a line instead of server-sent events (Ollama).
   */
  async stream(
    path: string,
    body: unknown,
    options: RequestOptions,
    onEvent: (data: unknown) => boolean,
    format: 'sse' | 'ndjson' = 'sse',
  ): Promise<void> {
    const separator = format === 'sse' ? /\r?\n\r?\n/ : /\r?\n/;
    await this.send('POST', path, body, options, async (response, alive, stop) => {
      if (response.status < 200 || response.status >= 300) throw this.statusError(response.status, parseMaybe(await response.text()));
      if (!response.body) throw new RemoteError('cut', `${this.label} answered without a body.`, null, true);
      /** One event's text: false when reading should stop. */
      const handle = (event: string): boolean => {
        const data =
          format === 'ndjson'
            ? event.trim()
            : event
                .split(/\r?\n/)
                .filter((line) => line.startsWith('data:'))
                .map((line) => line.slice(5).trimStart())
                .join('\n');
        if (!data) return true;
        if (data === '[DONE]') return false;
        let parsed: unknown;
        try {
          parsed = JSON.parse(data) as unknown;
        } catch {
          throw new RemoteError('http', `${this.label} sent a stream event that is not JSON.`);
        }
        const errorSaid = isRecord(parsed) && parsed.error !== undefined ? serverMessage(parsed) : null;
        if (errorSaid)
          throw new RemoteError('http', `${this.label} failed in the middle of the answer: ${errorSaid.replace(/[.\s]+$/, '')}.`);
        return onEvent(parsed);
      };
      const decoder = new TextDecoder();
      let buffered = '';
      const reader = response.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        alive();
        buffered += decoder.decode(value, { stream: true });
        let end: number;
        while ((end = buffered.search(separator)) >= 0) {
          const event = buffered.slice(0, end);
          buffered = buffered.slice(end).replace(separator, '');
          if (!handle(event)) {
            stop();
            return;
          }
        }
      }
      if (buffered.trim()) handle(buffered);
    });
  }

  /** The sentence for a non-2xx answer, with the server's own message when it gave one. */
  statusError(status: number, body: unknown): RemoteError {
    const said = serverMessage(body);
    if (status === 401 || status === 403) {
      return new RemoteError(
        'auth',
        `${this.label} refused the API key (HTTP ${status}); set the right one with "Local LLM: Set Server API Key".`,
        status,
      );
    }
    const detail = said ? `: ${said.replace(/[.\s]+$/, '')}` : '';
    return new RemoteError('http', `${this.label} answered HTTP ${status}${detail}.`, status);
  }

  private async send<R>(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    options: RequestOptions,
    read: (response: Response, alive: () => void, stop: () => void) => Promise<R>,
  ): Promise<R> {
    try {
      return await this.sendOnce(method, path, body, options, read);
    } catch (err) {
      // A kept-alive connection the server closed just as it was reused fails before any answer.
      // Every request sent here can be repeated (reads, generations the closed connection has
      // stopped, unloads), so it is asked once more on a fresh connection.
      if (!(err instanceof RemoteError) || err.failure !== 'cut' || err.answered || options.signal?.aborted) throw err;
      return this.sendOnce(method, path, body, options, read);
    }
  }

  private async sendOnce<R>(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    options: RequestOptions,
    read: (response: Response, alive: () => void, stop: () => void) => Promise<R>,
  ): Promise<R> {
    const clock = this.options.clock ?? systemClock;
    const abort = new AbortController();
    let timedOut: number | null = null;
    let answered = false;
    let timer: unknown;
    let finished = false;
    const arm = (ms: number): void => {
      clock.clearTimeout(timer);
      if (finished) return;
      timer = clock.setTimeout(() => void expire(ms), ms);
    };
    const expire = async (ms: number): Promise<void> => {
      if (!answered && options.onSlow) {
        const longer = await options.onSlow().catch(() => null);
        if (longer !== null && !abort.signal.aborted) {
          arm(longer);
          return;
        }
      }
      timedOut = ms;
      abort.abort();
    };
    const onCallerAbort = (): void => abort.abort();
    if (options.signal?.aborted) throw new RemoteAbortError();
    options.signal?.addEventListener('abort', onCallerAbort, { once: true });
    arm(options.timeoutMs);
    const headers: Record<string, string> = { accept: 'application/json, text/event-stream' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const key = this.options.apiKey();
    if (key) headers.authorization = `Bearer ${key}`;
    try {
      const response = await fetch(`${this.options.baseUrl}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: abort.signal,
        // A redirect could send the code (and the key) to another host: never followed.
        redirect: 'error',
      });
      answered = true;
      arm(options.timeoutMs);
      return await read(
        response,
        () => arm(options.timeoutMs),
        () => abort.abort(),
      );
    } catch (err) {
      if (err instanceof RemoteError) throw err;
      if (options.signal?.aborted) throw new RemoteAbortError();
      if (timedOut !== null) {
        throw new RemoteError(
          'timeout',
          answered
            ? `${this.label} stopped sending for ${formatTimeSpan(timedOut)}, so the request was given up.`
            : `${this.label} did not answer within ${formatTimeSpan(timedOut)}.`,
        );
      }
      throw this.transportError(err, answered);
    } finally {
      finished = true;
      clock.clearTimeout(timer);
      options.signal?.removeEventListener('abort', onCallerAbort);
    }
  }

  private transportError(err: unknown, answered: boolean): RemoteError {
    const code = errorCode(err);
    if (answered) return new RemoteError('cut', `The connection to ${this.label} was cut in the middle of the answer.`, null, true);
    switch (code) {
      case 'ECONNREFUSED':
        return new RemoteError('refused', `${this.label} refused the connection: no model server is running there.`);
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
        return new RemoteError('unreachable', `${this.label} cannot be found (no such host name).`);
      case 'ECONNRESET':
      case 'UND_ERR_SOCKET':
      case 'UND_ERR_CLOSED':
        return new RemoteError('cut', `${this.label} closed the connection before it answered.`);
      default: {
        if (/redirect/i.test(causeMessage(err))) {
          return new RemoteError(
            'http',
            `${this.label} answered with a redirect, which is not followed; set localLlm.engine to the address it redirects to.`,
          );
        }
        const why = code ?? (err instanceof Error ? err.message : String(err));
        return new RemoteError('unreachable', `${this.label} cannot be reached (${why}).`);
      }
    }
  }
}

/** The message a server put in its error body, in the shapes llama-server, OpenAI and Ollama use. */
export function serverMessage(body: unknown): string | null {
  if (typeof body === 'string') return body.trim().slice(0, 300) || null;
  if (typeof body !== 'object' || body === null) return null;
  const error = (body as { error?: unknown }).error;
  if (typeof error === 'string') return error.slice(0, 300);
  if (typeof error === 'object' && error !== null) {
    const message = (error as { message?: unknown }).message;
    if (typeof message === 'string') return message.slice(0, 300);
  }
  const message = (body as { message?: unknown }).message;
  return typeof message === 'string' ? message.slice(0, 300) : null;
}

/** The messages along an error's cause chain, for recognising what fetch wrapped. */
function causeMessage(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; depth < 4 && e instanceof Error; depth++) {
    parts.push(e.message);
    e = e.cause;
  }
  return parts.join(' / ');
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** JSON when it parses, else the text. */
function parseMaybe(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
