// Whether a draft model can draft for a model: its token ids must mean the same tokens, or every
// draft is a guess in another language. Pure: the load reads each model's vocabulary into a
// VocabularyPrint and asks here; llama.cpp's own check (token texts) runs after.

/** The parts of a vocabulary that drafting depends on. */
export interface VocabularyPrint {
  /** llama.cpp's tokenizer kind (spm, bpe, ...). */
  type: string;
  tokenCount: number;
  /** The ids a completion's prompt and its end depend on; null where the model has none. */
  special: Readonly<Record<SpecialToken, number | null>>;
}

export type SpecialToken = 'bos' | 'eos' | 'eot' | 'fimPrefix' | 'fimSuffix' | 'fimMiddle';

/**
 * llama.cpp lets vocabularies differ in size by this much (padding: Qwen2.5-Coder 0.5B has 151,936
 * tokens and 7B 152,064) as long as the tokens both have are the same.
 */
export const maxTokenCountDifference = 128;

const specialNames: Readonly<Record<SpecialToken, string>> = {
  bos: 'beginning-of-text',
  eos: 'end-of-text',
  eot: 'end-of-turn',
  fimPrefix: 'FIM prefix',
  fimSuffix: 'FIM suffix',
  fimMiddle: 'FIM middle',
};

/**
 * Why `draft` cannot draft for `main` (the end of a sentence that starts "it "), or null when it
 * can. A special token the draft lacks where the main model has one counts as a difference too.
 */
export function vocabularyMismatch(main: VocabularyPrint, draft: VocabularyPrint): string | null {
  if (main.type !== draft.type) return `uses a ${draft.type} tokenizer and the model a ${main.type} one`;
  const difference = Math.abs(main.tokenCount - draft.tokenCount);
  if (difference > maxTokenCountDifference) {
    return `has ${draft.tokenCount} tokens and the model ${main.tokenCount}`;
  }
  for (const key of Object.keys(specialNames) as SpecialToken[]) {
    const a = main.special[key];
    const b = draft.special[key];
    if (a !== b) {
      const where = (id: number | null): string => (id === null ? 'none' : `id ${id}`);
      return `has its ${specialNames[key]} token at ${where(b)} and the model at ${where(a)}`;
    }
  }
  return null;
}
