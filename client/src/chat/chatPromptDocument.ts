// The text of the "Show Last Chat Prompt" document: the last chat turn's prompt part by part
// (system, history, each mention, retrieved chunks, question), each with its tokens and whether it
// fit, then what was left out. Pure (no `vscode`).
import type { ChatPromptPart, LastChatPrompt } from '../../../server/src/shared/protocol';
import { tokenFigureLines, when } from '../context/promptDocument';

export const noChatYet = 'No chat turn has run yet.';

const kindNames: Record<ChatPromptPart['kind'], string> = {
  system: 'system',
  history: 'history',
  mention: 'mention',
  retrieved: 'retrieved',
  question: 'question',
};

const fitNames: Record<ChatPromptPart['fit'], string> = {
  whole: 'whole',
  trimmed: 'trimmed to fit',
  dropped: 'left out',
};

/** The marker before each part; the test and the reader look for it. */
export function chatPartMarker(index: number, total: number, part: ChatPromptPart): string {
  const label = part.label.replace(/\s+/g, ' ').trim();
  return `━━━━ ${index + 1}/${total} ${kindNames[part.kind]}: ${label} · ${part.tokens} tokens · ${fitNames[part.fit]} ━━━━`;
}

function figuresLines(prompt: LastChatPrompt): string[] {
  const f = prompt.figures;
  if (!f) return ['Ran:             no (the engine did not run this prompt)'];
  return tokenFigureLines(f);
}

/** The whole document for `prompt`; `note` (e.g. why there is none) stands alone when it is null. */
export function renderChatPromptDocument(prompt: LastChatPrompt | null, note?: string): string {
  if (!prompt) return `Local LLM: last chat prompt\n\n${noChatYet}${note ? `\n${note}` : ''}\n`;
  const kept = prompt.parts.filter((p) => p.fit !== 'dropped');
  const promptTokens = kept.reduce((sum, p) => sum + p.tokens, 0);
  const head = [
    'Local LLM: last chat prompt',
    '',
    `Chat session:    ${prompt.sessionId}`,
    `Ran at:          ${when(prompt.at)}`,
    `Budget:          ${prompt.budgetTokens} tokens for the prompt and the answer; the parts below take ${promptTokens}`,
    ...figuresLines(prompt),
  ];
  if (prompt.notes.length) head.push('Left out:', ...prompt.notes.map((n) => `  - ${n}`));
  head.push(
    '',
    'The prompt follows, part by part; each ━━━━ line marks where a part starts, with its tokens, and',
    'is not part of the prompt. A part that was left out is shown here but did not reach the model.',
    '',
  );
  const body: string[] = [];
  prompt.parts.forEach((part, i) => {
    body.push(chatPartMarker(i, prompt.parts.length, part), '\n', part.text);
    if (!part.text.endsWith('\n')) body.push('\n');
  });
  body.push('━━━━ end of prompt ━━━━\n');
  return head.join('\n') + '\n' + body.join('');
}
