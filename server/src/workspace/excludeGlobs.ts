// `localLlm.context.exclude` on the server: the client's rule (shared/pathGlobs.ts). The server checks again what the client already refused, and the index never reads
// such a file. Pure.
import { PathGlobs } from '../shared/pathGlobs';

export class ExcludeGlobs {
  private readonly globs: PathGlobs;

  constructor(readonly patterns: readonly string[]) {
    this.globs = new PathGlobs(patterns);
  }

  /** True when the path (forward slashes, relative to its workspace folder) or a folder above it matches. */
  excludes(relativePath: string): boolean {
    return this.globs.matches(relativePath) ?? false;
  }

  /** True when both were built from the same list. */
  sameAs(patterns: readonly string[]): boolean {
    return patterns.length === this.patterns.length && patterns.every((p, i) => p === this.patterns[i]);
  }
}
