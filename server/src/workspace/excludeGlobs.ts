// `localLlm.context.exclude` on the server: the same rule as the client's (client/src/context/
// exclude.ts): a workspace-relative path is excluded when it, or a folder above it, matches a
// glob; dot files match and case is ignored (a miss on a case-insensitive disk would leak a
// secret). The server checks again what the client already refused, and the index never reads
// such a file. Pure.
import { Minimatch } from 'minimatch';

const options = { dot: true, nocase: true, nocomment: true, nonegate: true } as const;

export class ExcludeGlobs {
  private readonly globs: Minimatch[];

  constructor(readonly patterns: readonly string[]) {
    this.globs = patterns
      .map((p) => p.trim().replace(/\\/g, '/').replace(/^\.\//, ''))
      .filter((p) => p.length > 0)
      .map((p) => new Minimatch(p, options));
  }

  /** True when the path (forward slashes, relative to its workspace folder) or a folder above it matches. */
  excludes(relativePath: string): boolean {
    const path = relativePath.replace(/\\/g, '/').replace(/^\/+/, '');
    if (path.length === 0) return false;
    const parts = path.split('/');
    for (let i = parts.length; i > 0; i--) {
      const prefix = parts.slice(0, i).join('/');
      if (this.globs.some((g) => g.match(prefix))) return true;
    }
    return false;
  }

  /** True when both were built from the same list. */
  sameAs(patterns: readonly string[]): boolean {
    return patterns.length === this.patterns.length && patterns.every((p, i) => p === this.patterns[i]);
  }
}
