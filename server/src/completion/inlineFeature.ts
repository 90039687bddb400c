// textDocument/inlineCompletion: a debounce that follows the user's typing, cache, one generation
// per document (a newer request aborts the older), the gate, then post-processing. Pure pieces live next to this file.
// An explicit request (Show Next / Show Previous, or a trigger by hand) gets up to
// localLlm.completion.candidates distinct suggestions, the others sampled from the same prompt (candidates.ts).
// Also the context ring's notification (localLlm/contextChunks, exempt: it never wakes the model
// and never resets the idle timer), the background work that keeps typing free of the ring's cost
// (its prefill when the user pauses, the suggestion after the shown one is accepted), and
// localLlm/lastCompletionPrompt.
import {
  ErrorCodes,
  InlineCompletionRequest,
  InlineCompletionTriggerKind,
  ResponseError,
  type Connection,
  type InitializeParams,
  type InlineCompletionItem,
  type Position,
  type ServerCapabilities,
  type TextDocuments,
} from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import type { Feature } from '../feature';
import { GateCancelledError, GateUnavailableError, type ResumeGate } from '../lifecycle/gate';
import type { ModelDriver } from '../lifecycle/modelDriver';
import type { GenerationResult, InfillContext, InfillParams } from '../engine/types';
import { ContextChunksNotification, LastCompletionPromptRequest, type LastCompletionPrompt } from '../shared/protocol';
import type { Settings } from '../shared/settings';
import { abortSignalOf, delay } from '../shared/cancellation';
import { systemClock } from '../shared/clock';
import { errorMessage } from '../shared/errors';
import { formatTokenFigures } from '../shared/format';
import { median } from '../shared/median';
import { AdaptiveDebounce } from './adaptiveDebounce';
import { BackgroundWork, defaultQuietMs, nextSuggestionQuietMs } from './background';
import { CompletionCache, defaultCacheOptions, type CompletionCacheKey } from './cache';
import { CandidateLists, isDuplicate, maxDraws, samplingFor, withFirst } from './candidates';
import { detach, detachParams } from './detach';
import { trimCapped } from './capped';
import { ContextRing, parseChunks, ringLimitsFor, ringTokenBudget, type PromptWindow } from './contextRing';
import { checkDocument } from './documentGuard';
import { postprocess } from './postprocess';
import { buildInfillWindow, defaultBudget, infillParamsFor } from './prompt';
import { commentPrefixFor } from './commentPrefix';
import { workspacePath, type WorkspaceFolderRef } from './workspacePath';

export interface InlineCompletionOptions {
  connection: Connection;
  documents: TextDocuments<TextDocument>;
  gate: ResumeGate;
  driver: ModelDriver;
  settings(): Settings;
  log(line: string): void;
}

export class InlineCompletionFeature implements Feature {
  private background: BackgroundWork | null = null;

  constructor(private readonly options: InlineCompletionOptions) {}

  initialize(params: InitializeParams): ServerCapabilities {
    this.background = registerInlineCompletion(this.options, foldersOf(params));
    return { inlineCompletionProvider: true };
  }

  shutdown(): Promise<void> {
    this.background?.dispose();
    return Promise.resolve();
  }
}

function foldersOf(params: InitializeParams): WorkspaceFolderRef[] {
  if (params.workspaceFolders?.length) return params.workspaceFolders.map((f) => ({ uri: f.uri, name: f.name }));
  const root = params.rootUri;
  if (!root) return [];
  return [{ uri: root, name: root.replace(/\/+$/, '').split('/').pop() ?? root }];
}

/** The last completion's request, which a prefill of a changed ring evaluates again. */
interface LastRequest {
  params: Omit<InfillParams, 'context'>;
  window: PromptWindow;
  languageId: string;
}

