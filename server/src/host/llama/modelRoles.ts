// #25: one model for completions and another for chat, in one host. Which file serves which
// role, in which order they load (the one the waking request needs first, the other behind it),
// and what each role's last load said, so that a load can answer once its first model is ready.
import type { ChatModelResult, LoadParams, LoadResult } from '../../engine/types';
import type { SequenceKind } from '../../shared/stateFiles';

/** Two models, in the order they load. */
export interface RolePlan {
  first: SequenceKind;
  second: SequenceKind;
  paths: Record<SequenceKind, string>;
}

/** The plan of a load with a chat model of its own; null when one model serves both roles. */
export function rolePlan(params: LoadParams): RolePlan | null {
  const chatPath = params.chatModelPath;
  if (!chatPath || chatPath === params.modelPath) return null;
  const first: SequenceKind = params.first === 'chat' ? 'chat' : 'completion';
  return {
    first,
    second: first === 'chat' ? 'completion' : 'chat',
    paths: { completion: params.modelPath, chat: chatPath },
  };
}

/** The chat model's part of a result: what the completion's result says of its own model, less the load's notes. */
export function chatPart(result: LoadResult): ChatModelResult {
  const info: ChatModelResult & Partial<Pick<LoadResult, 'fallbackReason' | 'chatModel'>> = { ...result };
  delete info.fallbackReason;
  delete info.chatModel;
  return info;
}

/**
 * The last result of each role's load, by file: a wake answers with the role that is still
 * loading as it was last time (same file, same host settings), so nobody waits for it.
 */
export class RoleResults {
  private readonly results = new Map<string, LoadResult>();

  remember(kind: SequenceKind, path: string, result: LoadResult): void {
    this.results.set(`${kind}\n${path}`, result);
  }

  known(kind: SequenceKind, path: string): LoadResult | null {
    return this.results.get(`${kind}\n${path}`) ?? null;
  }
}
