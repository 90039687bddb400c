import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ModelState, ModelStatus } from '../../server/src/shared/protocol';
import './vscodeStub';
import { GB, MB, modelStatus, noHostMemory } from './statusFixture';
import { createCommands } from '../../client/src/commands/table';
import { formatBytes, formatClock, formatDuration, formatMs, formatTimeSpan } from '../../server/src/shared/format';
import {
  contextState,
  escapeMarkdown,
  renderStatus,
  secondsUntilSleep,
  type ClientState,
  type StatusBarInput,
  type StatusKey,
} from '../../client/src/status/render';

const commandList = createCommands();

const now = new Date(2026, 10, 27, 10, 50, 0).getTime();

function status(state: ModelState, over: Partial<ModelStatus> = {}): ModelStatus {
  return modelStatus({
    state,
    model: {
      name: 'Tiny Coder',
      path: '/models/tiny.gguf',
      sizeBytes: 470 * MB,
      backend: 'cuda',
      gpuLayers: 20,
      totalLayers: 33,
      contextSize: 4096,
      hasFim: true,
    },
    idleSecondsLeft: state === 'ready' ? 250 : null,
    asleepSince: state === 'sleeping' ? new Date(2026, 10, 27, 10, 42, 0).getTime() : null,
    memory: { hostRssBytes: state === 'sleeping' ? null : 770 * MB, vramUsedBytes: 3 * GB, vramTotalBytes: 24 * GB },
    ...over,
  });
}

function input(client: ClientState, s: ModelStatus | null, over: Partial<StatusBarInput> = {}): StatusBarInput {
  return { client, status: s, receivedAt: now, now, crashes: 0, crashMessage: null, contextEnabled: true, ...over };
}

interface Row {
  name: string;
  input: StatusBarInput;
  key: StatusKey;
  command: string;
  background?: string;
  /** Phrases the tooltip must contain. */
  says: string[];
}

const rows: Row[] = [
  {
    name: 'client starting',
    input: input('starting', null),
    key: 'starting',
    command: 'localLlm.showLogs',
    says: ['Starting the language server'],
  },
  {
    name: 'client stopped',
    input: input('stopped', null),
    key: 'stopped',
    command: 'localLlm.restartServer',
    background: 'statusBarItem.warningBackground',
    says: ['stopped', '(command:localLlm.restartServer)'],
  },
  {
    name: 'server crashed',
    input: input('crashed', status('ready'), { crashes: 2, crashMessage: 'it was killed by SIGKILL' }),
    key: 'crashed',
    command: 'localLlm.restartServer',
    background: 'statusBarItem.errorBackground',
    says: ['crashed: it was killed by SIGKILL'],
  },
  { name: 'running, no status yet', input: input('running', null), key: 'starting', command: 'localLlm.showLogs', says: ['Starting'] },
  {
    name: 'loading',
    input: input('running', status('loading')),
    key: 'loading',
    command: 'localLlm.showMenu',
    says: ['Loading the model'],
  },
  {
    name: 'ready',
    input: input('running', status('ready')),
    key: 'ready',
    command: 'localLlm.showMenu',
    says: [
      'Tiny Coder',
      'CUDA',
      '20/33 layers',
      'RAM 850 MB',
      'server 80 MB + model 770 MB',
      'VRAM 3.0 GB of 24 GB',
      'Sleeps in 4m 10s',
      'deep sleep',
      'Last load took 1.2 s',
      '(command:localLlm.sleepNow)',
    ],
  },
  {
    name: 'generating',
    input: input('running', status('ready', { inFlight: 2 })),
    key: 'generating',
    command: 'localLlm.showMenu',
    says: ['Generating (2 requests)', 'Sleeps in 4m 10s'],
  },
  {
    name: 'sleeping',
    input: input(
      'running',
      status('sleeping', {
        lastSleepFreed: { rssBytes: 770 * MB, vramBytes: 3 * GB },
        counters: { loads: 2, sleeps: 1, wakes: 1, hostCrashes: 0, lastLoadMs: 900, lastWakeMs: 1300 },
      }),
    ),
    key: 'sleeping',
    command: 'localLlm.wake',
    says: [
      'Asleep since 10:42',
      'Last sleep freed 770 MB of RAM and 3.0 GB of VRAM',
      'Last wake took 1.3 s',
      'server only, no model process',
      '(command:localLlm.wake)',
    ],
  },
  { name: 'waking', input: input('running', status('waking')), key: 'waking', command: 'localLlm.showMenu', says: ['Waking'] },
  {
    name: 'error',
    input: input('running', status('error', { error: 'The file /m/x.gguf is not a GGUF model.' })),
    key: 'error',
    command: 'localLlm.wake',
    background: 'statusBarItem.errorBackground',
    says: ['is not a GGUF model', 'Retry'],
  },
];

