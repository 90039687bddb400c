// The order of a completion prompt's pieces, in the model's own FIM format (DESIGN.md, "Never
// evaluate a token twice"): [context ring][prefix: lines before the cursor line][suffix][middle:
// the cursor line up to the cursor]. Generic over the token type, so the model host lays out real
// tokens and the golden tests lay out readable strings by the very same code. Pure.
//
// With the model's repository tokens (Qwen2.5-Coder's <|repo_name|> and <|file_sep|>, llama.cpp's
// FIM_REP and FIM_SEP), each chunk goes in as a file of the repository and the current file comes
// last under its own path:
//   [BOS] REP repo\n SEP path\n text\n ... SEP current\n PRE before SUF suffix MID middle
// Otherwise each chunk is a comment block naming its file, at the start of the prefix:
//   [BOS] PRE // path lines a-b\n // text\n ... before SUF suffix MID middle
// Each chunk is tokenized alone and the older chunks come first, so adding a chunk leaves every
// token before it unchanged.
import type { PromptPartKind } from '../../shared/protocol';

export interface FimControls<T> {
  /** Null when the model's tokenizer adds none. */
  bos: T | null;
  pre: T;
  suf: T;
  /** Null for models with no middle token: they take SUF suffix PRE prefix. */
  mid: T | null;
  /** The repository name token; null when the model has none. */
  rep: T | null;
  /** The file separator token; with it, chunks go in as files. */
  sep: T | null;
}

/** A chunk as the prompt names it. */
export interface PromptChunk {
  /** Workspace-relative path (or a name for copied text). */
  path: string;
  text: string;
  /** 0-based; -1 when the text has no place in a file. */
  startLine: number;
}

export interface PromptPiece<T> {
  kind: PromptPartKind;
  label: string;
  tokens: T[];
}

export interface RingSource {
  /** The workspace's name; the repository header names it. */
  repoName: string;
  /** The language's line comment ("//", "#", "--"), for models without repository tokens. */
  commentPrefix: string;
}

/** Whether chunks go in as files of a repository: the model has a file separator token. */
export function usesRepoFormat<T>(controls: FimControls<T>): boolean {
  return controls.sep !== null;
}

function lineLabel(chunk: PromptChunk): string {
  const name = chunk.path === '' ? 'copied text' : chunk.path;
  if (chunk.startLine < 0) return name;
  const lines = chunk.text.split('\n').length;
  return lines === 1 ? `${name} line ${chunk.startLine + 1}` : `${name} lines ${chunk.startLine + 1}-${chunk.startLine + lines}`;
}

/** A chunk as comment lines: a header naming its file, then each line of its text commented out. */
export function commentBlock(chunk: PromptChunk, commentPrefix: string): string {
  const body = chunk.text
    .split('\n')
    .map((line) => (line === '' ? commentPrefix : `${commentPrefix} ${line}`))
    .join('\n');
  return `${commentPrefix} ${lineLabel(chunk)}\n${body}\n`;
}

/**
 * The ring's pieces, one per chunk, oldest first. The repository header goes with the first
 * chunk, so a prompt without chunks is the plain FIM prompt.
 */
export function ringPieces<T>(
  controls: FimControls<T>,
  tokenize: (text: string) => T[],
  chunks: readonly PromptChunk[],
  source: RingSource,
): PromptPiece<T>[] {
  const repo = usesRepoFormat(controls);
  return chunks.map((chunk, i) => {
    const tokens: T[] = [];
    if (repo && i === 0 && controls.rep !== null) tokens.push(controls.rep, ...tokenize(`${source.repoName}\n`));
    if (repo && controls.sep !== null) {
      const text = chunk.text.endsWith('\n') ? chunk.text : `${chunk.text}\n`;
      tokens.push(controls.sep, ...tokenize(`${chunk.path === '' ? 'clipboard' : chunk.path}\n${text}`));
    } else {
      tokens.push(...tokenize(commentBlock(chunk, source.commentPrefix)));
    }
    return { kind: 'chunk', label: lineLabel(chunk), tokens };
  });
}

export interface LayoutInput<T> {
  controls: FimControls<T>;
  tokenize(text: string): T[];
  /** From ringPieces (already cut to the ring's budget); empty for none. */
  ring: PromptPiece<T>[];
  currentPath: string;
  before: T[];
  suffix: T[];
  middle: T[];
}

export interface PromptLayout<T> {
  /** In prompt order; their tokens joined are the whole prompt, BOS included. */
  pieces: PromptPiece<T>[];
  /** The whole prompt's tokens. */
  tokens: T[];
  /** Tokens before the middle's own text: what stays put while the user types along the line (a prefill target). */
  stableLength: number;
}

/** The whole prompt. Control tokens open the piece they belong to; BOS and the headers go with the first piece. */
export function layoutPrompt<T>(input: LayoutInput<T>): PromptLayout<T> {
  const { controls: c, ring } = input;
  const repo = usesRepoFormat(c) && ring.length > 0;
  const head: T[] = c.bos === null ? [] : [c.bos];
  const pieces: PromptPiece<T>[] = [];
  const prefixTokens: T[] = [];
  if (repo && c.sep !== null) prefixTokens.push(c.sep, ...input.tokenize(`${input.currentPath}\n`));
  const prefix = (): PromptPiece<T> => ({ kind: 'prefix', label: 'before the cursor line', tokens: [...prefixTokens, ...input.before] });
  const suffix = (withMid: boolean): PromptPiece<T> => ({
    kind: 'suffix',
    label: 'after the cursor',
    tokens: [c.suf, ...input.suffix, ...(withMid && c.mid !== null ? [c.mid] : [])],
  });
  if (c.mid !== null) {
    if (repo) {
      pieces.push(...ring);
      prefixTokens.push(c.pre);
    } else {
      head.push(c.pre);
      pieces.push(...ring);
    }
    pieces.push(prefix(), suffix(true));
  } else {
    // No middle token: SUF suffix PRE [ring] before middle, as node-llama-cpp's own infill.
    pieces.push(suffix(false));
    if (repo) {
      pieces.push(...ring);
      prefixTokens.push(c.pre);
    } else if (ring.length > 0) {
      pieces.push({ ...ring[0]!, tokens: [c.pre, ...ring[0]!.tokens] }, ...ring.slice(1));
    } else {
      prefixTokens.unshift(c.pre);
    }
    pieces.push(prefix());
  }
  pieces.push({ kind: 'middle', label: 'the cursor line up to the cursor', tokens: [...input.middle] });
  // BOS (and, for the comment layout, PRE) open the first piece.
  pieces[0] = { ...pieces[0]!, tokens: [...head, ...pieces[0]!.tokens] };
  const tokens = pieces.flatMap((p) => p.tokens);
  return { pieces, tokens, stableLength: tokens.length - input.middle.length };
}
