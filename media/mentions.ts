// The @-mentions of the chat input: which kinds there are, the one being typed at the caret (for
// the picker), the ones typed out in a message (`@codebase`, `@file:src/a.ts#L10-40`), and line
// ranges. Pure; the webview and the extension both use it.
import type { ChatPartKind } from '../server/src/shared/protocol';

export interface MentionKindInfo {
  kind: ChatPartKind;
  /** What follows the `@`. */
  word: string;
  detail: string;
  /** It names something (a file, a symbol, a file's problems) picked from a second list. */
  takesTarget: boolean;
}

export const mentionKinds: readonly MentionKindInfo[] = [
  { kind: 'file', word: 'file', detail: 'a file of the workspace; #L10-40 for some lines', takesTarget: true },
  { kind: 'selection', word: 'selection', detail: 'the selected text in the editor', takesTarget: false },
  { kind: 'symbol', word: 'symbol', detail: 'a function, class or other symbol of the workspace', takesTarget: true },
  { kind: 'problems', word: 'problems', detail: 'the errors and warnings of the file or the workspace', takesTarget: true },
  { kind: 'changes', word: 'changes', detail: "the working tree's uncommitted changes (git)", takesTarget: false },
  { kind: 'codebase', word: 'codebase', detail: 'the parts of the workspace that match the question', takesTarget: false },
];

export function kindInfo(kind: ChatPartKind): MentionKindInfo {
  const info = mentionKinds.find((k) => k.kind === kind);
  if (!info) throw new Error(`Unknown mention kind ${kind}.`);
  return info;
}

/** Lines as typed after `#L`: 1-based and inclusive. */
export interface LineRange {
  start: number;
  end: number;
}

/** `src/a.ts#L10-40` -> the path and lines; `#L7` is one line; a reversed range is put in order. */
export function splitLineRange(text: string): { path: string; range: LineRange | null; problem: string | null } {
  const hash = text.lastIndexOf('#');
  if (hash < 0) return { path: text, range: null, problem: null };
  const path = text.slice(0, hash);
  const spec = text.slice(hash + 1);
  const m = /^L(\d+)(?:-L?(\d+))?$/i.exec(spec);
  if (!m) {
    return { path, range: null, problem: `"#${spec}" is not a line range; write it as #L10 or #L10-40.` };
  }
  const a = Number(m[1]);
  const b = m[2] === undefined ? a : Number(m[2]);
  if (a < 1 || b < 1) return { path, range: null, problem: 'Lines count from 1, so #L0 names no line.' };
  return { path, range: { start: Math.min(a, b), end: Math.max(a, b) }, problem: null };
}

export function formatLineRange(range: LineRange | null): string {
  if (!range) return '';
  return range.start === range.end ? `#L${range.start}` : `#L${range.start}-${range.end}`;
}

/** The `@…` word the caret is in, for the picker: where it starts and ends, and what follows the `@`. */
export interface MentionQuery {
  start: number;
  end: number;
  /** The text after `@` up to the caret: `fi`, `file:src/ma`. */
  query: string;
}

/** An `@` opens a mention at the start of the input or after white space (so `a@b.com` does not). */
export function mentionAtCaret(text: string, caret: number): MentionQuery | null {
  const before = text.slice(0, caret);
  const m = /(^|\s)@([^\s@]*)$/.exec(before);
  if (!m) return null;
  const start = caret - m[2].length - 1;
  const after = /^[^\s]*/.exec(text.slice(caret))?.[0] ?? '';
  return { start, end: caret + after.length, query: m[2] };
}

/** A query split at its first `:`: the kind's word and what names the target. */
export function splitQuery(query: string): { word: string; target: string | null } {
  const colon = query.indexOf(':');
  return colon < 0 ? { word: query, target: null } : { word: query.slice(0, colon), target: query.slice(colon + 1) };
}

/** A mention written out in a message, as the extension resolves it. */
export interface TypedMention {
  kind: ChatPartKind;
  /** After the `:`, e.g. `src/a.ts#L10-40` or a symbol's name; null when none was given. */
  target: string | null;
  /** The text as written, e.g. `@file:src/a.ts`. */
  text: string;
}

/**
 * The known mentions written out in `text`, in order, and the text without them. An unknown
 * `@word` (a decorator, a handle) stays in the text.
 */
export function parseMentions(text: string): { mentions: TypedMention[]; rest: string } {
  const mentions: TypedMention[] = [];
  const taken = '\uE000'; // a private-use character: marks where a mention was
  const marked = text.replace(/(^|\s)@([A-Za-z]+)(?::(\S+))?(?=\s|$)/g, (whole, lead: string, word: string, target?: string) => {
    const info = mentionKinds.find((k) => k.word === word.toLowerCase());
    if (!info) return whole;
    mentions.push({ kind: info.kind, target: target ?? null, text: whole.slice(lead.length) });
    return lead + taken;
  });
  if (mentions.length === 0) return { mentions, rest: text.trim() };
  // A mention leaves with one of the spaces after it; the rest of the text keeps its spacing.
  const rest = marked.replace(/\uE000[ \t]?/g, '');
  return { mentions, rest: rest.replace(/[ \t]+$/gm, '').trim() };
}
