// One load of the model for every window: a request that finds a load under way joins it, and
// the load is cancelled only when every window waiting on it cancelled.
import { EngineError } from './engineError';
import type { LlamaEngine } from './llama/llamaEngine';
import { ownRssBytes } from '../shared/memory';
import type { ModelStatus } from './modelStatus';
import type { LoadParams, LoadResult } from '../engine/types';

export interface SharedLoadEvents {
  /** The status changed (a load began, or failed). */
  changed(): void;
  /** The model is loaded and ready: activity, and a change of status. */
  loaded(): void;
}

interface Loading {
  promise: Promise<LoadResult>;
  controller: AbortController;
  waiting: number;
}

export class SharedLoad {
  private loading: Loading | null = null;

  constructor(
    private readonly engine: LlamaEngine,
    private readonly status: ModelStatus,
    private readonly events: SharedLoadEvents,
  ) {}

  /** Settles when no load is under way (whatever its outcome); a sleep waits for it. */
  async settled(): Promise<void> {
    if (this.loading) await this.loading.promise.catch(() => undefined);
  }

  /** Starts the load, or joins the one under way; aborting `signal` stops this window's wait (and the load, when it was the last). */
  async join(params: LoadParams, signal: AbortSignal): Promise<LoadResult> {
    const current = (this.loading ??= this.start(params));
    current.waiting++;
    let waiting = true;
    const stopWaiting = (): void => {
      if (!waiting) return;
      waiting = false;
      // The last one to stop waiting stops the load.
      if (--current.waiting === 0 && this.loading === current) current.controller.abort();
    };
    try {
      return await new Promise<LoadResult>((resolve, reject) => {
        current.promise.then(resolve, reject);
        const onAbort = (): void => {
          stopWaiting();
          reject(new EngineError(`Loading ${params.modelPath} was cancelled.`));
        };
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      });
    } finally {
      if (waiting) {
        waiting = false;
        current.waiting--;
      }
    }
  }

  private start(params: LoadParams): Loading {
    const { status } = this;
    const controller = new AbortController();
    status.baselineRssBytes ??= ownRssBytes();
    status.sleepRssBytes = null;
    status.lastParams = params;
    status.state = 'loading';
    status.byUser = false;
    this.events.changed();
    const promise = this.engine.load(params, controller.signal).then(
      (result) => {
        status.loads++;
        status.loaded = result;
        status.state = 'ready';
        this.loading = null;
        this.events.loaded();
        return result;
      },
      (err: unknown) => {
        status.loaded = null;
        status.state = 'empty';
        this.loading = null;
        this.events.changed();
        throw err;
      },
    );
    return { promise, controller, waiting: 0 };
  }
}
