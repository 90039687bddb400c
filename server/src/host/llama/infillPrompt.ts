// The completion prompt of one load in the model's tokens: the context ring fitted to its budget,
// then the file's FIM prompt cut to what is left of the context, laid out by promptLayout.ts.
// Keeps what a keystroke should not pay again: the model's repository tokens and the tokens of
// the ring's chunks.
import type { LlamaModel, Token } from 'node-llama-cpp' with { 'resolution-mode': 'import' };
import { EngineError } from '../engineError';
import type { InfillContext, PrefillParams } from '../../engine/types';
import type { LoadedModel } from './loadedModel';
import { layoutPrompt, ringPieces, type FimControls, type PromptLayout, type PromptPiece } from './promptLayout';
import { ringChunksWithin } from './ringFit';
import { cutBeforeLine, firstTokens, fitInfillBudget, lastTokens } from './tokenWindow';

/** A completion prompt as laid out for one request. */
export interface BuiltPrompt {
  layout: PromptLayout<Token>;
  /** Whether the library prepends BOS itself (then the first token is left to it). */
  bos: boolean;
  contextChunks: number;
  maxTokens: number;
}

/** Texts of the repository tokens as models name them (Qwen2.5-Coder first); llama.cpp finds them by these too. */
const repoTokenTexts = { rep: ['<|repo_name|>', '<|fim_repo|>', '<REPO>'], sep: ['<|file_sep|>', '<|fim_sep|>', '<FILE_SEP>'] };
/** Chunk texts whose tokens are kept; more than the ring ever holds. */
const chunkTokenCacheSize = 64;

/** Whether node-llama-cpp prepends BOS to a completion's tokens (its resolveBeginningTokenToPrepend). */
export function prependsBos(model: LlamaModel): boolean {
  const vocabulary = String(model.vocabularyType);
  if (model.tokens.bos == null || vocabulary === 'rwkv' || vocabulary === 'ugm') return false;
  return vocabulary === 'wpm' || model.tokens.shouldPrependBosToken;
}

export class InfillPrompt {
  /** The model's repository tokens (FIM_REP, FIM_SEP); undefined until first asked. */
  private repoTokens?: { rep: Token | null; sep: Token | null };
  /** Tokens of recent context chunks by their laid-out text: the ring rarely changes, tokenizing it on every keystroke would be waste. */
  private readonly chunkTokens = new Map<string, Token[]>();

  constructor(private readonly loaded: LoadedModel) {}

  /** The whole prompt for an infill or a prefill: the ring, then the file's FIM prompt cut to what is left of the context. */
  build(params: PrefillParams): BuiltPrompt {
    const current = this.loaded;
    const { model } = current;
    const { prefix: pre, suffix: suf, middle: mid } = model.tokens.infill;
    if (pre == null || suf == null) {
      throw new EngineError(`The model ${current.result.name} has no fill-in-the-middle tokens, so it cannot complete code inline.`);
    }
    const bos = prependsBos(model);
    const repo = this.repoTokensOf();
    const controls: FimControls<Token> = { bos: bos ? model.tokens.bos : null, pre, suf, mid: mid ?? null, rep: repo.rep, sep: repo.sep };
    const tokenize = (text: string): Token[] => model.tokenize(text, false, 'trimLeadingSpace');
    const ring = this.fitRing(controls, params.context);
    const currentPath = params.context?.currentPath ?? '';
    // The ring and the current file's own path line come out of the file's room.
    const ringTokens =
      ring.reduce((sum, p) => sum + p.tokens.length, 0) +
      (ring.length > 0 && repo.sep !== null ? 1 + tokenize(`${currentPath}\n`).length : 0);
    const budget = fitInfillBudget(current.sequence.contextSize - ringTokens, params);
    // The cursor line keeps at least this much of the prefix budget, whatever comes before it.
    const lineReserve = Math.floor(budget.prefixTokens / 8);
    const before = cutBeforeLine(tokenize, params.prefix, budget.prefixTokens - lineReserve, current.keptBeforeLine);
    current.keptBeforeLine = before.kept;
    const middle = lastTokens(model, params.middle, budget.prefixTokens - before.tokens.length);
    const suffix = firstTokens(model, params.suffix, budget.suffixTokens);
    // What llama.cpp's /infill builds: everything up to the cursor line stays byte-identical while
    // the user types along it, so only the line's new tokens are evaluated.
    const layout = layoutPrompt({ controls, tokenize, ring, currentPath, before: before.tokens, suffix, middle });
    return { layout, bos, contextChunks: ring.length, maxTokens: budget.maxTokens };
  }

  /** The model's repository tokens, from the file's metadata or else by their known texts. */
  private repoTokensOf(): { rep: Token | null; sep: Token | null } {
    if (this.repoTokens) return this.repoTokens;
    const { model } = this.loaded;
    const ggml = model.fileInfo.metadata.tokenizer?.ggml as { fim_rep_token_id?: number; fim_sep_token_id?: number } | undefined;
    const byText = (texts: readonly string[]): Token | null => {
      for (const text of texts) {
        const tokens = model.tokenize(text, true);
        if (tokens.length === 1 && model.detokenize(tokens, true) === text) return tokens[0]!;
      }
      return null;
    };
    const known = (id: number | undefined): Token | null => (typeof id === 'number' && id >= 0 ? (id as Token) : null);
    this.repoTokens = {
      rep: known(ggml?.fim_rep_token_id) ?? byText(repoTokenTexts.rep),
      sep: known(ggml?.fim_sep_token_id) ?? byText(repoTokenTexts.sep),
    };
    return this.repoTokens;
  }

  /** Tokenizes a chunk's text once while it stays in the ring. */
  private tokenizeChunk(text: string): Token[] {
    const cache = this.chunkTokens;
    const known = cache.get(text);
    if (known) return known;
    const tokens = this.loaded.model.tokenize(text, false, 'trimLeadingSpace');
    cache.set(text, tokens);
    while (cache.size > chunkTokenCacheSize) {
      const oldest = cache.keys().next().value;
      if (oldest === undefined) break;
      cache.delete(oldest);
    }
    return tokens;
  }

  /**
   * The ring's pieces within its budget (never more than half the context): the oldest chunks go
   * first, so what is left keeps the newest ones and its own order; an oversized chunk is passed
   * over (ringFit.ts).
   */
  private fitRing(controls: FimControls<Token>, context: InfillContext | undefined): PromptPiece<Token>[] {
    if (!context || context.chunks.length === 0) return [];
    const budget = Math.min(context.budgetTokens, Math.floor(this.loaded.sequence.contextSize / 2));
    if (budget <= 0) return [];
    const tokenize = (text: string): Token[] => this.tokenizeChunk(text);
    const source = { repoName: context.repoName, commentPrefix: context.commentPrefix };
    const pieces = ringPieces(controls, tokenize, context.chunks, source);
    // The repository header rides on the first piece; it is paid once whichever chunk is first.
    const header = pieces.length > 0 && controls.sep !== null && controls.rep !== null ? 1 + tokenize(`${context.repoName}\n`).length : 0;
    const costs = pieces.map((piece, i) => piece.tokens.length - (i === 0 ? header : 0));
    const kept = ringChunksWithin(costs, header, budget);
    if (kept.length === pieces.length) return pieces;
    if (kept.length === 0) return [];
    return ringPieces(
      controls,
      tokenize,
      kept.map((i) => context.chunks[i]!),
      source,
    );
  }
}
