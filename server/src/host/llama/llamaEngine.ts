// The llama.cpp engine: node-llama-cpp's llama, model, context and sequences behind load, infill,
// prefill, chat, stats, state saves and unload, with no IPC. The model host (sharedHost.ts) serves
// it to the language servers, and the benchmark's direct baseline (bench/direct/engineWorker.ts)
// calls it in a bare process, so both run the very same load and generation code.
// One model and one context serve every request (loadedModel.ts): completions on one sequence,
// chat on the other; a completion runs beside a chat answer (laneQueue.ts), one generation at a
// time per sequence. Its parts: the load (llamaLoader.ts), the saved states across sleep and
// window switches (sequenceStateStore.ts), the completion prompt (infillPrompt.ts), and the
// generations (completionRuns.ts, chatTurn.ts). With a chat model of its own (#25, modelRoles.ts)
// the chat sequence is that model's, in its own context, and the two models load one behind the
// other: the one the waking request needs first.
import type { Backend } from '../../shared/protocol';
import type { GpuChoice } from '../../shared/settings';
import { nativeMessage, EngineError } from '../engineError';
import { ownRssBytes } from '../../shared/memory';
import {
  stoppedPrefill,
  type ChatTurnParams,
  type GenerationResult,
  type HostStats,
  type InfillParams,
  type LoadParams,
  type LoadResult,
  type PrefillParams,
  type PrefillResult,
  type SaveStateResult,
} from '../../engine/types';
import type { SequenceKind } from '../../shared/stateFiles';
import { runChat, runChatPrefill } from './chatTurn';
import { runInfill, runPrefill } from './completionRuns';
import { abortResult } from './generation';
import { InfillPrompt } from './infillPrompt';
import { LaneQueue } from './laneQueue';
import { payoffSentence } from './lookupPayoff';
import type { DraftSwitch } from './draftSwitch';
import { LlamaLoader, type LoadTimings } from './llamaLoader';
import { disposeLoadedModel, type LoadedModel } from './loadedModel';
import { chatPart, RoleResults, rolePlan, type RolePlan } from './modelRoles';
import { noChatTemplateSentence } from '../../shared/modelRoles';
import { SequenceStateStore, type CompletionOwner } from './sequenceStateStore';

export interface EngineOptions {
  /** Diagnostic lines (llama.cpp's warnings, a GPU backend that would not start); stderr by default. */
  log?: (line: string) => void;
  /** Lines for the host's own log only (a window switch's save and restore times); none by default. */
  trace?: (line: string) => void;
  /** The draft model's confidence gate (draftModel.ts); the product's own when absent. */
  draftConfidence?: number;
  /** Tests only: what the model loaded behind the other waits for first (testHooks.ts). */
  secondLoadGate?: () => Promise<void>;
}

/** One load and what belongs to it alone. */
interface Load {
  model: LoadedModel;
  prompt: InfillPrompt;
  states: SequenceStateStore;
}

/**
 * node-llama-cpp behind one lane queue. Every failure meant for the user is an EngineError
 * holding one sentence; anything else thrown is a bug.
 */
export class LlamaEngine {
  private readonly log: (line: string) => void;
  private readonly trace: (line: string) => void;
  private readonly loader: LlamaLoader;
  /** The completion model; also the chat model unless a chat model of its own is loaded (#25). */
  private current: Load | null = null;
  /** #25: the chat model, when the load named a file of its own for chat. */
  private chatLoad: Load | null = null;
  /** The last load named a chat model of its own: chat never falls back to the completion model. */
  private twoModels = false;
  private readonly roleResults = new RoleResults();
  private readonly secondLoadGate: (() => Promise<void>) | undefined;
  /** Why a role's model, loaded behind the other, failed: its requests answer this sentence. */
  private readonly roleErrors = new Map<SequenceKind, EngineError>();
  /** Loads, unloads, state saves and disposal run alone; each sequence's generations in its own lane. */
  private readonly queue = new LaneQueue();
  /** Generations in flight or waiting, aborted by dispose(). */
  private readonly running = new Set<AbortController>();
  /** Aborted by dispose(): a load still running stops, as a generation does. */
  private readonly stopping = new AbortController();
  private disposal: Promise<void> | null = null;

