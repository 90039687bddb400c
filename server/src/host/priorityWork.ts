// The windows' generations on a shared host, in the order completionPriority.ts decides: the
// window the user is in goes first, and the work of other windows that yields to it is stopped
// here (queued, it answers at once; running, at its next token or batch). Each completion names
// its window, so the engine keeps each window's completion state across a switch.
import type { CancellationToken } from 'vscode-jsonrpc/node';
import { abortSignalOf } from '../shared/cancellation';
import type { Clock } from '../shared/clock';
import { CompletionPriority, type CompletionWork } from './completionPriority';
import type { HostClient } from './hostClients';
import type { LlamaEngine } from './llama/llamaEngine';
import type { CompletionOwner } from './llama/sequenceStateStore';
import type { GenerationResult, InfillParams, PrefillParams, PrefillResult } from '../engine/types';
import { noFigures, stoppedPrefill } from '../engine/types';

/** Completion-sequence work that runs or waits in the engine, and whether it was made to yield to another window. */
interface PendingWork extends CompletionWork<HostClient> {
  controller: AbortController;
  yielded: boolean;
}

/** Runs one generation of a client, aborted by `controller` (SharedHost.generate: it wakes a sleeping model and holds the idle watchdog). */
export type Generate = <T>(
  client: HostClient,
  controller: AbortController,
  token: CancellationToken,
  run: (signal: AbortSignal) => Promise<T>,
) => Promise<T>;

export interface PriorityWorkOptions {
  engine: LlamaEngine;
  clock: Clock;
  /** Whose completion work goes first; false: first come, first served (the benchmark's baseline). */
  priority: boolean;
  /** Whether each window's completion state is kept across a switch to another window; false: the benchmark's baseline. */
  windowStates: boolean;
  /** The bytes the windows allow for saved state (stateCacheMB). */
  stateCap(): number;
  /** Whether the model is ready and the host not on its way out: background work never wakes it. */
  ready(): boolean;
  generate: Generate;
}

/**
 * A controller that the request's cancellation aborts, and that the host can also abort itself
 * (a sleep, its window detaching, another window's completion).
 */
function controllerFor(token: CancellationToken): AbortController {
  const controller = new AbortController();
  const signal = abortSignalOf(token);
  if (signal.aborted) controller.abort();
  else signal.addEventListener('abort', () => controller.abort(), { once: true });
  return controller;
}

export class PriorityWork {
  private readonly priority: CompletionPriority<HostClient>;
  /** Every window's completion-sequence work in flight, for the priority to stop. */
  private readonly pendingWork = new Set<PendingWork>();

  constructor(private readonly options: PriorityWorkOptions) {
    this.priority = new CompletionPriority(options.priority);
  }

  /** Editor activity in `client`'s window (or a chat question): the user is there, other windows' background work stops. */
  activity(client: HostClient): void {
    this.yieldAll(this.priority.activity(client, this.options.clock.now(), this.pendingWork));
  }

  /** A window that detached. */
  forget(client: HostClient): void {
    this.priority.forget(client);
  }

  /** A chat answer: a question in the chat means the user is in this window. */
  chat(client: HostClient, token: CancellationToken, run: (signal: AbortSignal) => Promise<GenerationResult>): Promise<GenerationResult> {
    this.activity(client);
    return this.options.generate(client, controllerFor(token), token, run);
  }

  /**
   * A completion, or the next suggestion in the background: first the priority decides whether
   * it runs and which other window's work yields to it.
   */
  async infill(client: HostClient, token: CancellationToken, params: InfillParams): Promise<GenerationResult> {
    const work = this.admit(client, params.background === true ? 'background' : 'completion', token);
    if (!work) return { text: '', stopReason: 'abort', tokens: 0, figures: noFigures, yielded: true };
    try {
      const result = await this.options.generate(client, work.controller, token, (signal) =>
        this.options.engine.infill(params, signal, this.ownerOf(client)),
      );
      return work.yielded && result.stopReason === 'abort' ? { ...result, yielded: true } : result;
    } finally {
      this.pendingWork.delete(work);
    }
  }

  /**
   * Background evaluation (a window's context ring while its user pauses): never wakes the model,
   * never counts as activity, stops with its window, and yields to the window the user is in.
   */
  async prefill(client: HostClient, token: CancellationToken, params: PrefillParams): Promise<PrefillResult> {
    if (!this.options.ready()) return stoppedPrefill;
    const work = this.admit(client, 'background', token);
    if (!work) return { ...stoppedPrefill, yielded: true };
    client.running.add(work.controller);
    try {
      const result = await this.options.engine.prefill(params, work.controller.signal, this.ownerOf(client));
      return work.yielded ? { ...result, yielded: true } : result;
    } finally {
      client.running.delete(work.controller);
      this.pendingWork.delete(work);
    }
  }

  /**
   * A chat draft's prompt evaluated ahead on the chat sequence: like a context ring's prefill, it
   * never wakes the model, and a sleep or its window detaching stops it at its next batch. It is
   * not editor activity either; the question it prepares counts when it is sent.
   */
  async chatPrefill(
    client: HostClient,
    token: CancellationToken,
    run: (signal: AbortSignal) => Promise<PrefillResult>,
  ): Promise<PrefillResult> {
    if (!this.options.ready()) return stoppedPrefill;
    const controller = controllerFor(token);
    client.running.add(controller);
    try {
      return await run(controller.signal);
    } finally {
      client.running.delete(controller);
    }
  }

  /**
   * Whose completion this is, for the engine to keep each window's completion state across a
   * switch to another window; the bytes are what the windows allow for saved state, none without
   * window states (the benchmark's baseline).
   */
  private ownerOf(client: HostClient): CompletionOwner {
    return { key: client.owner, capBytes: this.keptStateBytes() };
  }

  /** What the states kept for a switch (another window's completion, another conversation's chat) may take. */
  keptStateBytes(): number {
    return this.options.windowStates ? this.options.stateCap() : 0;
  }

  /** The priority's decision for new completion work: null when it yields at once; else its entry, after the work it stops. */
  private admit(client: HostClient, kind: PendingWork['kind'], token: CancellationToken): PendingWork | null {
    const { run, stop } = this.priority.admit({ window: client, kind }, this.options.clock.now(), this.pendingWork);
    this.yieldAll(stop);
    if (!run) return null;
    const work: PendingWork = { window: client, kind, controller: controllerFor(token), yielded: false };
    this.pendingWork.add(work);
    return work;
  }

  /** Aborts work that yields to another window's. */
  private yieldAll(works: PendingWork[]): void {
    for (const work of works) {
      if (work.controller.signal.aborted) continue;
      work.yielded = true;
      work.controller.abort();
    }
  }
}
