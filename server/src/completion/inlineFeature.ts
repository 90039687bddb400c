// textDocument/inlineCompletion: debounce, cache, one generation per document (a newer request
// aborts the older), the gate, then post-processing. Pure pieces live next to this file.
import {
  ErrorCodes,
  InlineCompletionRequest,
  ResponseError,
  type Connection,
  type InlineCompletionItem,
  type Position,
  type ServerCapabilities,
  type TextDocuments,
} from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import type { Feature } from '../feature';
import { GateCancelledError, GateUnavailableError, type ResumeGate } from '../lifecycle/gate';
import type { ModelDriver } from '../lifecycle/modelDriver';
import type { Settings } from '../shared/settings';
import { abortSignalOf, delay } from '../shared/cancellation';
import { errorMessage } from '../shared/errors';
import { formatTokenFigures } from '../shared/format';
import { CompletionCache } from './cache';
import { checkDocument } from './documentGuard';
import { postprocess } from './postprocess';
import { buildInfillWindow, defaultBudget, stopTextsFor } from './prompt';

export interface InlineCompletionOptions {
  connection: Connection;
  documents: TextDocuments<TextDocument>;
  gate: ResumeGate;
  driver: ModelDriver;
  settings(): Settings;
  log(line: string): void;
}

export class InlineCompletionFeature implements Feature {
  constructor(private readonly options: InlineCompletionOptions) {}

  initialize(): ServerCapabilities {
    registerInlineCompletion(this.options);
    return { inlineCompletionProvider: true };
  }
}

function registerInlineCompletion({ connection, documents, gate, driver: model, settings, log }: InlineCompletionOptions): void {
  const cache = new CompletionCache();
  const running = new Map<string, AbortController>();
  const stats = model.completions;
  const skipped = new Set<string>();

  // Registered with onRequest, not languages.inlineCompletion.on: that wrapper reads the params
  // before this handler can check them, so a malformed request would get a raw TypeError.
  connection.onRequest(InlineCompletionRequest.type, async (raw: unknown, token): Promise<InlineCompletionItem[]> => {
    const params = checkParams(raw);
    stats.requests++;
    const config = settings().completion;
    if (!config.enabled || model.info?.hasFim === false) return [];
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
    const cached = cache.get(key);
    if (cached !== undefined) {
      stats.cacheHits++;
      return [item(cached, position)];
    }

    // One generation per document: the newest request wins.
    running.get(document.uri)?.abort();
    const superseded = new AbortController();
    running.set(document.uri, superseded);
    const signal = AbortSignal.any([abortSignalOf(token), superseded.signal]);
    try {
      if (config.debounceMs > 0) await delay(config.debounceMs, signal);
      const result = await gate.run(
        'completion',
        (gateSignal) =>
          model.infill(
            {
              prefix: window.beforeLine,
              middle: window.linePrefix,
              suffix: window.suffix,
              prefixTokens: defaultBudget.prefixTokens,
              suffixTokens: defaultBudget.suffixTokens,
              maxTokens: config.maxTokens,
              maxLines: config.maxLines,
              stopTexts: stopTextsFor(window.suffix),
            },
            gateSignal,
          ),
        signal,
      );
      if (result.stopReason === 'abort' || signal.aborted) {
        if (superseded.signal.aborted) stats.superseded++;
        return [];
      }
      stats.generated++;
      // What the model was given (before its own cut to prefixTokens + suffixTokens): bounded by
      // the window whatever the document's size; and how much of it the KV cache already held.
      connection.console.debug(
        `Completion in ${document.uri} at ${position.line + 1}:${position.character + 1}: sent ${window.prefix.length} characters before and ${window.suffix.length} after the cursor; ${formatTokenFigures(result.figures)}; ${result.tokens} tokens generated (${result.stopReason}).`,
      );
      const completion = postprocess(result.text, { prefix: window.prefix, suffix: window.suffix, maxLines: config.maxLines });
      if (completion === null) return [];
      cache.set(key, completion);
      return [item(completion, position)];
    } catch (err) {
      if (err instanceof GateCancelledError || signal.aborted) return [];
      if (err instanceof GateUnavailableError) return [];
      log(`Inline completion failed: ${errorMessage(err)}`);
      return [];
    } finally {
      if (running.get(document.uri) === superseded) running.delete(document.uri);
    }
  });

  documents.onDidClose((e) => {
    running.get(e.document.uri)?.abort();
    running.delete(e.document.uri);
    skipped.delete(e.document.uri);
    cache.forgetDocument(e.document.uri);
  });
}

function item(text: string, position: Position): InlineCompletionItem {
  return { insertText: text, range: { start: position, end: position } };
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The document and position of a request, or a ResponseError (InvalidParams) with one sentence.
 * Whole numbers out of range are fine: the document clamps them.
 */
function checkParams(raw: unknown): { uri: string; position: Position } {
  const invalid = (what: string): ResponseError<void> =>
    new ResponseError(ErrorCodes.InvalidParams, `textDocument/inlineCompletion needs ${what}.`);
  if (!isRecord(raw)) throw invalid('its params as an object with textDocument and position');
  const { textDocument, position } = raw;
  if (!isRecord(textDocument) || typeof textDocument.uri !== 'string') throw invalid('textDocument.uri (a string)');
  if (!isRecord(position) || !Number.isInteger(position.line) || !Number.isInteger(position.character)) {
    throw invalid('a position whose line and character are whole numbers');
  }
  return { uri: textDocument.uri, position: { line: position.line as number, character: position.character as number } };
}
