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
  private readonly host: HostProcess;

  constructor(options: HostProcessOptions) {
    this.host = new HostProcess(options);
  }

  get pid(): number | undefined {
    return this.host.pid;
  }

  get exit(): EngineExit | null {
    return this.host.exit;
  }

  get onExit(): Event<EngineExit> {
    return this.host.onExit;
  }

  load(params: LoadParams, signal?: AbortSignal): Promise<LoadResult> {
    return this.host.load(params, signal);
  }

  saveState(params: SaveStateParams): Promise<SaveStateResult> {
    return this.host.saveState(params);
  }

  unload(): Promise<HostStats> {
    return this.host.unload();
  }

  infill(params: InfillParams, signal?: AbortSignal): Promise<GenerationResult> {
    return this.host.infill(params, signal);
  }

  prefill(params: PrefillParams, signal?: AbortSignal): Promise<PrefillResult> {
    return this.host.prefill(params, signal);
  }

  chat(params: Omit<ChatGenerateParams, 'streamId'>, onChunk: (text: string) => void, signal?: AbortSignal): Promise<GenerationResult> {
    return this.host.chat(params, onChunk, signal);
  }

  stats(): Promise<HostStats> {
    return this.host.stats();
  }

  shutdown(timeoutMs?: number): Promise<EngineExit> {
    return this.host.shutdown(timeoutMs);
  }

  kill(): Promise<EngineExit> {
    return this.host.kill();
  }

  remote(): RemoteView | null {
    return null;
  }
}
