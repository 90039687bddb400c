// What the user gets from a generation stopped by localLlm.completion.maxMs: whole tokens (the
// host streams whole ones) and, when the text already holds a line break, whole lines only, so a
// line is never shown half-written.

export function trimCapped(text: string): string {
  const lastBreak = text.lastIndexOf('\n');
  return lastBreak < 0 ? text : text.slice(0, lastBreak);
}
