// "Merge with the model" for a code block that matches no region of its file: the question that
// asks the model to put the fragment into the file (the file goes as a mention, so the context
// budget and the prompt view see it), and the merged file read back from the answer. Pure (no
// `vscode`): the flow is in mergeFragment.ts.
import type { ChatIncluded, StopReason } from '../../../server/src/shared/protocol';
import { codeOfAnswer } from './codeBlock';

/** What the model is told besides the fragment. */
export const mergeRule =
  'Merge the code above into the file I mentioned: change or add only what the code is about and keep every other line of the file as it is. Answer with only the whole merged file, in one fenced code block, with no explanation.';

/** A fence longer than any run of backticks in the code, so the code cannot close it. */
function fenceFor(code: string): string {
  const longest = Math.max(0, ...[...code.matchAll(/`+/g)].map((m) => m[0].length));
  return '`'.repeat(Math.max(3, longest + 1));
}

/** The question: the fragment in a fence of its own, then the rule. */
export function mergeQuestion(fileLabel: string, languageId: string, fragment: string): string {
  const fence = fenceFor(fragment);
  const code = fragment.replace(/\n+$/, '');
  return `Merge this code into ${fileLabel}:\n\n${fence}${languageId}\n${code}\n${fence}\n\n${mergeRule}`;
}

/** Why the merge cannot be trusted because the model did not see the whole file; null when it did. */
export function fileNotSeen(included: readonly ChatIncluded[] | undefined, fileLabel: string): string | null {
  const file = included?.find((i) => i.kind === 'file' && i.label === fileLabel);
  if (!file)
    return `${fileLabel} did not reach the model, so there is nothing to merge into; review the code as a whole-file diff instead.`;
  if (file.fit === 'whole') return null;
  return `${fileLabel} is too large for the model's context (it was ${file.fit === 'trimmed' ? 'cut short' : 'left out'}), so the model cannot merge into all of it; review the code as a whole-file diff instead.`;
}

export type MergedFile = { text: string; cutShort: boolean } | { error: string };

/**
 * The whole merged file from the model's answer, ending in a line break when the file did; an
 * answer cut at the length limit is marked, since its end may be missing.
 */
export function mergedFile(answer: string, stopReason: StopReason, original: string, fileLabel: string): MergedFile {
  const code = codeOfAnswer(answer);
  if (code === null) return { error: `The model answered with no code, so ${fileLabel} has no merge to review.` };
  const text = original.endsWith('\n') && !code.endsWith('\n') ? `${code}\n` : code;
  return { text, cutShort: stopReason === 'maxTokens' };
}
