// The status bar item as a pure function of the client's state and the last ModelStatus the
// server pushed. No `vscode` import: item.ts applies the result.
import type { Backend, EngineStatus, ModelInfo, ModelState, ModelStatus, TokenFigures } from '../../../server/src/shared/protocol';
import { formatBytes, formatClock, formatDuration, formatMs, formatTokenFigures } from '../../../server/src/shared/format';
import type { CommandId } from '../commands/ids';

/** The language client's side: is there a server to talk to at all? */
export type ClientState = 'starting' | 'running' | 'stopped' | 'crashed';

/** What the item shows: the client state when no server runs, else the model state. */
export type StatusKey = Exclude<ClientState, 'running'> | ModelState | 'generating';

export interface StatusBarInput {
  client: ClientState;
  status: ModelStatus | null;
  /** Epoch ms when `status` arrived; the idle countdown runs from there. */
  receivedAt: number;
  now: number;
  /** Server crashes seen this session, and the last one's sentence. */
  crashes: number;
  crashMessage: string | null;
  /** Whether this window sends context from beyond the file (`localLlm.context.enabled`, with a token budget). */
  contextEnabled: boolean;
  /** A Markdown paragraph suggesting a better model for a role (baseModelSuggestion.ts); absent when there is none. */
  suggestion?: string | null;
}

export type StatusBackground = 'statusBarItem.errorBackground' | 'statusBarItem.warningBackground';

export interface StatusView {
  key: StatusKey;
  /** Short label, shown after the icon. */
  text: string;
  /** Codicon id, with `~spin` where it animates. */
  icon: string;
  /** Markdown; may hold `command:` links to the commands in `tooltipCommands`. */
  tooltip: string;
  command: CommandId;
  backgroundColor?: StatusBackground;
}

/** Commands the tooltip may link to (the item's MarkdownString trusts exactly these). */
export const tooltipCommands: readonly CommandId[] = [
  'localLlm.sleepNow',
  'localLlm.wake',
  'localLlm.openChat',
  'localLlm.showLogs',
  'localLlm.restartServer',
  'localLlm.selectModel',
  'localLlm.showLastCompletionPrompt',
];

const looks: Record<StatusKey, { icon: string; text: string }> = {
  starting: { icon: 'gear~spin', text: 'LLM starting' },
  stopped: { icon: 'debug-stop', text: 'LLM stopped' },
  crashed: { icon: 'warning', text: 'LLM crashed' },
  loading: { icon: 'loading~spin', text: 'LLM loading' },
  ready: { icon: 'sparkle', text: 'LLM ready' },
  generating: { icon: 'pulse', text: 'LLM generating' },
  sleeping: { icon: 'debug-pause', text: 'LLM asleep' },
  waking: { icon: 'sync~spin', text: 'LLM waking' },
  error: { icon: 'error', text: 'LLM error' },
};

const backendNames: Record<Backend, string> = { cpu: 'CPU', cuda: 'CUDA', metal: 'Metal', vulkan: 'Vulkan' };

/** The context key holding the client or model state; command `when` clauses test it. */
export const stateContextKey = 'localLlm.state';

/** The value of the `localLlm.state` context key; `generating` is left out so it does not flicker. */
export function contextState(client: ClientState, status: ModelStatus | null): Exclude<StatusKey, 'generating'> {
  if (client !== 'running') return client;
  return status?.state ?? 'starting';
}

export function statusKey(client: ClientState, status: ModelStatus | null): StatusKey {
  const key = contextState(client, status);
  if (key === 'ready' && status !== null && status.inFlight > 0) return 'generating';
  return key;
}

function commandFor(key: StatusKey): CommandId {
  switch (key) {
    case 'sleeping':
    case 'error':
      return 'localLlm.wake';
    case 'stopped':
    case 'crashed':
      return 'localLlm.restartServer';
    case 'starting':
      return 'localLlm.showLogs';
    default:
      return 'localLlm.showMenu';
  }
}

/** Escapes text from outside (model names, error sentences) so it renders literally in Markdown. */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>&~$]/g, (c) => `\\${c}`).replace(/\r?\n/g, ' ');
}

