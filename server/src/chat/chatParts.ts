// The parts of a chat turn (mentions the client resolved, chunks retrieved for @codebase): checked
// as they arrive, and written into the question as the model reads them, each under a heading
// that names it, in a fence no backtick run of its text can close. Pure.
import type { ChatPart, ChatPartKind, ChatTurn } from '../shared/protocol';

export const partKinds: readonly ChatPartKind[] = ['file', 'selection', 'symbol', 'problems', 'changes', 'codebase'];
/** More mentions than this in one question is not something a user typed. */
export const maxParts = 64;
/** A part's text beyond this is cut before anything else looks at it (the budget trims far below). */
export const maxPartChars = 2_000_000;
export const maxRestoredTurns = 500;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const isLine = (v: unknown): boolean => v === undefined || (typeof v === 'number' && Number.isInteger(v) && v >= 0);

/** The parts of `localLlm/chat`, or the sentence saying what is wrong with them. */
export function parseParts(raw: unknown): { parts: ChatPart[] } | { error: string } {
  if (raw === undefined || raw === null) return { parts: [] };
  if (!Array.isArray(raw)) return { error: 'localLlm/chat: parts must be a list of mentions.' };
  if (raw.length > maxParts) return { error: `localLlm/chat: at most ${maxParts} mentions in one question, not ${raw.length}.` };
  const parts: ChatPart[] = [];
  for (const [i, p] of raw.entries()) {
    const which = `localLlm/chat: mention ${i + 1}`;
    if (!isRecord(p)) return { error: `${which} is not an object.` };
    if (typeof p.kind !== 'string' || !(partKinds as readonly string[]).includes(p.kind)) {
      return { error: `${which} has kind ${JSON.stringify(p.kind)}; it must be one of ${partKinds.join(', ')}.` };
    }
    if (typeof p.label !== 'string' || typeof p.text !== 'string') return { error: `${which} needs a label and a text (strings).` };
    let source: ChatPart['source'];
    if (p.source !== undefined && p.source !== null) {
      const s = p.source;
      if (!isRecord(s) || typeof s.uri !== 'string' || !isLine(s.startLine) || !isLine(s.endLine)) {
        return { error: `${which} has a source that is not { uri, startLine?, endLine? } with whole line numbers.` };
      }
      source = { uri: s.uri };
      if (typeof s.startLine === 'number') source.startLine = s.startLine;
      if (typeof s.endLine === 'number') source.endLine = s.endLine;
    }
    parts.push({
      kind: p.kind as ChatPartKind,
      label: p.label.slice(0, 500),
      text: p.text.slice(0, maxPartChars),
      ...(source ? { source } : {}),
    });
  }
  return { parts };
}

/** The turns of `localLlm/chatRestore`, or the sentence saying what is wrong with them. */
export function parseTurns(raw: unknown): { turns: ChatTurn[] } | { error: string } {
  if (!Array.isArray(raw)) return { error: 'localLlm/chatRestore needs turns: a list of { user, assistant } strings.' };
  if (raw.length > maxRestoredTurns) return { error: `localLlm/chatRestore: at most ${maxRestoredTurns} turns, not ${raw.length}.` };
  const turns: ChatTurn[] = [];
  for (const [i, t] of raw.entries()) {
    if (!isRecord(t) || typeof t.user !== 'string' || typeof t.assistant !== 'string') {
      return { error: `localLlm/chatRestore: turn ${i + 1} needs a user and an assistant text (strings).` };
    }
    turns.push({ user: t.user, assistant: t.assistant });
  }
  return { turns };
}

const headings: Record<ChatPartKind, string> = {
  file: 'File',
  selection: 'Selection',
  symbol: 'Symbol',
  problems: 'Problems',
  changes: 'Uncommitted changes',
  codebase: 'From the codebase',
};

/** The fence's language: the source's file extension, when it looks like one. */
function languageOf(part: ChatPart): string {
  const name = (part.source?.uri ?? part.label).split(/[/\\]/).pop() ?? '';
  const ext = /\.([A-Za-z0-9+#-]{1,10})(?:[:#].*)?$/.exec(name)?.[1];
  return ext ?? '';
}

/** The part as it goes into the question; `lines` replaces its text (a trimmed head), `cut` counts lines left out. */
export function formatPart(part: ChatPart, text = part.text, cut = 0): string {
  let longest = 2;
  for (const run of text.match(/`{3,}/g) ?? []) longest = Math.max(longest, run.length);
  const fence = '`'.repeat(longest + 1);
  const tail = cut > 0 ? `\n… (${cut} more line${cut === 1 ? '' : 's'} left out)` : '';
  return `${headings[part.kind]}: ${part.label}\n${fence}${languageOf(part)}\n${text}${tail}\n${fence}\n\n`;
}
