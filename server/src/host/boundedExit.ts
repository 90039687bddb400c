// The one way the model host process ends: the model disposed within a bound (the process exit
// frees whatever is left, and a clean exit of our own must come before the server's SIGTERM),
// then the exit, once the replies have left.
import { errorMessage } from '../shared/errors';

/** How long the exit waits for node-llama-cpp to dispose before the process ends anyway. */
export const disposeBoundMs = 1500;
/** Time for the last replies to leave before the process does. */
const replyMs = 50;

export async function disposeThenExit(dispose: () => Promise<void>, log: (line: string) => void): Promise<void> {
  let bound: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    dispose().then(
      () => 'disposed' as const,
      (err: unknown) => `failed: ${errorMessage(err)}`,
    ),
    new Promise<'late'>((resolve) => (bound = setTimeout(() => resolve('late'), disposeBoundMs))),
  ]);
  clearTimeout(bound);
  if (outcome === 'late') log(`Disposing the model did not finish within ${disposeBoundMs} ms; the process exits anyway.`);
  else if (outcome !== 'disposed') log(`Disposing the model ${outcome}; the process exits anyway.`);
  setTimeout(() => process.exit(0), replyMs);
}
