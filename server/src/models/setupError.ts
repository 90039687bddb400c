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