  constructor(options: EngineOptions = {}) {
    this.log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.trace = options.trace ?? (() => undefined);
    // Imported at once, so the RSS measured before the first load already includes the library
    // and what a sleep gives back is the model alone.
    this.loader = new LlamaLoader(this.log, options.draftConfidence);
    this.secondLoadGate = options.secondLoadGate;
  }

  /** Resolves once node-llama-cpp is imported; rejects when it cannot be. */
  async ready(): Promise<void> {
    await this.loader.library;
  }

  /** How long importing node-llama-cpp took; null until it is done. */
  get importMs(): number | null {
    return this.loader.importMs;
  }

  get lastLoadTimings(): LoadTimings | null {
    return this.loader.lastLoadTimings;
  }

  /** A standby host's warm-up (host/standby.ts): the backend ahead of the load where that touches no GPU; whether it started. */
  prestartBackend(gpu: GpuChoice, threads: number): Promise<boolean> {
    this.refuseWhileStopping();
    return this.queue.run(() => this.loader.prestart(gpu, threads));
  }

  /** The backend of the current llama; null before the first load. */
  get backend(): Backend | null {
    return this.loader.backend;
  }

  /**
   * Loads the model and creates its context, replacing the model loaded before. Aborting
   * `signal` stops the file check and llama.cpp's load; the load then fails with a sentence.
   */
  load(params: LoadParams, signal?: AbortSignal): Promise<LoadResult> {
    this.refuseWhileStopping();
    const stop = signal ? AbortSignal.any([signal, this.stopping.signal]) : this.stopping.signal;
    const plan = rolePlan(params);
    this.twoModels = plan !== null;
    this.roleErrors.clear();
    const loaded = plan ? this.loadBoth(params, plan, stop) : this.queue.run(() => this.loadNow(params, stop));
    // A wake is mostly the user coming back to type: the completion's saved state is put back at
    // once, so the first ghost text does not wait for it. A chat's waits for its next question.
    void loaded.then(
      () => this.restoreSaved('completion').catch((err: unknown) => this.logRestoreFailure('completion', err)),
      () => undefined,
    );
    return loaded;
  }

  /**
   * Restores `kind`'s saved state now, when the load still has it to restore (the first request
   * that uses the sequence would, before it runs). A wake does the completion's at once.
   */
  restoreSaved(kind: SequenceKind): Promise<void> {
    const current = this.loadOf(kind);
    if (!current?.states.pending(kind)) return Promise.resolve();
    return this.restoreTask(kind, async () => {
      if (this.loadOf(kind) === current) await current.states.restore(kind);
    });
  }

  /**
   * Runs a restore of `kind`'s saved state. With one model the two sequences share a context, so
   * it runs alone (a state load must not overlap the other sequence's decode); with two models
   * (#25) each has a context of its own, and it waits only for its own lane, never for the other
   * model still loading behind.
   */
  private restoreTask(kind: SequenceKind, task: () => Promise<void>): Promise<void> {
    return this.twoModels ? this.queue.lane(kind, task) : this.queue.run(task);
  }

  /** Fill in the middle. Aborting `signal` stops it; one aborted while it waits answers at once. */
  infill(params: InfillParams, signal: AbortSignal, owner?: CompletionOwner): Promise<GenerationResult> {
    this.refuseWhileStopping();
    return this.generation('completion', signal, abortResult, (stop) => this.infillNow(params, stop, owner));
  }

  /**
   * Evaluates the prompt an infill with these params would use into the completion sequence, in
   * batches (completionRuns.ts); aborting `signal` stops it at the next batch, keeping what was
   * evaluated. Generates nothing.
   */
  prefill(params: PrefillParams, signal: AbortSignal, owner?: CompletionOwner): Promise<PrefillResult> {
    this.refuseWhileStopping();
    return this.generation('completion', signal, stoppedPrefill, (stop) => this.prefillNow(params, stop, owner));
  }

  /** A window detached from the shared host: its saved completion state is deleted, never to be restored. */
  forgetOwner(key: string): Promise<void> {
    return this.queue.lane('completion', async () => {
      await this.current?.states.forget(key);
    });
  }

