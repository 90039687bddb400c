// Tokens of a text as the chat budget counts them. The language server has no tokenizer (the
// model's lives in the model host, which may be asleep, or on a model server), so it estimates,
// on the safe side: code and English run at 3.5 to 4.5 UTF-8 bytes per token in BPE vocabularies
// of coder models, so bytes / 3 over-counts, and a prompt planned with it fits. The host counts
// again with the real tokenizer and drops the oldest turns should the estimate ever fall short.

export const bytesPerToken = 3;
/** The chat template's tokens around one message (role markers, separators), generously. */
export const messageOverheadTokens = 8;

export function estimateTokens(text: string): number {
  return Math.ceil(Buffer.byteLength(text, 'utf8') / bytesPerToken);
}

/** A whole message: its text and the template around it. */
export function messageTokens(text: string): number {
  return estimateTokens(text) + messageOverheadTokens;
}
