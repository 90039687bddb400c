// The one way tests and benchmarks reach into the product: LOCAL_LLM_TEST_HOOKS, a JSON object
// read once when a process starts (the language server in server.ts, the model host in
// host/main.ts) and handed on as plain options. Product code never reads the environment for
// these; without the variable every hook is off and every value is the product's own.
//
//   loadGateFile      the server: each load waits (at most 60 s) until this file exists, so a
//                     test can time a wake against another window's sleep
//   remotePollMs      the server: how often a model server's sleep is asked (default 2 s)
//   hostGraceMs       the host: how long it waits after its last window left (default 10 s)
//   hostPriority      the host: false = completions first come, first served (a baseline)
//   hostWindowStates  the host: false = a window switch evaluates the prompt again (a baseline)
//   hostDraftConfidence the host: the draft model's confidence gate (0 to 1; random-weight test
//                     models are never as sure as a real one, so their drafts need 0)
//   hostSecondLoadGateFile the host: with two models, the one loaded behind the other waits (at
//                     most 60 s) until this file exists, so a test can see a request answered first

import { existsSync } from 'node:fs';

export interface TestHooks {
  loadGateFile?: string;
  remotePollMs?: number;
  hostGraceMs?: number;
  hostPriority?: boolean;
  hostWindowStates?: boolean;
  hostDraftConfidence?: number;
  hostSecondLoadGateFile?: string;
}

export const testHooksVariable = 'LOCAL_LLM_TEST_HOOKS';

/** The hooks in `env`; a value of the wrong type, or JSON that does not parse, is left out. */
export function readTestHooks(env: NodeJS.ProcessEnv = process.env): TestHooks {
  const raw = env[testHooksVariable];
  if (!raw) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return {};
  }
  if (typeof parsed !== 'object' || parsed === null) return {};
  const value = parsed as Record<string, unknown>;
  const hooks: TestHooks = {};
  if (typeof value['loadGateFile'] === 'string' && value['loadGateFile'] !== '') hooks.loadGateFile = value['loadGateFile'];
  const poll = value['remotePollMs'];
  if (typeof poll === 'number' && Number.isInteger(poll) && poll >= 100) hooks.remotePollMs = poll;
  const grace = value['hostGraceMs'];
  if (typeof grace === 'number' && Number.isFinite(grace) && grace >= 0) hooks.hostGraceMs = grace;
  if (typeof value['hostPriority'] === 'boolean') hooks.hostPriority = value['hostPriority'];
  if (typeof value['hostWindowStates'] === 'boolean') hooks.hostWindowStates = value['hostWindowStates'];
  const confidence = value['hostDraftConfidence'];
  if (typeof confidence === 'number' && confidence >= 0 && confidence <= 1) hooks.hostDraftConfidence = confidence;
  const secondGate = value['hostSecondLoadGateFile'];
  if (typeof secondGate === 'string' && secondGate !== '') hooks.hostSecondLoadGateFile = secondGate;
  return hooks;
}

/** A gate hook's wait: until `file` exists, at most 60 s. */
export function waitForFile(file: string): () => Promise<void> {
  return async () => {
    const deadline = Date.now() + 60_000;
    while (!existsSync(file) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  };
}

/** The environment entry that sets `hooks` for a process a test or benchmark starts. */
export function testHooksEnv(hooks: TestHooks): Record<string, string> {
  return { [testHooksVariable]: JSON.stringify(hooks) };
}