  /**
   * One chat answer over `params.messages`, each streamed piece of text passed to `onChunk`.
   * `keepBytes`: what the chat states of other conversations may take (the windows' state allowance; 0 keeps none).
   */
  chat(params: ChatTurnParams, onChunk: (text: string) => void, signal: AbortSignal, keepBytes = 0): Promise<GenerationResult> {
    this.refuseWhileStopping();
    return this.generation('chat', signal, abortResult, (stop) => this.chatNow(params, onChunk, stop, keepBytes));
  }

  /**
   * Evaluates into the chat sequence what `chat` with these params would evaluate before it
   * generates, in batches; aborting `signal` stops it at the next batch, keeping what was
   * evaluated. Generates nothing. `keepBytes` as for chat: the conversation held may be kept aside.
   */
  chatPrefill(params: ChatTurnParams, signal: AbortSignal, keepBytes = 0): Promise<PrefillResult> {
    this.refuseWhileStopping();
    return this.generation('chat', signal, stoppedPrefill, (stop) => this.chatPrefillNow(params, stop, keepBytes));
  }

  /** RSS of this process and the GPU's memory (the whole device, as llama.cpp reports it). */
  async stats(): Promise<HostStats> {
    await this.loader.library;
    const vram = await this.loader.vram();
    return {
      rssBytes: ownRssBytes(),
      vramUsedBytes: vram?.used ?? null,
      vramTotalBytes: vram?.total ?? null,
      loaded: this.current !== null || this.chatLoad !== null,
      draftLoaded: this.current?.model.draft != null,
    };
  }

  /** Light sleep: waits for a running generation (disposing under it kills the process), then frees model and context. */
  async unload(): Promise<HostStats> {
    await this.loader.library;
    return this.queue.run(async () => {
      await this.disposeLoaded();
      return this.stats();
    });
  }

  /**
   * Before a sleep: saves each sequence that holds tokens to the load's state folder, then trims
   * the folder to `capBytes` (sequenceStateStore.ts). Never throws for a failed save.
   */
  saveStates(capBytes: number): Promise<SaveStateResult> {
    return this.queue.run(async () => {
      const saved: SaveStateResult['saved'] = [];
      for (const load of [this.current, this.chatLoad]) if (load) saved.push(...(await load.states.saveAll(capBytes)).saved);
      return { saved };
    });
  }

  /** Aborts every generation, then frees model, context and llama. Later calls are refused. */
  dispose(): Promise<void> {
    this.disposal ??= (async () => {
      for (const controller of this.running) controller.abort();
      this.stopping.abort();
      await this.queue.run(async () => {
        await this.disposeLoaded();
        await this.loader.dispose();
      });
    })();
    return this.disposal;
  }

  private refuseWhileStopping(): void {
    if (this.disposal) throw new EngineError('The model host is shutting down.');
  }

  /** The load that serves `kind`; null while it is not loaded. */
  private loadOf(kind: SequenceKind): Load | null {
    return kind === 'chat' && this.twoModels ? this.chatLoad : this.current;
  }

  private requireLoaded(kind: SequenceKind): Load {
    const load = this.loadOf(kind);
    if (load) return load;
    throw this.roleErrors.get(kind) ?? new EngineError('No model is loaded in the model host.');
  }

  private logRestoreFailure(kind: SequenceKind, err: unknown): void {
    this.log(`Could not restore the saved ${kind} state: ${nativeMessage(err)}.`);
  }

  private async loadNow(params: LoadParams, signal: AbortSignal): Promise<LoadResult> {
    const model = await this.loader.load(params, signal, () => this.disposeLoaded());
    const states = await SequenceStateStore.open(model, params.modelPath, params.stateDir ?? null, { log: this.log, trace: this.trace });
    this.current = { model, prompt: new InfillPrompt(model), states };
    return model.result;
  }

