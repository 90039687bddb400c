// The sample document and cursor positions the completion benchmarks use, and the infill
// parameters the server builds for them (computed with the server's own pure prompt code, so
// the direct engine gets exactly what the model host gets).
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Position } from 'vscode-languageserver-protocol';
import { buildInfillWindow, defaultBudget, infillParamsFor as serverInfillParams } from '../../server/src/completion/prompt';
import { defaultSettings } from '../../server/src/shared/settings';
import type { EngineInfillParams } from '../direct/engineProtocol';

export const sampleDocument = readFileSync(path.resolve(__dirname, '../fixtures/sampleDocument.txt'), 'utf8');
const lines = sampleDocument.split('\n');

/** Offset of a line/character position in `text` (LF line ends). */
export function offsetAt(text: string, position: Position): number {
  let offset = 0;
  for (let line = 0; line < position.line; line++) offset = text.indexOf('\n', offset) + 1;
  return offset + position.character;
}

/** The i-th benchmark cursor: spread over the document's non-blank lines, at a line's end or middle. */
export function cursorAt(i: number): Position {
  const candidates = lines.map((text, line) => ({ text, line })).filter((l) => l.text.trim().length > 4);
  const pick = candidates[(i * 7) % candidates.length];
  const character = i % 2 === 0 ? pick.text.length : Math.floor(pick.text.length / 2);
  return { line: pick.line, character };
}

export interface CompletionLimits {
  maxTokens: number;
  maxLines: number;
  /** The time cap; by default the server's default localLlm.completion.maxMs, which the benchmarks' servers run with. */
  maxMs?: number;
}

export function infillParamsFor(text: string, position: Position, limits: CompletionLimits): EngineInfillParams {
  // The cap too: a shape-true model on this CPU generates slower than 16 tokens in 1.5 s, and the
  // server stops there, so a baseline without it would time a longer answer.
  const withCap = { maxMs: defaultSettings.completion.maxMs, ...limits };
  return serverInfillParams(buildInfillWindow(text, offsetAt(text, position), defaultBudget), withCap);
}
