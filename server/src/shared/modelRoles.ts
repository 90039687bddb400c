// #25: the sentences that refuse a model for a role it cannot serve, the same from the host
// (which refuses the request) and the server (which says so in the status).

/** A completion model without FIM tokens. `chatElsewhere`: a chat model of its own serves chat. */
export function noFimSentence(name: string, chatElsewhere: boolean): string {
  return chatElsewhere
    ? `${name} has no fill-in-the-middle tokens, so it cannot serve inline completions; choose a base model with FIM tokens in localLlm.model.`
    : `${name} has no fill-in-the-middle tokens, so inline completions are off; chat works.`;
}

/** A chat model of its own without a chat template. */
export function noChatTemplateSentence(name: string): string {
  return `${name} has no chat template, so it cannot serve chat; choose an Instruct model in localLlm.chat.model.`;
}