function registerInlineCompletion(
  { connection, documents, gate, driver: model, settings, log }: InlineCompletionOptions,
  folders: WorkspaceFolderRef[],
): BackgroundWork {
  const cache = new CompletionCache();
  const candidates = new CandidateLists();
  const running = new Map<string, AbortController>();
  const { stats } = model;
  const skipped = new Set<string>();
  const ring = new ContextRing();
  const debounce = new AdaptiveDebounce();
  let lastPrompt: LastCompletionPrompt | null = null;
  let lastRequest: LastRequest | null = null;
  /** The ring of the last generation in each document, for the follow-ups of suggestions served from the cache. */
  const contexts = new Map<string, InfillContext | undefined>();
  const lastContext = (uri: string): InfillContext | undefined => contexts.get(uri);
  /** The place whose next suggestion was last computed. */
  let prefetching: string | null = null;
  const background = new BackgroundWork({
    door: (fn) => gate.runBackground(fn),
    clock: systemClock,
    quietMs: defaultQuietMs,
    busy: () => running.size > 0,
    log,
  });
  const contextSize = (): number => model.info?.contextSize ?? settings().contextSize;

  /**
   * What the cached suggestions came from: the engine and model chosen, and the model loaded. A
   * suggestion of another model (before a switch, or while the chosen one is in error) is never
   * served, so the cache is emptied whenever this changes.
   */
  let cacheSource = '';
  function currentSource(): string {
    const s = settings();
    return JSON.stringify([s.engine, s.model, s.remote.model, model.info?.path ?? null, model.info?.name ?? null]);
  }
  function ownCache(): string {
    const source = currentSource();
    if (source !== cacheSource) {
      cache.clear();
      candidates.clear();
      cacheSource = source;
    }
    return source;
  }
  /** Keeps `completion` only if the model that made it, `source`, is still the one in use. */
  function remember(source: string, key: CompletionCacheKey, completion: string): void {
    if (ownCache() === source) cache.set(key, completion);
  }

  /** The ring for a prompt at `window`, or none when the ring is off or empty. */
  function contextFor(window: PromptWindow, languageId: string): InfillContext | undefined {
    const config = settings().context;
    if (!config.enabled) {
      ring.clear();
      return undefined;
    }
    ring.configure(ringLimitsFor(config.tokenBudget, contextSize()));
    const chunks = ring.select(window);
    if (chunks.length === 0) return undefined;
    const where = workspacePath(window.uri, folders);
    return {
      chunks: chunks.map((c) => ({ path: c.path, text: c.text, startLine: c.startLine })),
      budgetTokens: ringTokenBudget(config.tokenBudget, contextSize()),
      repoName: where.repoName,
      currentPath: where.path,
      commentPrefix: commentPrefixFor(languageId),
    };
  }

  /** Evaluates the changed ring with the last completion's prompt, so the next keystroke finds it in the KV cache. */
  async function prefill(signal: AbortSignal): Promise<boolean> {
    const last = lastRequest;
    if (!last) return true;
    const { maxTokens, prefix, middle, suffix, prefixTokens, suffixTokens } = last.params;
    const result = await model.prefill(
      { prefix, middle, suffix, prefixTokens, suffixTokens, maxTokens, context: contextFor(last.window, last.languageId) },
      signal,
    );
    if (result.yielded) {
      // The user is in another window that shares the model: this window's next completion evaluates the ring.
      connection.console.debug('Context ring prefill left to the next completion: the user is in another window sharing the model.');
      return true;
    }
    connection.console.debug(
      `Context ring prefill: ${result.evaluatedTokens} tokens evaluated, ${result.promptTokens} held${result.stopped ? '; stopped for a keystroke' : ''}.`,
    );
    return !result.stopped;
  }

  let chunkProblem: string | null = null;
  connection.onNotification(ContextChunksNotification.method, (raw: unknown) => {
    const config = settings().context;
    if (!config.enabled) {
      ring.clear();
      return;
    }
    const { chunks, problem } = parseChunks(raw);
    // Said once, not on every update.
    if (problem !== null && problem !== chunkProblem) log(problem);
    chunkProblem = problem;
    ring.configure(ringLimitsFor(config.tokenBudget, contextSize()));
    if (ring.add(chunks)) background.whenQuiet(prefill);
  });

  connection.onRequest(LastCompletionPromptRequest.type, () => lastPrompt);

  // Registered with onRequest, not languages.inlineCompletion.on: that wrapper reads the params
  // before this handler can check them, so a malformed request would get a raw TypeError.
  connection.onRequest(InlineCompletionRequest.type, async (raw: unknown, token): Promise<InlineCompletionItem[]> => {
    const params = checkParams(raw);
    stats.completionRequested();
    const config = settings().completion;
    if (!config.enabled || model.info?.hasFim === false) return [];
    // Every automatic request is a keystroke (or a cursor move) of the user's rhythm, cached or
    // not; Show Next is not typing.
    if (!params.explicit) debounce.keystroke(systemClock.now());
    // Only a user who asks (Show Next / Show Previous) gets the other candidates: they cost a generation each.
    const wanted = params.explicit ? config.candidates : 1;
    const document = documents.get(params.uri);
    if (!document) return [];
    const text = document.getText();
    const offset = document.offsetAt(params.position);
    // A position past a line's or the document's end answers with the one it was clamped to.
    const position = document.positionAt(offset);
    const guard = checkDocument(text, offset);
    if (!guard.ok) {
      // Say it once per document, not on every keystroke.
      if (!skipped.has(document.uri)) log(`No completions for ${document.uri}: ${guard.reason}`);
      skipped.add(document.uri);
      return [];
    }
    skipped.delete(document.uri);

    const window = buildInfillWindow(text, offset, defaultBudget);
    const key = { uri: document.uri, prefix: window.prefix, suffix: window.suffix };
    background.touch();
    const source = ownCache();
    const cached = cache.get(key);
    const known = wanted > 1 ? candidates.get(key) : undefined;
    if (cached !== undefined) {
      stats.cacheHit();
      const shown = known ? withFirst(cached, known.texts) : [cached];
      if (shown.length >= wanted || (known && known.draws >= maxDraws(wanted))) {
        // A suggestion shown again (the one prefetched for after Tab, say): its own follow-up next.
        prefetchNext(document.uri, text, offset, cached, lastContext(document.uri));
        return shown.slice(0, wanted).map((t) => item(t, position));
      }
    }
    // A keystroke wins: background work stops at its next safe point.
    background.stop();
    const promptWindow: PromptWindow = {
      uri: document.uri,
      startLine: document.positionAt(window.prefixStart).line,
      endLine: document.positionAt(window.suffixEnd).line,
    };
    const context = contextFor(promptWindow, document.languageId);
    const request = infillParamsFor(window, config);

    // One generation per document: the newest request wins.
    running.get(document.uri)?.abort();
    const superseded = new AbortController();
    running.set(document.uri, superseded);
    const signal = AbortSignal.any([abortSignalOf(token), superseded.signal]);
    try {
      let first = cached ?? null;
      if (first === null) {
        // Asked for by hand: no wait.
        const waitMs = params.explicit ? 0 : debounce.waitMs(config.debounceMs, median(stats.recentCompletions.map((c) => c.ms)));
        if (waitMs > 0) await delay(waitMs, signal);
        const result = await gate.run(
          'completion',
          (gateSignal) => model.infill({ ...request, context, describePrompt: true }, gateSignal),
          signal,
        );
        if ((result.stopReason === 'abort' && !result.capped) || signal.aborted) {
          if (superseded.signal.aborted) stats.superseded();
          else if (result.yielded) stats.yielded();
          return [];
        }
        stats.generated();
        const capped = result.capped === true;
        stats.completionTimed(result.figures.ms, capped);
        lastPrompt = {
          uri: document.uri,
          line: position.line,
          character: position.character,
          parts: (result.prompt ?? []).map((p) => ({ ...p, text: detach(p.text) })),
          figures: result.figures,
          capped,
          at: Date.now(),
        };
        // Kept past this document's version, and past its close: copies, never views of the text.
        lastRequest = { params: detachParams(request), window: promptWindow, languageId: document.languageId };
        contexts.set(document.uri, context);
        // What the model was given (before its own cut to prefixTokens + suffixTokens): bounded by
        // the window whatever the document's size; and how much of it the KV cache already held.
        connection.console.debug(
          `Completion in ${document.uri} at ${position.line + 1}:${position.character + 1} after a ${waitMs} ms wait: sent ${window.prefix.length} characters before and ${window.suffix.length} after the cursor and ${result.contextChunks ?? 0} context chunks; ${formatTokenFigures(result.figures)}; ${result.tokens} tokens generated (${capped ? `capped at ${config.maxMs} ms` : result.stopReason}).`,
        );
        if (capped)
          log(`A completion in ${document.uri} was capped at localLlm.completion.maxMs (${config.maxMs} ms); what was ready is shown.`);
        first = postprocessed(result, window);
        if (first !== null) remember(source, key, first);
        // Asked for by hand where the greedy answer shows nothing: the draws may still find something.
        else if (wanted <= 1) return [];
      }
      let shown = first === null ? [] : [first];
      if (wanted > 1) {
        const list = { texts: first === null ? (known?.texts ?? []) : withFirst(first, known?.texts ?? []), draws: known?.draws ?? 0 };
        shown = await drawCandidates(list, wanted, { ...request, context }, window, signal, document.uri);
        if (ownCache() === source) candidates.set(key, { texts: shown, draws: list.draws });
        if (signal.aborted) {
          if (superseded.signal.aborted) stats.superseded();
          return [];
        }
      }
      if (first !== null) prefetchNext(document.uri, text, offset, first, context);
      return shown.map((t) => item(t, position));
    } catch (err) {
      if (err instanceof GateCancelledError || signal.aborted) return [];
      if (err instanceof GateUnavailableError) return [];
      log(`Inline completion failed: ${errorMessage(err)}`);
      return [];
    } finally {
      if (running.get(document.uri) === superseded) running.delete(document.uri);
    }
  });

  /** A generation's text as shown: cut to whole lines when capped, then post-processed; null when nothing is left. */
  function postprocessed(result: GenerationResult, window: { prefix: string; suffix: string }): string | null {
    const raw = result.capped ? trimCapped(result.text) : result.text;
    return postprocess(raw, { prefix: window.prefix, suffix: window.suffix, maxLines: settings().completion.maxLines });
  }

  /**
   * Draws other candidates from the first one's prompt until `list` holds `wanted` distinct ones or
   * its draws are spent (maxDraws), a keystroke stopping them. The completion sequence still holds
   * that prompt, so each draw evaluates one token of it again, not the prompt.
   */
  async function drawCandidates(
    list: { texts: string[]; draws: number },
    wanted: number,
    request: InfillParams,
    window: { prefix: string; suffix: string },
    signal: AbortSignal,
    uri: string,
  ): Promise<string[]> {
    const texts = list.texts.slice();
    while (texts.length < wanted && list.draws < maxDraws(wanted) && !signal.aborted) {
      const sampling = samplingFor(list.draws);
      const result = await gate.run('completion', (gateSignal) => model.infill({ ...request, sampling }, gateSignal), signal);
      if ((result.stopReason === 'abort' && !result.capped) || signal.aborted) break;
      list.draws++;
      const next = postprocessed(result, window);
      const kept = next !== null && !isDuplicate(texts, next);
      if (kept) texts.push(next);
      connection.console.debug(
        `Candidate ${list.draws} in ${uri} (temperature ${sampling.temperature}): ${formatTokenFigures(result.figures)}; ${kept ? `kept as suggestion ${texts.length}` : 'dropped (empty or the same as one already shown)'}.`,
      );
    }
    return texts;
  }

  /**
   * The next suggestion before Tab: the completion at the place where accepting `completion`
   * leaves the cursor, computed in the background (its prompt by an interruptible prefill, then
   * the few tokens of the answer) and cached, so the request after Tab is answered without the model.
   */
  function prefetchNext(uri: string, text: string, offset: number, completion: string, context: InfillContext | undefined): void {
    const config = settings().completion;
    // The key the request after Tab will look up, from a slice: this runs on every key typed
    // along a suggestion, and the whole accepted text of a large file is built only when needed.
    const { prefixTailChars, suffixHeadChars } = defaultCacheOptions;
    const expected = {
      uri,
      prefix: (text.slice(Math.max(0, offset - prefixTailChars), offset) + completion).slice(-prefixTailChars),
      suffix: text.slice(offset, offset + suffixHeadChars),
    };
    const id = detach(`${uri}\0${expected.prefix}\0${expected.suffix}`);
    // Tried once per place: typing along a suggestion must not restart it (or retry an empty one) on every key.
    if (prefetching === id) return;
    const source = ownCache();
    if (cache.get(expected) !== undefined) return;
    prefetching = id;
    const accepted = text.slice(0, offset) + completion + text.slice(offset);
    // The task may wait a while: it keeps copies, not views of the accepted text (a whole document).
    const full = buildInfillWindow(accepted, offset + completion.length, defaultBudget);
    const window = { prefix: detach(full.prefix), suffix: detach(full.suffix) };
    const key = { uri, prefix: window.prefix, suffix: window.suffix };
    const request = detachParams(infillParamsFor(full, config));
    const task = async (signal: AbortSignal): Promise<boolean> => {
      const { prefix, middle, suffix, prefixTokens, suffixTokens, maxTokens } = request;
      const warmed = await model.prefill({ prefix, middle, suffix, prefixTokens, suffixTokens, maxTokens, context }, signal);
      if (warmed.stopped || signal.aborted) return true;
      const result = await model.infill({ ...request, context, background: true }, signal, { background: true });
      if ((result.stopReason === 'abort' && !result.capped) || signal.aborted) return true;
      const raw = result.capped ? trimCapped(result.text) : result.text;
      const next = postprocess(raw, { prefix: window.prefix, suffix: window.suffix, maxLines: config.maxLines });
      if (next === null) return true;
      remember(source, key, next);
      stats.prefetched();
      connection.console.debug(`Next suggestion after accepting in ${uri} ready: ${formatTokenFigures(result.figures)}.`);
      return true;
    };
    // A one-line suggestion leaves the prompt up to the cursor line as it is, so computing what
    // follows it costs the next keystroke only the wait for a safe point: after a short pause.
    // Accepting several lines changes the text before the cursor line, and the KV cache would then
    // hold the accepted text's prompt: that is worth it only once the user pauses for longer.
    if (completion.includes('\n')) background.whenQuiet(task);
    else background.whenQuiet(task, nextSuggestionQuietMs);
  }

  documents.onDidClose((e) => {
    running.get(e.document.uri)?.abort();
    running.delete(e.document.uri);
    skipped.delete(e.document.uri);
    cache.forgetDocument(e.document.uri);
    candidates.forgetDocument(e.document.uri);
    contexts.delete(e.document.uri);
    // Nothing of a closed document is prefilled again.
    if (lastRequest?.window.uri === e.document.uri) lastRequest = null;
  });
  return background;
}

