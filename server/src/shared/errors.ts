// Turning whatever was thrown into the one sentence a user or a log line reads.

/** The message of an Error, or the thrown value as text. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The stack of an Error (for logs, never for the user), or the thrown value as text. */
export function errorStack(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

/**
 * A request met the shared model host on its way out in a deep sleep that another window (or the
 * idle time of all of them) decided a moment before: this window had not heard of it yet. The
 * gate runs such a request again, after the wake, instead of failing it.
 */
export class ModelLeftError extends Error {
  override readonly name = 'ModelLeftError';
}