describe('renderStatus', () => {
  for (const row of rows) {
    it(`renders ${row.name}`, () => {
      const view = renderStatus(row.input);
      assert.equal(view.key, row.key);
      assert.equal(view.command, row.command);
      assert.equal(view.backgroundColor, row.background);
      assert.ok(view.text.length > 0 && view.text.length <= 16, `label "${view.text}" is short`);
      for (const phrase of row.says) assert.ok(view.tooltip.includes(phrase), `tooltip of ${row.name} says "${phrase}":\n${view.tooltip}`);
    });
  }

  it('gives every model state and client state its own icon and label', () => {
    const views = rows.filter((r) => r.name !== 'running, no status yet').map((r) => renderStatus(r.input));
    assert.equal(new Set(views.map((v) => v.key)).size, views.length);
    assert.equal(new Set(views.map((v) => v.icon)).size, views.length, views.map((v) => v.icon).join(' '));
    assert.equal(new Set(views.map((v) => v.text)).size, views.length);
  });

  it('clicks only to commands the extension contributes', () => {
    for (const row of rows) assert.ok(renderStatus(row.input).command in commandList);
  });

  it('links the tooltip only to contributed commands', () => {
    for (const row of rows) {
      for (const [, id] of renderStatus(row.input).tooltip.matchAll(/\(command:([\w.]+)\)/g)) assert.ok(id in commandList, id);
    }
  });

  it('counts the idle sleep down between pushes', () => {
    const s = status('ready');
    const later = renderStatus(input('running', s, { now: now + 70_000 }));
    assert.ok(later.tooltip.includes('Sleeps in 3m'), later.tooltip);
    assert.equal(secondsUntilSleep({ status: s, receivedAt: now, now: now + 999_000 }), 0);
  });

  it('says when idle sleep is off', () => {
    const view = renderStatus(input('running', status('ready', { idleSecondsLeft: null })));
    assert.ok(view.tooltip.includes('Idle sleep is off'));
  });

  it('says how the model runs on the CPU and when completions are off', () => {
    const base = status('ready');
    const view = renderStatus(
      input('running', { ...base, completionsEnabled: false, model: base.model && { ...base.model, backend: 'cpu', gpuLayers: 0 } }),
    );
    assert.ok(view.tooltip.includes('Backend: CPU, no layers on a GPU'), view.tooltip);
    assert.ok(view.tooltip.includes('Inline completions: off'));
  });

  it('counts the completions served, once there are any', () => {
    assert.ok(!renderStatus(input('running', status('ready'))).tooltip.includes('Completions'));
    const view = renderStatus(
      input('running', status('ready', { completions: { requests: 20, generated: 12, cacheHits: 5, superseded: 3 } })),
    );
    assert.ok(view.tooltip.includes('Completions: 12 generated, 5 from the cache'), view.tooltip);
  });

  it('says the workspace index is building, with its files so far, then its size', () => {
    assert.ok(!renderStatus(input('running', status('ready'))).tooltip.includes('Workspace index'));
    const building = renderStatus(input('running', status('sleeping', { index: { state: 'indexing', files: 1234, chunks: 0 } })));
    assert.ok(building.tooltip.includes('Workspace index for @codebase: indexing 1,234 files…'), building.tooltip);
    const ready = renderStatus(input('running', status('ready', { index: { state: 'ready', files: 1, chunks: 9 } })));
    assert.ok(ready.tooltip.includes('Workspace index for @codebase: 1 file, 9 chunks'), ready.tooltip);
  });

  it('shows the draft model and its memory on one line, and nothing without one', () => {
    const draftModel = { name: 'Tiny Draft', path: '/models/draft.gguf', sizeBytes: 30 * MB, memoryBytes: 42 * MB, gpuLayers: 0 };
    const shown = renderStatus(input('running', status('ready', { draftModel }))).tooltip;
    assert.ok(shown.includes(`Draft model: **Tiny Draft** (${formatBytes(30 * MB)}, ${formatBytes(42 * MB)} in memory)`), shown);
    assert.doesNotMatch(renderStatus(input('running', status('ready', { draftModel: null }))).tooltip, /Draft model/);
    assert.doesNotMatch(renderStatus(input('running', status('ready'))).tooltip, /Draft model/);
  });

  it('says when completions are slow for this machine, with what makes them faster, and nothing when they are not', () => {
    const pace = { samples: 10, p50Ms: 2400, capped: 6, slow: true, maxTokens: 64 };
    const slow = renderStatus(input('running', status('ready', { completionPace: pace }))).tooltip;
    assert.ok(
      slow.includes('Completions are slow on this machine: 2.4 s typical over the last 10, 6 cut at localLlm.completion.maxMs'),
      slow,
    );
    assert.ok(slow.includes('A smaller model ([Select Model](command:localLlm.selectModel))'), slow);
    assert.ok(slow.includes('localLlm.completion.maxTokens, now 64'), slow);
    assert.ok(slow.includes('A small draft model with the same vocabulary (localLlm.completion.draftModel)'), slow);
    // Not once one is loaded, nor for a model server (it drafts with its own).
    const draftModel = { name: 'Tiny Draft', path: '/models/draft.gguf', sizeBytes: MB, memoryBytes: MB, gpuLayers: 0 };
    const drafted = renderStatus(input('running', status('ready', { completionPace: pace, draftModel }))).tooltip;
    assert.doesNotMatch(drafted, /can make them faster too/);
    const engine = { kind: 'llama-server' as const, url: 'http://127.0.0.1:8080', server: null, error: null, canSleep: false };
    const remote = renderStatus(input('running', status('ready', { completionPace: pace, engine }))).tooltip;
    assert.doesNotMatch(remote, /localLlm\.completion\.draftModel/);
    const uncut = renderStatus(input('running', status('ready', { completionPace: { ...pace, capped: 0 } }))).tooltip;
    assert.ok(uncut.includes('2.4 s typical over the last 10. '), uncut);
    const fine = renderStatus(input('running', status('ready', { completionPace: { ...pace, p50Ms: 300, capped: 0, slow: false } })));
    assert.doesNotMatch(fine.tooltip, /slow/);
    assert.doesNotMatch(renderStatus(input('running', status('ready', { completionPace: null }))).tooltip, /slow/);
    // An older server sends no pace at all.
    assert.doesNotMatch(renderStatus(input('running', status('ready'))).tooltip, /slow/);
  });

  it('shows what the last completion and chat turn evaluated and reused, once there are any', () => {
    assert.ok(!renderStatus(input('running', status('ready'))).tooltip.includes('Last completion'));
    const figures = { promptTokens: 812, evaluatedTokens: 3, reusedTokens: 809, generatedTokens: 16, tokensPerSecond: 23.4, ms: 700 };
    const view = renderStatus(
      input('running', status('ready', { lastCompletion: figures, lastChat: { ...figures, tokensPerSecond: null } })),
    );
    assert.ok(view.tooltip.includes('Last completion: 812 prompt tokens, 3 evaluated (809 reused), 23 tok/s'), view.tooltip);
    // No speed when fewer than two tokens were generated.
    assert.match(view.tooltip, /Last chat turn: 812 prompt tokens, 3 evaluated \(809 reused\)$/m);
    // ...and links to the whole prompt of that completion.
    assert.ok(view.tooltip.includes('[Last Prompt](command:localLlm.showLastCompletionPrompt)'), view.tooltip);
  });

  it('says how many context chunks the last completion used while context is on, or when some were used', () => {
    const on = renderStatus(input('running', status('ready', { contextChunks: 3 })));
    assert.ok(on.tooltip.includes('Context: 3 chunks from other files, copies and definitions in the last completion'), on.tooltip);
    const one = renderStatus(input('running', status('ready', { contextChunks: 1 })));
    assert.ok(one.tooltip.includes('Context: 1 chunk from other files'), one.tooltip);
    const none = renderStatus(input('running', status('ready')));
    assert.ok(none.tooltip.includes('Context: on, none in use yet'), none.tooltip);
    const offButUsed = renderStatus(input('running', status('ready', { contextChunks: 2 }), { contextEnabled: false }));
    assert.ok(offButUsed.tooltip.includes('Context: off (the last completion used 2 chunks'), offButUsed.tooltip);
    const off = renderStatus(input('running', status('ready'), { contextEnabled: false }));
    assert.ok(!off.tooltip.includes('Context:'), off.tooltip);
    // A server that does not report the count (another implementation) reads as none.
    const older = { ...status('ready') } as Partial<ModelStatus>;
    delete older.contextChunks;
    assert.ok(renderStatus(input('running', older as ModelStatus)).tooltip.includes('Context: on, none in use yet'));
  });

  it('says the model process is shared with other windows, and counts its memory once', () => {
    const tip = renderStatus(input('running', status('ready', { sharing: { otherWindows: 2, notShared: null, hostLoads: 1 } }))).tooltip;
    assert.match(tip, /model 770 MB, shared with 2 other windows\)/);
    assert.match(tip, /Model process shared with 2 other windows: it sleeps when all of them are idle/);
    assert.equal(tip.split('770 MB').length - 1, 1, 'the model process memory appears once');
    const alone = renderStatus(input('running', status('ready', { sharing: { otherWindows: 0, notShared: null, hostLoads: 1 } }))).tooltip;
    assert.doesNotMatch(alone, /shared with/);
  });

  it('says why the model process is not shared with another window', () => {
    const notShared = "Not shared with another window's model host: it uses contextSize 1024 (here 512).";
    const tip = renderStatus(input('running', status('ready', { sharing: { otherWindows: 0, notShared, hostLoads: 1 } }))).tooltip;
    assert.ok(tip.includes(escapeMarkdown(notShared)), tip);
  });

  it('shows a notice from the server', () => {
    const view = renderStatus(input('running', status('ready', { notice: 'CUDA is unavailable here, so the model runs on the CPU.' })));
    assert.ok(view.tooltip.includes('CUDA is unavailable here'));
  });

  it('mentions earlier crashes once the server is back', () => {
    const view = renderStatus(input('running', status('ready'), { crashes: 1 }));
    assert.ok(view.tooltip.includes('crashed 1 time this session'));
  });

  it('ignores a stale model status while the client is not running', () => {
    const view = renderStatus(input('stopped', status('ready')));
    assert.ok(!view.tooltip.includes('Tiny Coder'));
  });

  it('cannot be made to render links or HTML by a model name', () => {
    const hostile = 'evil [click](command:workbench.action.terminal.new) <img src=x onerror=alert(1)> $(zap)';
    const base = status('ready');
    const view = renderStatus(input('running', { ...base, model: base.model && { ...base.model, name: hostile } }));
    // Every Markdown-active character from the name arrives backslash-escaped.
    assert.ok(view.tooltip.includes('evil \\[click\\]\\(command:workbench'), view.tooltip);
    assert.doesNotMatch(view.tooltip, /(?<!\\)[<>]/);
    assert.doesNotMatch(view.tooltip, /(?<!\\)\$\(zap/);
    assert.equal([...view.tooltip.matchAll(/(?<!\\)\]\(command:/g)].length, 4, 'only our own four links');
  });
});

