// The sentences the gate puts into its state and its errors: what the user reads when a step fails.
import { formatTimeSpan } from '../shared/format';
import type { DriverCall } from './gate';

/** The error's own sentence, or `fallback` when it has none. */
export function describe(error: unknown, fallback: string): string {
  const message = error instanceof Error ? error.message : typeof error === 'string' ? error : '';
  return message.trim() === '' ? fallback : message;
}

export function overdueSentence(kind: DriverCall, ms: number): string {
  const time = formatTimeSpan(ms);
  return kind === 'load'
    ? `Loading the model did not finish within ${time}, so it was stopped.`
    : `Freeing the model did not finish within ${time}, so it was stopped.`;
}
