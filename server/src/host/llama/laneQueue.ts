// The engine's order of work. Loading, unloading, saving state and disposing run alone (`run`);
// a generation runs in the lane of its sequence (`lane`): after everything queued before it in
// that lane and after every `run` queued before it, but beside the other lane. So a completion
// does not wait for a whole chat answer on the other sequence: node-llama-cpp decodes both
// sequences of the context in the same batches, and the completion waits at most one step.

export class LaneQueue {
  /** The last task queued with run(), settled. */
  private barrier: Promise<unknown> = Promise.resolve();
  /** Each lane's last task queued since that barrier, settled. */
  private readonly tails = new Map<string, Promise<unknown>>();

  /** Runs `task` alone: after every task queued before, before every task queued after. */
  run<T>(task: () => Promise<T>): Promise<T> {
    const result = Promise.all([this.barrier, ...this.tails.values()]).then(task);
    this.barrier = result.catch(() => undefined);
    this.tails.clear();
    return result;
  }

  /** Runs `task` after the tasks of its lane and the run() tasks queued before it. */
  lane<T>(name: string, task: () => Promise<T>): Promise<T> {
    const result = Promise.all([this.barrier, this.tails.get(name)]).then(task);
    this.tails.set(
      name,
      result.catch(() => undefined),
    );
    return result;
  }
}