  /**
   * #25: loads the model that `plan` names first, alone (it frees whatever was loaded before), and
   * answers once it is ready; the other loads behind it in its own sequence's lane, so that the
   * first one's requests run beside that load and the other's wait for it. The answer describes
   * the other as its last load of the same file did (kept across a deep sleep in the state
   * folder); only a load that never had the other's answer waits for both.
   */
  private async loadBoth(params: LoadParams, plan: RolePlan, stop: AbortSignal): Promise<LoadResult> {
    let second: Promise<LoadResult> | null = null;
    const first = await this.queue.run(async () => {
      const result = await this.loadRole(params, plan, plan.first, stop, () => this.disposeLoaded());
      this.log(`Loaded the ${plan.first} model (${result.name}) first; the ${plan.second} model loads behind it.`);
      // Queued from inside the first load: before any request that its answer lets in.
      second = this.queue.lane(plan.second, async () => {
        await this.secondLoadGate?.();
        return this.loadRole(params, plan, plan.second, stop, async () => undefined);
      });
      return result;
    });
    const behind: Promise<LoadResult> = second ?? Promise.reject(new EngineError('The model host is shutting down.'));
    behind.catch((err: unknown) => {
      const sentence = err instanceof EngineError ? err : new EngineError(nativeMessage(err));
      this.roleErrors.set(plan.second, sentence);
      this.log(`The ${plan.second} model could not be loaded: ${sentence.message}`);
    });
    const other = (await this.roleResults.known(plan.second, params, plan.paths[plan.second])) ?? (await behind);
    const completion = plan.first === 'completion' ? first : other;
    const chat = plan.first === 'chat' ? first : other;
    return { ...completion, fallbackReason: first.fallbackReason, chatModel: chatPart(chat) };
  }

  /** Loads the model of one role with a context of that role's sequence alone. */
  private async loadRole(
    params: LoadParams,
    plan: RolePlan,
    kind: SequenceKind,
    signal: AbortSignal,
    unloadBefore: () => Promise<void>,
  ): Promise<LoadResult> {
    const modelPath = plan.paths[kind];
    // The draft model drafts for the completion model alone (its vocabulary is checked against that one).
    const { draftModelPath, ...shared } = params;
    const roleParams: LoadParams =
      kind === 'completion' && draftModelPath ? { ...shared, modelPath, draftModelPath } : { ...shared, modelPath };
    const model = await this.loader.load(roleParams, signal, unloadBefore, [kind]);
    const states = await SequenceStateStore.open(model, modelPath, params.stateDir ?? null, { log: this.log, trace: this.trace }, [kind]);
    const load = { model, prompt: new InfillPrompt(model), states };
    if (kind === 'chat') this.chatLoad = load;
    else this.current = load;
    await this.roleResults.remember(kind, params, modelPath, model.result);
    return model.result;
  }

  private async disposeLoaded(): Promise<void> {
    const chat = this.chatLoad;
    this.chatLoad = null;
    if (chat) {
      await disposeLoadedModel(chat.model);
      await chat.states.close();
    }
    const current = this.current;
    this.current = null;
    if (!current) return;
    await disposeLoadedModel(current.model);
    await current.states.close();
    // The file's metadata (vocabulary, template) is garbage now; without a full collection V8
    // keeps its heap grown. gc exists when the process runs with --expose-gc (the host does).
    (globalThis as { gc?: () => void }).gc?.();
  }

