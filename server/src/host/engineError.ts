// A failure the user should read as it is: one human sentence, no stack. The host passes its
// message on unchanged; anything else thrown is reported as the host having failed.
import { errorMessage } from '../shared/errors';
import { shortenPaths } from '../shared/text';

export class EngineError extends Error {
  override readonly name = 'EngineError';
}

/**
 * What node-llama-cpp or llama.cpp said, for the end of a sentence, with file paths cut to their
 * last part: a native build path means nothing to the user, and the host names the model itself.
 */
export function nativeMessage(err: unknown): string {
  return shortenPaths(errorMessage(err)).replace(/[.\s]+$/, '');
}
