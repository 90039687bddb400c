// The shape shared by every post-processing filter: small, pure, and run in a fixed order.

export interface PostprocessContext {
  /** Text before the cursor; only its last line (the cursor line's start) is used, so the window prefix or just that line will do. */
  prefix: string;
  /** Text after the cursor: the rest of its line, then the following lines (a bounded head is enough). */
  suffix: string;
  /** Most lines a completion may have. */
  maxLines: number;
}

/** Takes a completion and returns it changed, or null to drop it. */
export type Filter = (item: string, ctx: PostprocessContext) => string | null;
