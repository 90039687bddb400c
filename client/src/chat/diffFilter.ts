// An @changes part from a unified diff (git's): the sections of files the user keeps out of the
// context are taken out, and named, before anything goes to the model. Pure (no `vscode`).

export interface FilteredDiff {
  text: string;
  /** Paths whose changes were taken out. */
  left: string[];
}

/** The path a `diff --git a/x b/y` section is about (the new side; the old one for a deletion). */
function sectionPath(header: string): string | null {
  const m = /^diff --git "?a\/(.+?)"? "?b\/(.+?)"?$/.exec(header);
  if (!m) return null;
  return m[2] === '/dev/null' ? m[1] : m[2];
}

export function filterDiff(diff: string, allows: (path: string) => boolean): FilteredDiff {
  const lines = diff.split('\n');
  const kept: string[] = [];
  const left: string[] = [];
  let keeping = true;
  for (const line of lines) {
    if (line.startsWith('diff --git ')) {
      const path = sectionPath(line);
      // A header we cannot read names no file we could check: leave its section out.
      keeping = path !== null && allows(path);
      if (!keeping) left.push(path ?? line.slice('diff --git '.length));
    }
    if (keeping) kept.push(line);
  }
  return { text: kept.join('\n'), left };
}
