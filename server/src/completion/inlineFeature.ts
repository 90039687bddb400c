// textDocument/inlineCompletion: debounce, cache, one generation per document (a newer request
// aborts the older), the gate, then post-processing. Pure pieces live next to this file.
import type {
  Connection,
  InlineCompletionItem,
  InlineCompletionParams,
  ServerCapabilities,
  TextDocuments,
} from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import type { Feature } from '../feature';
import { GateCancelledError, GateUnavailableError, type ResumeGate } from '../lifecycle/gate';
import type { ModelDriver } from '../lifecycle/modelDriver';
import type { Settings } from '../shared/settings';
import { abortSignalOf, delay } from '../shared/cancellation';
import { errorMessage } from '../shared/errors';
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

  connection.languages.inlineCompletion.on(async (params: InlineCompletionParams, token): Promise<InlineCompletionItem[]> => {
    stats.requests++;
    const config = settings().completion;
    if (!config.enabled || model.info?.hasFim === false) return [];
    const document = documents.get(params.textDocument.uri);
    if (!document) return [];
    const text = document.getText();
    const offset = document.offsetAt(params.position);
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
      return [item(cached, params)];
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
              prefix: window.prefix,
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
      const completion = postprocess(result.text, { prefix: window.prefix, suffix: window.suffix, maxLines: config.maxLines });
      if (completion === null) return [];
      cache.set(key, completion);
      return [item(completion, params)];
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

function item(text: string, params: InlineCompletionParams): InlineCompletionItem {
  return { insertText: text, range: { start: params.position, end: params.position } };
}
