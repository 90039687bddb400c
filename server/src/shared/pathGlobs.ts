// The one rule by which `localLlm.context.exclude` (and, on the client, `files.exclude`) keeps a
// file out of the context, shared by the client's collectors and the server's checks and index: a
// workspace-relative path is matched when it, or a folder above it, matches a glob. Dot files
// match (`.env`), and case is ignored: leaving out `KEY.PEM` as well as `key.pem` costs a chunk at
// most, while a case-sensitive miss on a case-insensitive disk would leak the file. Pure.
import { Minimatch } from 'minimatch';

const options = { dot: true, nocase: true, nocomment: true, nonegate: true } as const;

export class PathGlobs {
  private readonly globs: Minimatch[];

  constructor(patterns: readonly string[]) {
    this.globs = patterns
      .map((p) => p.trim().replace(/\\/g, '/').replace(/^\.\//, ''))
      .filter((p) => p.length > 0)
      .map((p) => new Minimatch(p, options));
  }

  /**
   * Whether the path (relative to its workspace folder, either slash) or a folder above it
   * matches: a folder glob (`**\/secrets`, `node_modules`) covers everything inside it, as in the
   * explorer. Null for an empty path, which each caller judges for itself.
   */
  matches(relativePath: string): boolean | null {
    const path = relativePath.replace(/\\/g, '/').replace(/^\/+/, '');
    if (path.length === 0) return null;
    const parts = path.split('/');
    for (let i = parts.length; i > 0; i--) {
      const prefix = parts.slice(0, i).join('/');
      if (this.globs.some((g) => g.match(prefix))) return true;
    }
    return false;
  }
}
