// Where copied text came from. VS Code tells an extension neither that a copy happened nor from
// where, only what the clipboard holds now; so the clipboard counts as context only when it equals
// a selection the user recently made in a file that may give context. Text copied in another
// program (a password, a token) or from an excluded file matches no such selection and is never
// sent. Pure (no `vscode`).

export interface SelectionSource {
  text: string;
  path: string;
}

/** Selections remembered; a copy is usually one of the last few. */
const kept = 8;
/** Larger selections are not remembered (select-all to copy a whole file is not a snippet). */
export const maxSelectionChars = 8000;

function normalize(text: string): string {
  return text.replace(/\r\n?/g, '\n').trim();
}

export class RecentSelections {
  private readonly items: SelectionSource[] = [];

  /** A non-empty selection in an allowed file. */
  note(text: string, path: string): void {
    const value = normalize(text);
    if (value.length === 0 || value.length > maxSelectionChars) return;
    const at = this.items.findIndex((s) => s.text === value);
    if (at >= 0) this.items.splice(at, 1);
    this.items.push({ text: value, path });
    if (this.items.length > kept) this.items.shift();
  }

  /** The selection the clipboard text was copied from, or null when it matches none. */
  match(clipboard: string): SelectionSource | null {
    const value = normalize(clipboard);
    if (value.length === 0) return null;
    for (let i = this.items.length - 1; i >= 0; i--) if (this.items[i].text === value) return this.items[i];
    return null;
  }

  clear(): void {
    this.items.length = 0;
  }
}
