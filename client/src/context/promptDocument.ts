// The text of the "Show Last Completion Prompt" document: the prompt exactly as the model read
// it, each part introduced by a marker line, and what it cost. Pure (no `vscode`).
import type { LastCompletionPrompt, PromptPartKind, TokenFigures } from '../../../server/src/shared/protocol';
import { formatLookupFigures, formatMs } from '../../../server/src/shared/format';

export const noCompletionYet = 'No completion has run yet.';

const kindNames: Record<PromptPartKind, string> = {
  chunk: 'context chunk',
  prefix: 'prefix',
  suffix: 'suffix',
  middle: 'middle',
};

/** The marker before each part; the test and the reader look for it. */
export function partMarker(index: number, total: number, kind: PromptPartKind, label: string): string {
  return `━━━━ ${index + 1}/${total} ${kindNames[kind]}: ${label.replace(/\s+/g, ' ').trim()} ━━━━`;
}

/** Local date and time of an epoch ms, "2026-12-07 17:42:05". */
export function when(at: number): string {
  const d = new Date(at);
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

/** A prompt's token figures, a line each (the completion and the chat prompt documents). */
export function tokenFigureLines(f: TokenFigures): string[] {
  const speed = f.tokensPerSecond === null ? 'n/a (fewer than two tokens)' : `${f.tokensPerSecond.toFixed(1)} tok/s`;
  return [
    `Prompt tokens:   ${f.promptTokens} (${f.evaluatedTokens} evaluated, ${f.reusedTokens} reused from the KV cache)`,
    `Generated:       ${f.generatedTokens} tokens, ${speed}`,
    `Prompt lookup:   ${formatLookupFigures(f)}`,
    `Time:            ${formatMs(f.ms)}`,
  ];
}

function figuresLines(p: LastCompletionPrompt): string[] {
  return [...tokenFigureLines(p.figures), `Capped:          ${p.capped ? 'yes, generation stopped at localLlm.completion.maxMs' : 'no'}`];
}

/** The whole document for `prompt`; `note` (e.g. why there is none) stands alone when it is null. */
export function renderPromptDocument(prompt: LastCompletionPrompt | null, note?: string): string {
  if (!prompt) return `Local LLM: last completion prompt\n\n${noCompletionYet}${note ? `\n${note}` : ''}\n`;
  const chunks = prompt.parts.filter((p) => p.kind === 'chunk').length;
  const head = [
    'Local LLM: last completion prompt',
    '',
    `Document:        ${prompt.uri}`,
    `Cursor:          line ${prompt.line + 1}, column ${prompt.character + 1}`,
    `Ran at:          ${when(prompt.at)}`,
    `Context chunks:  ${chunks}`,
    ...figuresLines(prompt),
    '',
    'The prompt follows, part by part; each ━━━━ line marks where a part starts and is not part of',
    'the prompt. Control tokens are written out. A part that does not end with a line break is',
    'followed by one here, and its next marker says so.',
    '',
  ];
  const body: string[] = [];
  let joined = true;
  prompt.parts.forEach((part, i) => {
    const marker = partMarker(i, prompt.parts.length, part.kind, part.label);
    body.push(joined ? marker : `${marker} (continues the previous line)`);
    body.push('\n');
    body.push(part.text);
    joined = part.text.length === 0 || part.text.endsWith('\n');
    if (!joined) body.push('\n');
  });
  body.push(joined ? '━━━━ end of prompt ━━━━\n' : '━━━━ end of prompt ━━━━ (no line break at the end)\n');
  return head.join('\n') + '\n' + body.join('');
}