function item(text: string, position: Position): InlineCompletionItem {
  return { insertText: text, range: { start: position, end: position } };
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The document and position of a request, and whether the user asked for it (LSP's
 * InlineCompletionTriggerKind.Invoked: Show Next, Show Previous, a trigger by hand; a context
 * that is missing or malformed counts as automatic), or a ResponseError (InvalidParams) with one
 * sentence. Whole numbers out of range are fine: the document clamps them.
 */
function checkParams(raw: unknown): { uri: string; position: Position; explicit: boolean } {
  const invalid = (what: string): ResponseError<void> =>
    new ResponseError(ErrorCodes.InvalidParams, `textDocument/inlineCompletion needs ${what}.`);
  if (!isRecord(raw)) throw invalid('its params as an object with textDocument and position');
  const { textDocument, position } = raw;
  if (!isRecord(textDocument) || typeof textDocument.uri !== 'string') throw invalid('textDocument.uri (a string)');
  if (!isRecord(position) || !Number.isInteger(position.line) || !Number.isInteger(position.character)) {
    throw invalid('a position whose line and character are whole numbers');
  }
  const explicit = isRecord(raw.context) && raw.context.triggerKind === InlineCompletionTriggerKind.Invoked;
  return { uri: textDocument.uri, position: { line: position.line as number, character: position.character as number }, explicit };
}
