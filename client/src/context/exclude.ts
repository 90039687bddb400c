// Which files never give context: `localLlm.context.exclude` and what `files.exclude` hides.
// Pure (no `vscode`): the collectors hand it a workspace-relative path with forward slashes.
import { Minimatch } from 'minimatch';

/** `files.exclude` as VS Code stores it: a glob to true/false, or to a `when` clause on a sibling. */
export type FilesExclude = Readonly<Record<string, unknown>>;

// Dot files match (`.env`), and case is ignored: leaving out `KEY.PEM` as well as `key.pem` costs
// a chunk at most, while a case-sensitive miss on a case-insensitive disk would leak the file.
const options = { dot: true, nocase: true, nocomment: true, nonegate: true } as const;

export class ExcludeMatcher {
  private readonly globs: Minimatch[];

  /**
   * `contextExclude` globs always apply. A `files.exclude` entry applies when its value is `true`;
   * one with a `when` clause hides only files with a certain sibling (built output next to its
   * source), which says nothing about secrets, so it is not evaluated.
   */
  constructor(contextExclude: readonly string[], filesExclude: FilesExclude = {}) {
    const patterns = [
      ...contextExclude,
      ...Object.entries(filesExclude)
        .filter(([, v]) => v === true)
        .map(([k]) => k),
    ];
    this.globs = patterns
      .map((p) => p.trim().replace(/\\/g, '/').replace(/^\.\//, ''))
      .filter((p) => p.length > 0)
      .map((p) => new Minimatch(p, options));
  }

  /** True when the file, or any folder above it, matches one of the globs. */
  excludes(relativePath: string): boolean {
    const path = relativePath.replace(/\\/g, '/').replace(/^\/+/, '');
    if (path.length === 0) return true;
    const parts = path.split('/');
    // A folder glob (`**/secrets`, `node_modules`) hides everything inside it, as in the explorer.
    for (let i = parts.length; i > 0; i--) {
      const prefix = parts.slice(0, i).join('/');
      if (this.globs.some((g) => g.match(prefix))) return true;
    }
    return false;
  }
}
