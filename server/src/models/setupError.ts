// The one error type of model setup: a kind the code can switch on, and one sentence for the user.

export type ModelSetupErrorKind =
  | 'notFound'
  | 'http404'
  | 'unauthorized'
  | 'forbidden'
  | 'disk'
  | 'truncated'
  | 'notGguf'
  | 'declined'
  | 'timeout'
  | 'offline'
  | 'cancelled'
  /** A redirect to a file: (or other non-http) URL, a loop, or too many. */
  | 'redirect'
  /** The server answered a request for part of the file with something else. */
  | 'rangeIgnored'
  /** The downloaded content differs from the sha256 the hub (or the URL) published. */
  | 'mismatch'
  | 'download';

export class ModelSetupError extends Error {
  override readonly name = 'ModelSetupError';
  constructor(
    readonly kind: ModelSetupErrorKind,
    /** One human sentence, shown as is in the status bar, the log and a notification. */
    message: string,
  ) {
    super(message);
  }
}
