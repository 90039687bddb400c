// The local engine: the model host child process (host/hostProcess.ts), as it is, behind the
// engine interface. Nothing is added here: the host's deadlines, cancellation and exit sentences
// are the engine's.
import type { Event } from 'vscode-jsonrpc';
import { HostProcess, type HostProcessOptions } from '../host/hostProcess';
import type {
  ChatGenerateParams,
  GenerationResult,
  HostStats,
  InfillParams,
  LoadParams,
  PrefillParams,
  PrefillResult,
  LoadResult,
  SaveStateParams,
  SaveStateResult,
} from '../host/protocol';
import type { Engine, EngineExit, RemoteView } from './engine';

export class LocalEngine implements Engine {
  readonly kind = 'local' as const;
  /** The host process itself: the shared host's mirror follows its announcements. */
  readonly process: HostProcess;

  constructor(options: HostProcessOptions) {
    this.process = new HostProcess(options);
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  get exit(): EngineExit | null {
    return this.process.exit;
  }

  get onExit(): Event<EngineExit> {
    return this.process.onExit;
  }

  load(params: LoadParams, signal?: AbortSignal): Promise<LoadResult> {
    return this.process.load(params, signal);
  }

  saveState(params: SaveStateParams): Promise<SaveStateResult> {
    return this.process.saveState(params);
  }

  unload(): Promise<HostStats> {
    return this.process.unload();
  }

  infill(params: InfillParams, signal?: AbortSignal): Promise<GenerationResult> {
    return this.process.infill(params, signal);
  }

  prefill(params: PrefillParams, signal?: AbortSignal): Promise<PrefillResult> {
    return this.process.prefill(params, signal);
  }

  chat(params: Omit<ChatGenerateParams, 'streamId'>, onChunk: (text: string) => void, signal?: AbortSignal): Promise<GenerationResult> {
    return this.process.chat(params, onChunk, signal);
  }

  stats(): Promise<HostStats> {
    return this.process.stats();
  }

  shutdown(timeoutMs?: number): Promise<EngineExit> {
    return this.process.shutdown(timeoutMs);
  }

  detach(timeoutMs?: number): Promise<EngineExit> {
    return this.process.detach(timeoutMs);
  }

  kill(): Promise<EngineExit> {
    return this.process.kill();
  }

  remote(): RemoteView | null {
    return null;
  }
}