describe('contextState', () => {
  it('is the client state until the server reports, then the model state (never generating)', () => {
    assert.equal(contextState('crashed', status('ready')), 'crashed');
    assert.equal(contextState('running', null), 'starting');
    assert.equal(contextState('running', status('sleeping')), 'sleeping');
    assert.equal(contextState('running', status('ready', { inFlight: 3 })), 'ready');
  });
});

describe('formats', () => {
  it('formats sizes, durations, milliseconds and clock times', () => {
    assert.equal(formatBytes(512), '512 B');
    assert.equal(formatBytes(1536), '1.5 KB');
    assert.equal(formatBytes(770 * MB), '770 MB');
    assert.equal(formatBytes(3 * GB), '3.0 GB');
    assert.equal(formatDuration(250), '4m 10s');
    assert.equal(formatDuration(45), '45s');
    assert.equal(formatDuration(120), '2m');
    assert.equal(formatDuration(3700), '1h 1m');
    assert.equal(formatMs(850), '850 ms');
    assert.equal(formatMs(1234), '1.2 s');
    assert.equal(formatTimeSpan(500), '500 ms');
    assert.equal(formatTimeSpan(1000), '1 s');
    assert.equal(formatTimeSpan(1500), '1.5 s');
    assert.equal(formatTimeSpan(90_000), '90 s');
    assert.equal(formatTimeSpan(150_000), '3 minutes');
    assert.equal(formatTimeSpan(10 * 60_000), '10 minutes');
    assert.equal(formatClock(new Date(2026, 0, 5, 9, 7).getTime()), '09:07');
  });

  it('escapes every Markdown-active character', () => {
    assert.equal(escapeMarkdown('a*b_[c](d)`e`'), 'a\\*b\\_\\[c\\]\\(d\\)\\`e\\`');
    assert.equal(escapeMarkdown('two\nlines'), 'two lines');
  });
});

