// Which files never give context: `localLlm.context.exclude` and what `files.exclude` hides.
// Pure (no `vscode`): the collectors hand it a workspace-relative path with forward slashes.
import { PathGlobs } from '../../../server/src/shared/pathGlobs';

/** `files.exclude` as VS Code stores it: a glob to true/false, or to a `when` clause on a sibling. */
export type FilesExclude = Readonly<Record<string, unknown>>;

export class ExcludeMatcher {
  private readonly globs: PathGlobs;

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
    this.globs = new PathGlobs(patterns);
  }

  /** True when the file, or any folder above it, matches one of the globs; a path that names nothing is kept out. */
  excludes(relativePath: string): boolean {
    return this.globs.matches(relativePath) ?? true;
  }
}
