// Users who chose an Instruct model before models had roles keep it for both jobs; the tooltip
// suggests, once, a base model for completions (the Qwen team's advice for fill-in-the-middle),
// keeping the Instruct model for chat. Pure: the decision, the base model to offer and the text.
import type { ModelPreset } from '../../../server/src/shared/protocol';

export interface SuggestionInput {
  /** `localLlm.model` as set (empty: the recommended default, which is already a pair where two fit). */
  model: string;
  /** `localLlm.chat.model` as set. */
  chatModel: string;
  /** `localLlm.engine`: suggestions are about local models only. */
  engine: string;
  /** The display name of the loaded completion model, when there is one. */
  loadedName: string | null;
  /** Whether the suggestion was shown in an earlier session (globalState). */
  shownBefore: boolean;
  /** Whether it is already showing in this session (it stays until the session ends or it is taken). */
  showingNow: boolean;
}

const instruct = /instruct/i;

/** Whether the tooltip suggests a base model for completions now. */
export function suggestsBaseModel(input: SuggestionInput): boolean {
  if (input.showingNow) return stillApplies(input);
  return !input.shownBefore && stillApplies(input);
}

function stillApplies(input: SuggestionInput): boolean {
  if (input.engine !== 'local' || input.model === '' || input.chatModel !== '') return false;
  return instruct.test(input.model) || (input.loadedName !== null && instruct.test(input.loadedName));
}

/** "1.5" from "qwen2.5-coder-1.5b-instruct-q8_0.gguf"; null when the name says no size. */
export function parameterBillions(name: string): number | null {
  // The size is the number before a "b" that is not part of a version (2.5 in qwen2.5 has none).
  const match = /(?:^|[^a-z0-9.])(\d+(?:\.\d+)?)b(?![a-z])/i.exec(name);
  return match ? Number(match[1]) : null;
}

/** The base preset for completions nearest in size to the Instruct model (the smallest when its size is unknown). */
export function baseModelFor(instructModel: string, presets: readonly ModelPreset[]): ModelPreset | null {
  const bases = presets.filter((p) => p.role === 'completion');
  if (bases.length === 0) return null;
  const sizeOf = (p: ModelPreset): number => parameterBillions(p.uri) ?? Number.POSITIVE_INFINITY;
  const wanted = parameterBillions(instructModel);
  const sorted = [...bases].sort((a, b) => sizeOf(a) - sizeOf(b));
  if (wanted === null) return sorted[0] ?? null;
  return sorted.reduce((best, p) => (Math.abs(sizeOf(p) - wanted) < Math.abs(sizeOf(best) - wanted) ? p : best));
}

/** The command link the tooltip's button runs: Select Model with the migration as its argument. */
export const useBaseModelArgument = 'useBaseModelForCompletions';
export const useBaseModelLink = `command:localLlm.selectModel?${encodeURIComponent(JSON.stringify([useBaseModelArgument]))}`;

/** The tooltip paragraph; `modelName` is Markdown-escaped by the caller. */
export function suggestionText(modelName: string): string {
  return (
    `$(lightbulb) **${modelName}** is an Instruct model; a base model of its family makes better completions ` +
    `(fill-in-the-middle is what base models are trained for), and this one keeps answering chat. ` +
    `[Use a base model for completions](${useBaseModelLink}) (it is downloaded after you confirm).`
  );
}
