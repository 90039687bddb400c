// Where a code block from an answer goes in a file: a fragment (one function of a file) replaces
// the region it matches, found by its signature line or by its first and last lines; no match or
// two matches are reported instead of guessed. Pure (no `vscode`): lines in, lines out.

export type FragmentPlan =
  | {
      kind: 'region';
      /** 0-based, inclusive: the file's lines the fragment replaces. */
      startLine: number;
      endLine: number;
      /** The fragment re-indented to the region, without a final line break. */
      replacement: string;
      by: 'signature' | 'first and last lines';
    }
  | { kind: 'none' }
  /** 0-based first lines of the regions that matched equally well. */
  | { kind: 'ambiguous'; startLines: number[] };

/** Lines compare by their words, so indentation and spacing do not decide a match. */
function key(line: string): string {
  return line.trim().replace(/\s+/g, ' ');
}

function indentOf(line: string): string {
  return /^[ \t]*/.exec(line)?.[0] ?? '';
}

/** Indentation width, a tab counting as one level of four. */
function width(line: string): number {
  let w = 0;
  for (const ch of indentOf(line)) w += ch === '\t' ? 4 : 1;
  return w;
}

function isBlank(line: string): boolean {
  return line.trim() === '';
}

export function splitLines(text: string): string[] {
  return text.split('\n').map((l) => l.replace(/\r$/, ''));
}

/** Drops blank lines at both ends, keeping the ones inside. */
function trimBlankLines(lines: string[]): string[] {
  let start = 0;
  let end = lines.length;
  while (start < end && isBlank(lines[start])) start++;
  while (end > start && isBlank(lines[end - 1])) end--;
  return lines.slice(start, end);
}

// A declaration's head: a keyword that introduces one, or a call-like head that opens a body.
const declaration =
  /^(export\s+|default\s+|public\s+|private\s+|protected\s+|internal\s+|static\s+|async\s+|abstract\s+|override\s+|pub(\([^)]*\))?\s+|unsafe\s+|inline\s+|virtual\s+)*(function\*?|def|class|interface|enum|struct|trait|impl|fn|func|type|module|namespace|object|fun|sub|procedure)\b/;
const arrowConst = /^(export\s+)?(const|let|var)\s+[\w$]+\s*(:[^=]+)?=\s*(async\s+)?(\([^)]*\)|[\w$]+)\s*(:[^=]+)?=>/;

function looksLikeSignature(line: string): boolean {
  const t = line.trim();
  if (t.length < 4 || /^(if|for|while|switch|catch|return|else)\b/.test(t)) return false;
  // A method or C-like function head: a name and a parameter list that opens a body.
  const callable = /^[\w$][^=;]*\(/.test(t) && /([{:]|=>\s*\{?)$/.test(t);
  return declaration.test(t) || arrowConst.test(t) || callable;
}

/** A line that closes the block its indentation level opened: `}`, `)`, `]`, `end`. */
function isCloser(line: string): boolean {
  return /^([}\])]|end\b)/.test(line.trim());
}

