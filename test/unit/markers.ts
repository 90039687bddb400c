// Test helper: text with `║` marking the cursor, as in tabby's tests.
// Write the cursor into a template string; get back the plain text and where the cursor was.

export const cursorMarker = '║';

export interface Marked {
  /** The text without the marker. */
  text: string;
  /** UTF-16 offset of the cursor in `text`. */
  offset: number;
  prefix: string;
  suffix: string;
}

export function parseMarked(marked: string): Marked {
  const offset = marked.indexOf(cursorMarker);
  if (offset < 0 || marked.indexOf(cursorMarker, offset + 1) >= 0) {
    throw new Error(`Marked text must hold exactly one cursor marker ${cursorMarker}: ${JSON.stringify(marked)}`);
  }
  const text = marked.slice(0, offset) + marked.slice(offset + cursorMarker.length);
  return { text, offset, prefix: text.slice(0, offset), suffix: text.slice(offset) };
}

/** Tagged template: doc`function f() {║}`. */
export function doc(strings: TemplateStringsArray, ...values: unknown[]): Marked {
  return parseMarked(String.raw({ raw: strings }, ...values));
}
