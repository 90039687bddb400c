// The benchmark's handle on a direct engine process: one command at a time, replies in order.
import { fork, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import type { EngineCommand, EngineReply } from './engineProtocol';

export const engineWorkerPath = path.resolve(__dirname, '../../dist/bench/engineWorker.js');

type ReplyOf<Op extends EngineReply['op']> = Extract<EngineReply, { op: Op }>;

export class DirectEngine {
  private readonly child: ChildProcess;
  private readonly pending: Array<{ resolve: (r: EngineReply) => void; reject: (e: Error) => void }> = [];
  private readonly exited: Promise<void>;
  /** performance.now() when the process was started, for wake timings that include its start. */
  readonly spawnedAt: number;
  readonly stderr: string[] = [];

  constructor(env: NodeJS.ProcessEnv = process.env) {
    this.spawnedAt = performance.now();
    // The model host's own flags and malloc setting, so both processes manage memory alike.
    this.child = fork(engineWorkerPath, [], {
      execArgv: ['--expose-gc'],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env: { ...env, MALLOC_TRIM_THRESHOLD_: env['MALLOC_TRIM_THRESHOLD_'] ?? String(128 * 1024) },
      serialization: 'json',
    });
    this.child.stderr?.on('data', (d: Buffer) => this.stderr.push(d.toString()));
    this.child.on('message', (reply: EngineReply) => this.pending.shift()?.resolve(reply));
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        const error = new Error(`The direct engine exited (code ${code}, signal ${signal}): ${this.stderr.join('').slice(-2000)}`);
        for (const p of this.pending.splice(0)) p.reject(error);
        resolve();
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  async request<Op extends EngineCommand['op']>(
    command: Extract<EngineCommand, { op: Op }>,
  ): Promise<ReplyOf<Op extends 'exit' ? 'stats' : Op>> {
    const reply = await new Promise<EngineReply>((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.child.send(command);
    });
    if (reply.op === 'error') throw new Error(`Direct engine: ${reply.message}`);
    return reply as ReplyOf<Op extends 'exit' ? 'stats' : Op>;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      await this.request({ op: 'exit' }).catch(() => undefined);
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
      await this.exited;
      clearTimeout(timer);
    }
  }
}