describe('a model server as the engine', () => {
  const remoteModel = {
    name: 'qwen2.5-coder',
    path: 'http://gpu-box:8080',
    sizeBytes: 0,
    backend: null,
    gpuLayers: 0,
    totalLayers: 0,
    contextSize: 0,
    hasFim: true,
  };
  const engine = (server: 'awake' | 'sleeping' | 'waking' | null, error: string | null = null): ModelStatus['engine'] => ({
    kind: 'llama-server',
    url: 'http://gpu-box:8080',
    server,
    error,
    canSleep: false,
  });

  it('shows the server’s own sleep and wake in the label', () => {
    const asleep = renderStatus(
      input('running', status('ready', { model: remoteModel, memory: noHostMemory, engine: engine('sleeping') })),
    );
    assert.equal(asleep.text, 'LLM sleeping on the server');
    assert.equal(asleep.key, 'ready', 'our side is ready: a request goes to the server and wakes it');
    assert.match(asleep.tooltip, /Engine: llama-server at gpu\\?-box:8080, sleeping on the server/);
    assert.match(asleep.tooltip, /it sleeps on its own/);
    assert.doesNotMatch(asleep.tooltip, /0 B/);
    const waking = renderStatus(
      input('running', status('ready', { model: remoteModel, memory: noHostMemory, inFlight: 2, engine: engine('waking') })),
    );
    assert.equal(waking.text, 'LLM waking on the server');
    assert.equal(waking.icon, 'sync~spin');
    const awake = renderStatus(input('running', status('ready', { model: remoteModel, memory: noHostMemory, engine: engine('awake') })));
    assert.equal(awake.text, 'LLM ready');
  });

  it('shows the server’s last failure as a warning, and our own sleep as ours', () => {
    const failed = renderStatus(
      input(
        'running',
        status('ready', { model: remoteModel, memory: noHostMemory, engine: engine(null, 'gpu-box:8080 did not answer within 30 s.') }),
      ),
    );
    assert.equal(failed.backgroundColor, 'statusBarItem.warningBackground');
    assert.match(failed.tooltip, /did not answer within 30 s/);
    const ours = renderStatus(
      input('running', status('sleeping', { model: remoteModel, memory: noHostMemory, engine: engine('sleeping') })),
    );
    assert.equal(ours.text, 'LLM asleep');
  });

  it('renders a status without an engine field (an older server) as local', () => {
    const view = renderStatus(input('running', status('ready')));
    assert.equal(view.text, 'LLM ready');
    assert.doesNotMatch(view.tooltip, /Engine:/);
  });
});
