// The context ring's budget is counted in tokens, but its text is kept and sent in characters:
// the ring (completion/) and a model server's own context (engine/http/, llama-server's
// `input_extra`) convert with this one estimate, so both keep the same chunks.

/** Code averages 3-4 characters a token; the ring keeps text for this many per budgeted token, and the host cuts the rest exactly. */
export const ringCharsPerToken = 4;