/** Seconds until the idle sleep, counted down from when the status arrived. */
export function secondsUntilSleep(input: Pick<StatusBarInput, 'status' | 'receivedAt' | 'now'>): number | null {
  const left = input.status?.idleSecondsLeft;
  if (left === null || left === undefined) return null;
  return Math.max(0, left - Math.floor((input.now - input.receivedAt) / 1000));
}

function stateSentence(key: StatusKey, input: StatusBarInput): string {
  const s = input.status;
  switch (key) {
    case 'starting':
      return 'Starting the language server…';
    case 'stopped':
      return 'The language server is stopped. Click to start it.';
    case 'crashed':
      return `The language server crashed${input.crashMessage ? `: ${escapeMarkdown(input.crashMessage)}` : '.'} Click to restart it.`;
    case 'loading':
      return 'Loading the model…';
    case 'ready':
      return 'Ready.';
    case 'generating':
      return `Generating (${s?.inFlight ?? 1} request${(s?.inFlight ?? 1) === 1 ? '' : 's'}).`;
    case 'sleeping':
      return 'Asleep: the model is unloaded. Click to wake it; the next request also wakes it.';
    case 'waking':
      return 'Waking: loading the model again; requests wait for it.';
    case 'error':
      return 'Error. Click to retry.';
  }
}

/** A model server's own sleep, when the server says it and our model is up: it wins the label. */
function serverLook(key: StatusKey, engine: EngineStatus | undefined): { icon: string; text: string } | null {
  if (!engine || engine.kind === 'local' || (key !== 'ready' && key !== 'generating')) return null;
  if (engine.server === 'sleeping') return { icon: 'debug-pause', text: 'LLM sleeping on the server' };
  if (engine.server === 'waking') return { icon: 'sync~spin', text: 'LLM waking on the server' };
  return null;
}

const serverStates = {
  awake: 'awake there',
  sleeping: 'sleeping on the server: the next request wakes it',
  waking: 'waking on the server: requests wait for it',
} as const;

/** "Engine: llama-server at gpu-box:8080, sleeping on the server: …" for a model server; nothing for the local host. */
function engineLine(engine: EngineStatus | undefined): string[] {
  if (!engine || engine.kind === 'local' || engine.url === null) return [];
  let host = engine.url;
  try {
    host = new URL(engine.url).host;
  } catch {
    // Shown as given.
  }
  const state = engine.server === null ? '' : `, ${serverStates[engine.server]}`;
  const sleep = engine.canSleep ? '' : ' (it sleeps on its own)';
  return [`Engine: ${engine.kind} at ${escapeMarkdown(host)}${state}${sleep}`];
}

/** "Model: **name** (size, context)" and its backend; `label` names the role when two models run. */
function oneModelLines(label: string, m: ModelInfo): string[] {
  const lines: string[] = [];
  const size = m.sizeBytes > 0 ? `${formatBytes(m.sizeBytes)}, ` : '';
  const context = m.contextSize > 0 ? `context ${m.contextSize}` : 'context set by the server';
  const memory = m.memoryBytes ? `, uses ${formatBytes(m.memoryBytes)}` : '';
  lines.push(`${label}: **${escapeMarkdown(m.name)}** (${size}${context}${memory})`);
  if (m.backend) {
    const onGpu = m.backend === 'cpu' ? 'no layers on a GPU' : `${m.gpuLayers}/${m.totalLayers} layers on the GPU`;
    lines.push(`Backend: ${backendNames[m.backend]}, ${onGpu}`);
  }
  return lines;
}

