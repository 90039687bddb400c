// What a code block of an answer says about itself: the file it is for (a path in the fence's info
// string or in a first-line comment) and its code; and the one block of an Edit Selection answer.
// Pure (no `vscode`).

export interface BlockTarget {
  /** The path the block names, as written (relative or absolute); null when it names none. */
  path: string | null;
  /** The code, without a first line that only named the path. */
  code: string;
}

/** A file path: has a folder or an extension, and no spaces or quotes. */
function looksLikePath(text: string): boolean {
  if (!/^[\w@~.+\\/:-]+$/.test(text) || /^https?:/i.test(text)) return false;
  return /[\\/]/.test(text) || /\.[A-Za-z0-9]{1,8}$/.test(text);
}

function unquote(text: string): string {
  return text.replace(/^["'`]|["'`]$/g, '');
}

/** `ts src/a.ts`, `ts:src/a.ts`, `python title="app.py"`, `src/a.ts`. */
export function pathFromInfo(info: string): string | null {
  const words = info.trim().split(/\s+/).filter(Boolean);
  for (const word of words) {
    const named = /^(?:title|file|filename|path|name)=(.+)$/i.exec(word);
    if (named && looksLikePath(unquote(named[1]))) return unquote(named[1]);
  }
  const first = words[0] ?? '';
  const colon = /^[\w+#-]+:(.+)$/.exec(first);
  if (colon && looksLikePath(colon[1])) return colon[1];
  for (const word of words) if (looksLikePath(unquote(word)) && /[./\\]/.test(word)) return unquote(word);
  return null;
}

// `// src/a.ts`, `# File: app.py`, `/* style.css */`, `<!-- index.html -->`, `-- query.sql`.
const commentPath = /^\s*(?:\/\/|#|--|;|\/\*|<!--)\s*(?:(?:file(?:name)?|path)\s*:\s*)?(\S+?)\s*(?:\*\/|-->)?\s*$/i;

/** The block's target file and its code. */
export function blockTarget(info: string, code: string): BlockTarget {
  const fromInfo = pathFromInfo(info);
  const lines = code.split('\n');
  const firstLine = lines[0] ?? '';
  const match = commentPath.exec(firstLine);
  const fromComment = match && looksLikePath(match[1]) && !/^#!/.test(firstLine) ? match[1] : null;
  if (fromComment) return { path: fromInfo ?? fromComment, code: lines.slice(1).join('\n') };
  return { path: fromInfo, code };
}

/**
 * The code of an answer asked to be "only the rewritten code in one fence": the first fenced
 * block's body, or the whole answer when the model wrote no fence; null when it is empty.
 */
export function codeOfAnswer(answer: string): string | null {
  // The body runs to a closing fence at a line start, or to the end of a stream cut short.
  const fence = /^[ \t]*(`{3,}|~{3,})[^\n]*\n([\s\S]*?)(?:^[ \t]*\1[ \t]*$|(?![\s\S]))/m.exec(answer);
  const code = fence ? fence[2] : answer;
  return code.trim() === '' ? null : code.replace(/\s+$/, '');
}