  /**
   * Runs `task` in its sequence's lane with a signal that `signal` and dispose() both abort. A
   * generation aborted while it still waits answers `aborted` at once; once begun, its own result
   * (the text so far) is the answer. A saved state still to be restored into the sequence is
   * restored first, alone: loading a sequence's state must not overlap a decode of the other.
   */
  private generation<T>(kind: SequenceKind, signal: AbortSignal, aborted: T, task: (stop: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    const abort = (): void => controller.abort();
    if (signal.aborted) controller.abort();
    else signal.addEventListener('abort', abort, { once: true });
    this.running.add(controller);
    const stop = controller.signal;
    let started = false;
    if (this.loadOf(kind)?.states.pending(kind)) {
      this.restoreTask(kind, async () => {
        const current = this.loadOf(kind);
        if (current && !stop.aborted) await current.states.restore(kind);
      }).catch((err: unknown) => this.logRestoreFailure(kind, err));
    }
    const queued = this.queue.lane(kind, () => {
      if (stop.aborted) return Promise.resolve(aborted);
      started = true;
      return task(stop);
    });
    const finished = (): void => {
      signal.removeEventListener('abort', abort);
      this.running.delete(controller);
    };
    queued.then(finished, finished);
    return new Promise<T>((resolve, reject) => {
      queued.then(resolve, reject);
      const onAbort = (): void => {
        if (!started) resolve(aborted);
      };
      if (stop.aborted) onAbort();
      else stop.addEventListener('abort', onAbort, { once: true });
    });
  }

  private async prefillNow(params: PrefillParams, signal: AbortSignal, owner: CompletionOwner | undefined): Promise<PrefillResult> {
    const current = this.requireLoaded('completion');
    await current.states.restore('completion');
    await current.states.switchTo(owner);
    return runPrefill(current.model, current.prompt.build(params), signal);
  }

  private async infillNow(params: InfillParams, signal: AbortSignal, owner: CompletionOwner | undefined): Promise<GenerationResult> {
    const started = performance.now();
    const current = this.requireLoaded('completion');
    await current.states.restore('completion');
    await current.states.switchTo(owner);
    const result = await runInfill(current.model, current.prompt.build(params), params, signal, started);
    this.judgeLookup(current.model, 'completion', result);
    return result;
  }

  /** The chat's load, its saved state back and the conversation of `params` held (or kept aside): before an answer or its prefill. */
  private async chatReady(params: ChatTurnParams, keepBytes: number): Promise<Load> {
    const current = this.requireLoaded('chat');
    if (params.messages.length === 0) throw new EngineError('The chat request has no messages.');
    // One model for both chats with node-llama-cpp's fallback format, as always; a chat model chosen for chat must have its own.
    if (this.twoModels && current.model.result.hasChatTemplate === false) {
      throw new EngineError(noChatTemplateSentence(current.model.result.name));
    }
    await current.states.restore('chat');
    await current.states.switchChat(params.messages, keepBytes);
    return current;
  }

  private async chatPrefillNow(params: ChatTurnParams, signal: AbortSignal, keepBytes: number): Promise<PrefillResult> {
    const { model } = await this.chatReady(params, keepBytes);
    return runChatPrefill(model, await this.loader.library, params, signal);
  }

  private async chatNow(
    params: ChatTurnParams,
    onChunk: (text: string) => void,
    signal: AbortSignal,
    keepBytes: number,
  ): Promise<GenerationResult> {
    const { model } = await this.chatReady(params, keepBytes);
    const result = await runChat(model, await this.loader.library, params, onChunk, signal, this.trace);
    this.judgeLookup(model, 'chat', result);
    return result;
  }

  /** Stops a sequence's drafts once recent requests accepted too few of them (lookupPayoff.ts), and says so. */
  private judgeLookup(loaded: LoadedModel, kind: SequenceKind, result: GenerationResult): void {
    if (kind === 'completion' && loaded.draftSwitch?.drafting) {
      this.judgeDraftModel(loaded, loaded.draftSwitch, result);
      return;
    }
    const lookup = loaded.lookup?.[kind];
    if (!lookup?.enabled) return;
    const verdict = lookup.payoff.record(result.figures.draftedTokens ?? 0, result.figures.acceptedTokens ?? 0);
    if (!verdict.off) return;
    lookup.enabled = false;
    this.log(
      `Prompt lookup is now off for ${kind === 'completion' ? 'completions' : 'chat'}: ${payoffSentence(verdict, 'requests')}; it is on again after the next model load.`,
    );
  }

  /** The same judgement for the draft model: once off, prompt lookup drafts for completions (when it is on), itself judged from then on. */
  private judgeDraftModel(loaded: LoadedModel, drafts: DraftSwitch, result: GenerationResult): void {
    const verdict = drafts.payoff.record(result.figures.draftedTokens ?? 0, result.figures.acceptedTokens ?? 0);
    if (!verdict.off) return;
    drafts.switchOff();
    const name = loaded.draft?.info.name ?? 'the draft model';
    this.log(
      `The draft model ${name} is now off for completions: ${payoffSentence(verdict, 'completions')}. ${drafts.fallback ? 'Prompt lookup drafts instead' : 'Completions are served without drafts'}; it is on again after the next model load.`,
    );
  }
}