function modelLines(s: ModelStatus): string[] {
  const lines: string[] = [...engineLine(s.engine)];
  const m = s.model;
  // With a chat model of its own, each model says its job; else one model does both, as before.
  if (m && s.chatModel) lines.push(...oneModelLines('Completion model', m), ...oneModelLines('Chat model', s.chatModel));
  else if (m) lines.push(...oneModelLines('Model', m));
  else if (s.chatModel) lines.push(...oneModelLines('Chat model', s.chatModel));
  const d = s.draftModel;
  if (d) lines.push(`Draft model: **${escapeMarkdown(d.name)}** (${formatBytes(d.sizeBytes)}, ${formatBytes(d.memoryBytes)} in memory)`);
  const mem = s.memory;
  const rss = mem.serverRssBytes + (mem.hostRssBytes ?? 0);
  const others = s.sharing?.otherWindows ?? 0;
  // A shared model process is counted once, here, whichever window shows it.
  const shared = others > 0 ? `, shared with ${windows(others)}` : '';
  const rssParts =
    mem.hostRssBytes === null
      ? 'server only, no model process'
      : `server ${formatBytes(mem.serverRssBytes)} + ${s.chatModel ? 'both models' : 'model'} ${formatBytes(mem.hostRssBytes)}${shared}`;
  let memory = `Memory: RAM ${formatBytes(rss)} (${rssParts})`;
  if (mem.vramUsedBytes !== null) {
    memory += `, VRAM ${formatBytes(mem.vramUsedBytes)}${mem.vramTotalBytes !== null ? ` of ${formatBytes(mem.vramTotalBytes)}` : ''}`;
  }
  lines.push(memory);
  if (others > 0) lines.push(`Model process shared with ${windows(others)}: it sleeps when all of them are idle`);
  else if (s.sharing?.notShared) lines.push(escapeMarkdown(s.sharing.notShared));
  return lines;
}

function windows(count: number): string {
  return `${count} other window${count === 1 ? '' : 's'}`;
}

function sleepLines(key: StatusKey, input: StatusBarInput): string[] {
  const s = input.status;
  if (!s) return [];
  const lines: string[] = [];
  const mode = s.sleepMode === 'deep' ? 'deep sleep: the model process exits' : 'light sleep: the model process stays';
  const left = secondsUntilSleep(input);
  if (key === 'sleeping' && s.asleepSince !== null) lines.push(`Asleep since ${formatClock(s.asleepSince)} (${mode})`);
  // What a deep sleep keeps: nothing, or the standby process that makes the wake fast (localLlm.sleep.standby).
  if (key === 'sleeping' && s.sleepMode === 'deep' && s.memory.hostPid === null && (s.engine?.kind ?? 'local') === 'local') {
    const standby = s.memory.standbyRssBytes ?? null;
    lines.push(
      standby === null
        ? 'Deep sleep keeps 0 MB of VRAM and no process'
        : `Deep sleep keeps 0 MB of VRAM, ${formatBytes(standby)} of RAM in a standby process`,
    );
  } else if ((key === 'ready' || key === 'generating') && left !== null)
    lines.push(`Sleeps in ${formatDuration(left)} when idle (${mode})`);
  else if (key === 'ready') lines.push('Idle sleep is off');
  if (s.lastSleepFreed) {
    const vram = s.lastSleepFreed.vramBytes !== null ? ` and ${formatBytes(s.lastSleepFreed.vramBytes)} of VRAM` : '';
    lines.push(`Last sleep freed ${formatBytes(s.lastSleepFreed.rssBytes)} of RAM${vram}`);
  }
  const timings: string[] = [];
  if (s.counters.lastWakeMs !== null) timings.push(`last wake took ${formatMs(s.counters.lastWakeMs)}`);
  if (s.counters.lastLoadMs !== null) timings.push(`last load took ${formatMs(s.counters.lastLoadMs)}`);
  if (timings.length) lines.push(timings.join(', ').replace(/^l/, 'L'));
  lines.push(`Inline completions: ${s.completionsEnabled ? 'on' : 'off'}`);
  // Older servers (or other implementations of the protocol) may not send the counters.
  const served = s.completions;
  if (served && served.generated + served.cacheHits > 0)
    lines.push(`Completions: ${served.generated} generated, ${served.cacheHits} from the cache`);
  if (s.lastCompletion) lines.push(figuresLine('Last completion', s.lastCompletion));
  const pace = paceLine(s.completionPace ?? null);
  if (pace) lines.push(pace);
  // A draft model is the third remedy, for the local model only (a server drafts with its own).
  if (pace && !s.draftModel && (s.engine?.kind ?? 'local') === 'local')
    lines.push('A small draft model with the same vocabulary (localLlm.completion.draftModel) can make them faster too.');
  const context = contextLine(s.contextChunks ?? 0, input.contextEnabled);
  if (context) lines.push(context);
  if (s.lastChat) lines.push(figuresLine('Last chat turn', s.lastChat));
  const index = indexLine(s.index ?? null);
  if (index) lines.push(index);
  return lines;
}

