// How the model host answers a request that failed: an EngineError's sentence as it is, anything
// else as one sentence (and its stack in the host's log), never as a stack to the server.
import { ErrorCodes, ResponseError } from 'vscode-jsonrpc';
import { errorStack } from '../shared/errors';
import { EngineError, nativeMessage } from './engineError';

export async function answer<T>(log: (line: string) => void, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof EngineError) throw new ResponseError<void>(ErrorCodes.InternalError, err.message);
    log(`Model host request failed: ${errorStack(err)}`);
    throw new ResponseError<void>(ErrorCodes.InternalError, `The model host failed: ${nativeMessage(err)}.`);
  }
}