/** Ends with something that opens the block again (`} else {`, `) {`, `]):`). */
function reopens(line: string): boolean {
  return /[{([:]\s*$/.test(line.trim());
}

/** The last line of the block that starts at `start`: what is indented deeper, and its closing line. */
export function blockEnd(lines: readonly string[], start: number): number {
  const base = width(lines[start]);
  let end = start;
  let open = reopens(lines[start]);
  for (let k = start + 1; k < lines.length; k++) {
    const line = lines[k];
    if (isBlank(line)) continue;
    const w = width(line);
    if (w > base) {
      end = k;
      continue;
    }
    // Allman braces: the body's `{` sits on its own line at the head's indentation.
    if (w === base && !open && line.trim().startsWith('{')) {
      end = k;
      open = true;
      continue;
    }
    if (w === base && isCloser(line)) {
      end = k;
      if (reopens(line)) continue;
    }
    break;
  }
  return end;
}

/** Comment or decorator lines just above `line`, at most `max` of them: they go with a replaced declaration. */
function leadingNotes(lines: readonly string[], line: number, max: number): number {
  let start = line;
  while (start > 0 && line - start < max && /^(\/\/|\/\*|\*|#|@|--|"""|''')/.test(lines[start - 1].trim())) start--;
  return start;
}

/** Lines moved from their own indentation (`fragmentIndent`) to the file's (`fileIndent`). */
export function reindent(fragment: readonly string[], fragmentIndent: string, fileIndent: string): string[] {
  if (fragmentIndent === fileIndent) return [...fragment];
  return fragment.map((line) => {
    if (isBlank(line)) return '';
    if (line.startsWith(fragmentIndent)) return fileIndent + line.slice(fragmentIndent.length);
    return fileIndent + line.trimStart();
  });
}

function region(
  fileLines: readonly string[],
  fragment: readonly string[],
  startLine: number,
  endLine: number,
  anchor: { file: number; fragment: number },
  by: 'signature' | 'first and last lines',
): FragmentPlan {
  const replacement = reindent(fragment, indentOf(fragment[anchor.fragment]), indentOf(fileLines[anchor.file])).join('\n');
  return { kind: 'region', startLine, endLine, replacement, by };
}

/** Where `fragment` goes in `fileText`. */
export function planFragment(fileText: string, fragmentText: string): FragmentPlan {
  const fileLines = splitLines(fileText);
  const fragment = trimBlankLines(splitLines(fragmentText));
  if (fragment.length === 0) return { kind: 'none' };
  const fileKeys = fileLines.map(key);
  const occurrences = (line: string): number[] => {
    const k = key(line);
    const found: number[] = [];
    fileKeys.forEach((fk, i) => {
      if (fk === k) found.push(i);
    });
    return found;
  };

  // 1. The signature line: the first line of the fragment that declares something.
  const sigIndex = fragment.findIndex(looksLikeSignature);
  if (sigIndex >= 0) {
    const matches = occurrences(fragment[sigIndex]);
    if (matches.length === 1) {
      const at = matches[0];
      const start = leadingNotes(fileLines, at, sigIndex);
      return region(fileLines, fragment, start, blockEnd(fileLines, at), { file: at, fragment: sigIndex }, 'signature');
    }
    if (matches.length > 1) {
      // Twins (overloads, the same method in two classes): the last line may still tell them apart.
      const last = key(fragment[fragment.length - 1]);
      const fitting = matches.filter((at) => fileKeys[blockEnd(fileLines, at)] === last);
      if (fitting.length === 1 && !isCloser(fragment[fragment.length - 1])) {
        const at = fitting[0];
        return region(fileLines, fragment, at, blockEnd(fileLines, at), { file: at, fragment: sigIndex }, 'signature');
      }
      return { kind: 'ambiguous', startLines: matches };
    }
  }

  // 2. The first and last lines: a run of statements, or a declaration whose head was changed.
  const first = fragment[0];
  const last = fragment[fragment.length - 1];
  if (key(first).length < 2) return { kind: 'none' };
  const pairs: Array<[number, number]> = [];
  for (const start of occurrences(first)) {
    if (fragment.length === 1) {
      pairs.push([start, start]);
      continue;
    }
    const lastKey = key(last);
    for (let end = start + 1; end < fileLines.length; end++) {
      if (fileKeys[end] === lastKey && width(fileLines[end]) - width(fileLines[start]) === width(last) - width(first)) {
        pairs.push([start, end]);
        break;
      }
    }
  }
  if (pairs.length === 1) {
    const [start, end] = pairs[0];
    return region(fileLines, fragment, start, end, { file: start, fragment: 0 }, 'first and last lines');
  }
  if (pairs.length > 1) return { kind: 'ambiguous', startLines: pairs.map(([s]) => s) };
  return { kind: 'none' };
}

/** The file's text with lines `startLine`..`endLine` replaced, keeping its line breaks. */
export function replaceLines(fileText: string, startLine: number, endLine: number, replacement: string): string {
  const eol = fileText.includes('\r\n') ? '\r\n' : '\n';
  const lines = fileText.split(/\r?\n/);
  const replaced = replacement === '' ? [] : replacement.split(/\r?\n/);
  return [...lines.slice(0, startLine), ...replaced, ...lines.slice(endLine + 1)].join(eol);
}