/** "Last completion (model name): figures"; the name only when the server says which model made them. */
export function figuresLine(label: string, figures: TokenFigures): string {
  const by = figures.model ? ` (${escapeMarkdown(figures.model)})` : '';
  return `${label}${by}: ${formatTokenFigures(figures)}`;
}

/** When the recent completions are slow for this machine: how slow, and what makes them faster (only what exists). */
export function paceLine(pace: ModelStatus['completionPace'] | null): string | null {
  if (!pace?.slow) return null;
  const cut = pace.capped > 0 ? `, ${pace.capped} cut at localLlm.completion.maxMs` : '';
  return (
    `$(warning) Completions are slow on this machine: ${formatMs(pace.p50Ms)} typical over the last ${pace.samples}${cut}. ` +
    `A smaller model ([Select Model](command:localLlm.selectModel)) or fewer tokens per suggestion ` +
    `(localLlm.completion.maxTokens, now ${pace.maxTokens}) makes them faster.`
  );
}

/** The workspace index for @codebase: "indexing N files" while it builds, then its size. */
export function indexLine(index: ModelStatus['index'] | null): string | null {
  if (!index) return null;
  const files = `${index.files.toLocaleString('en-US')} file${index.files === 1 ? '' : 's'}`;
  if (index.state === 'indexing') return `Workspace index for @codebase: indexing ${files}…`;
  return `Workspace index for @codebase: ${files}, ${index.chunks.toLocaleString('en-US')} chunks`;
}

/** How many chunks from beyond the file the last completion used; said when context is on or some were used. */
export function contextLine(chunks: number, enabled: boolean): string | null {
  const count = `${chunks} chunk${chunks === 1 ? '' : 's'} from other files, copies and definitions`;
  if (enabled) return chunks > 0 ? `Context: ${count} in the last completion` : 'Context: on, none in use yet';
  return chunks > 0 ? `Context: off (the last completion used ${count})` : null;
}

function links(key: StatusKey, status: ModelStatus | null): string {
  const all: Array<[CommandId, string]> = [];
  if (key === 'ready' || key === 'generating') all.push(['localLlm.sleepNow', 'Sleep Now']);
  if (key === 'sleeping' || key === 'error') all.push(['localLlm.wake', key === 'error' ? 'Retry' : 'Wake Up']);
  if (key === 'crashed' || key === 'stopped') all.push(['localLlm.restartServer', 'Restart Server']);
  if (status?.lastCompletion) all.push(['localLlm.showLastCompletionPrompt', 'Last Prompt']);
  all.push(['localLlm.openChat', 'Open Chat'], ['localLlm.selectModel', 'Select Model'], ['localLlm.showLogs', 'Show Logs']);
  return all.map(([id, label]) => `[${label}](command:${id})`).join(' · ');
}

export function renderStatus(input: StatusBarInput): StatusView {
  const key = statusKey(input.client, input.status);
  const look = looks[key];
  const s = input.client === 'running' ? input.status : null;

  const paragraphs: string[] = [`**Local LLM**: ${stateSentence(key, input)}`];
  if (s?.error) paragraphs.push(`$(error) ${escapeMarkdown(s.error)}`);
  if (s?.engine?.error && s.engine.error !== s.error) paragraphs.push(`$(warning) ${escapeMarkdown(s.engine.error)}`);
  if (s?.notice) paragraphs.push(`$(info) ${escapeMarkdown(s.notice)}`);
  if (s) paragraphs.push([...modelLines(s), ...sleepLines(key, input)].join('  \n'));
  if (s && input.suggestion) paragraphs.push(input.suggestion);
  if (input.crashes > 0 && key !== 'crashed') {
    paragraphs.push(`The language server crashed ${input.crashes} time${input.crashes === 1 ? '' : 's'} this session and was restarted.`);
  }
  paragraphs.push(links(key, s));

  const shown = serverLook(key, s?.engine) ?? look;
  const view: StatusView = { key, text: shown.text, icon: shown.icon, tooltip: paragraphs.join('\n\n'), command: commandFor(key) };
  if (key === 'error' || key === 'crashed') view.backgroundColor = 'statusBarItem.errorBackground';
  else if (s?.engine?.error) view.backgroundColor = 'statusBarItem.warningBackground';
  else if (key === 'stopped') view.backgroundColor = 'statusBarItem.warningBackground';
  return view;
}
