// The `localLlm.*` settings: one schema, its defaults, and a normalizer that turns whatever the
// client sends into valid settings plus human sentences about what was rejected.
// Shared by client and server; the package.json contribution mirrors it (a unit test checks that).

export const gpuChoices = ['auto', 'cuda', 'metal', 'vulkan', 'cpu'] as const;
export type GpuChoice = (typeof gpuChoices)[number];
export const sleepModes = ['deep', 'light'] as const;
/** What speaks at a server URL: found from the server itself (`auto`) or forced. */
export const remoteKinds = ['auto', 'llama-server', 'ollama', 'openai'] as const;
export type RemoteKind = (typeof remoteKinds)[number];

/** How the language server talks to a model server when `engine` is a URL. */
export interface RemoteSettings {
  kind: RemoteKind;
  /** The user says the server is theirs: Sleep Now may unload its model. */
  controlSleep: boolean;
  /** No answer (or no new streamed data) for this long: the request fails in a sentence. */
  timeoutMs: number;
  /** The same bound while the server is waking its model (it said it was asleep). */
  wakeTimeoutMs: number;
  /** The model name sent to servers that serve several (Ollama, vLLM, llama-server's router); empty: the server's first. */
  model: string;
  /** The model name of chat requests on such servers; empty: `model`'s. */
  chatModel: string;
}

export interface ChatSettings {
  /** The chat's own model (#25), same grammar as `Settings.model`; empty: the completion model serves chat too. */
  model: string;
  /** The question's prompt evaluated while the user writes it (localLlm/chatPrefill). */
  prefill: boolean;
}

export interface CompletionSettings {
  enabled: boolean;
  debounceMs: number;
  maxTokens: number;
  maxLines: number;
  /** Generation stops here and the user gets what is ready; 0 means no cap. */
  maxMs: number;
  /** Prompt-lookup drafts (speculative decoding) for completions and chat with the local engine. */
  lookup: boolean;
  /** How many suggestions Show Next / Show Previous cycles (the first, then sampled others asked for explicitly). */
  candidates: number;
  /** A small model with the main model's vocabulary that drafts for completions (a path, `hf:` URI or URL); empty: none. */
  draftModel: string;
}

export interface ContextSettings {
  /** Send chunks of other files, copies and definitions to the completion's context ring. */
  enabled: boolean;
  /** Globs (matched against the workspace-relative path) whose files never enter the ring. */
  exclude: string[];
  /** Tokens the ring may take in a prompt; never more than half the context. */
  tokenBudget: number;
}

export interface Settings {
  /** `local` (the model host on this machine) or the http(s) URL of a model server. */
  engine: string;
  /** A local .gguf path or an `hf:` URI / https URL; empty means the default model. */
  model: string;
  gpu: GpuChoice;
  /** 'auto' lets node-llama-cpp fit as many layers as the VRAM holds. */
  gpuLayers: 'auto' | number;
  contextSize: number;
  /** 0 means the real core count. */
  threads: number;
  /** 0 means never sleep. */
  sleepIdleSeconds: number;
  sleepMode: (typeof sleepModes)[number];
  wakeOnActivity: boolean;
  loadOnStartup: boolean;
  /** Room for the sequences' state kept across sleep, in MB; 0 keeps none. */
  stateCacheMB: number;
  /** standby: a deep sleep leaves a standby process (libraries loaded, no model, no VRAM) for a faster wake. */
  sleep: { standby: boolean };
  completion: CompletionSettings;
  context: ContextSettings;
  remote: RemoteSettings;
  chat: ChatSettings;
}

export const defaultSettings: Settings = {
  engine: 'local',
  model: '',
  gpu: 'auto',
  gpuLayers: 'auto',
  contextSize: 4096,
  threads: 0,
  sleepIdleSeconds: 300,
  sleepMode: 'deep',
  wakeOnActivity: true,
  loadOnStartup: true,
  stateCacheMB: 1024,
  sleep: { standby: true },
  completion: { enabled: true, debounceMs: 150, maxTokens: 64, maxLines: 8, maxMs: 1500, lookup: true, candidates: 3, draftModel: '' },
  context: {
    enabled: true,
    exclude: [
      '**/.env',
      '**/.env.*',
      '**/*.pem',
      '**/*.key',
      '**/*.crt',
      '**/*.cer',
      '**/*.p12',
      '**/*.pfx',
      '**/*.jks',
      '**/*.keystore',
      '**/id_rsa*',
      '**/id_ecdsa*',
      '**/id_ed25519*',
      '**/.npmrc',
      '**/.netrc',
    ],
    tokenBudget: 1024,
  },
  remote: { kind: 'auto', controlSleep: false, timeoutMs: 30_000, wakeTimeoutMs: 300_000, model: '', chatModel: '' },
  chat: { model: '', prefill: true },
};

interface IntRange {
  min: number;
  max: number;
}

/** Numeric bounds, shared with the package.json contribution. */
export const ranges = {
  gpuLayers: { min: 0, max: 1000 },
  contextSize: { min: 512, max: 131072 },
  threads: { min: 0, max: 256 },
  sleepIdleSeconds: { min: 0, max: 86400 },
  stateCacheMB: { min: 0, max: 1048576 },
  'completion.debounceMs': { min: 0, max: 5000 },
  'completion.maxTokens': { min: 1, max: 1024 },
  'completion.maxLines': { min: 1, max: 200 },
  'completion.maxMs': { min: 0, max: 60000 },
  'completion.candidates': { min: 1, max: 5 },
  'context.tokenBudget': { min: 0, max: 65536 },
  'remote.timeoutMs': { min: 100, max: 3_600_000 },
  'remote.wakeTimeoutMs': { min: 100, max: 3_600_000 },
} satisfies Record<string, IntRange>;

/** Settings whose change needs the model reloaded; all others apply at once. */
export const reloadKeys = [
  'engine',
  'model',
  'gpu',
  'gpuLayers',
  'contextSize',
  'threads',
  'remote.kind',
  'remote.model',
  'chat.model',
  'remote.chatModel',
  'completion.draftModel',
] as const;

/**
 * Settings only the user may set, in user settings or (over Remote/SSH) in that machine's remote
 * settings, never a repository's `.vscode/settings.json`: they choose which file native llama.cpp
 * parses (model), which GPU code runs (gpu, gpuLayers) and how much memory and CPU it takes
 * (contextSize, threads), and where the code goes (engine: a repository must never send the
 * user's code to another server) and what is done to that server (remote.*): every setting that
 * needs a reload, and remote.controlSleep. package.json gives each `"scope": "machine"`, and VS
 * Code then ignores workspace and folder values of them (a unit test checks the two agree).
 */
export const machineScopedKeys = [...reloadKeys, 'remote.controlSleep'] as const;

export interface NormalizedSettings {
  settings: Settings;
  /** One sentence per rejected value; the default was used instead. */
  problems: string[];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function normalizeSettings(raw: unknown): NormalizedSettings {
  const problems: string[] = [];
  const src = isRecord(raw) ? raw : {};
  if (raw !== undefined && raw !== null && !isRecord(raw)) {
    problems.push('The localLlm settings are not an object; the defaults are used.');
  }
  // VS Code may also send dotted keys flat ("completion.enabled").
  const pick = (key: string): unknown => {
    const dot = key.indexOf('.');
    if (dot > 0) {
      const group = src[key.slice(0, dot)];
      const sub = key.slice(dot + 1);
      if (isRecord(group) && sub in group) return group[sub];
    }
    return src[key];
  };

  const bool = (key: string, fallback: boolean): boolean => {
    const v = pick(key);
    if (v === undefined || v === null) return fallback;
    if (typeof v === 'boolean') return v;
    problems.push(`localLlm.${key} must be true or false, not ${JSON.stringify(v)}; using ${fallback}.`);
    return fallback;
  };
  const int = (key: keyof typeof ranges, fallback: number): number => {
    const v = pick(key);
    if (v === undefined || v === null) return fallback;
    const { min, max } = ranges[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      problems.push(`localLlm.${key} must be a whole number from ${min} to ${max}, not ${JSON.stringify(v)}; using ${fallback}.`);
      return fallback;
    }
    return v;
  };
  const choice = <T extends string>(key: string, options: readonly T[], fallback: T): T => {
    const v = pick(key);
    if (v === undefined || v === null) return fallback;
    if (typeof v === 'string' && (options as readonly string[]).includes(v)) return v as T;
    problems.push(`localLlm.${key} must be one of ${options.join(', ')}, not ${JSON.stringify(v)}; using ${fallback}.`);
    return fallback;
  };

  /** A text setting, trimmed; anything else is refused with what it must be and what is done instead. */
  const text = (key: string, fallback: string, mustBe: string, otherwise: string): string => {
    const v = pick(key);
    if (v === undefined || v === null) return fallback;
    if (typeof v === 'string') return v.trim();
    problems.push(`localLlm.${key} must be ${mustBe}, not ${JSON.stringify(v)}; ${otherwise}.`);
    return fallback;
  };
  const modelRef = (key: string, fallback: string, otherwise: string): string =>
    text(key, fallback, 'a file path or an hf: URI', otherwise);

  const d = defaultSettings;
  const model = modelRef('model', d.model, 'no model is set');
  const chatModel = modelRef('chat.model', d.chat.model, 'the completion model serves chat');

  let gpuLayers: Settings['gpuLayers'] = d.gpuLayers;
  const rawLayers = pick('gpuLayers');
  if (rawLayers !== undefined && rawLayers !== null && rawLayers !== 'auto') {
    const { min, max } = ranges.gpuLayers;
    if (typeof rawLayers === 'number' && Number.isInteger(rawLayers) && rawLayers >= min && rawLayers <= max) {
      gpuLayers = rawLayers;
    } else {
      problems.push(
        `localLlm.gpuLayers must be "auto" or a whole number from ${min} to ${max}, not ${JSON.stringify(rawLayers)}; using auto.`,
      );
    }
  }

  let exclude = d.context.exclude;
  const rawExclude = pick('context.exclude');
  if (rawExclude !== undefined && rawExclude !== null) {
    if (Array.isArray(rawExclude) && rawExclude.every((g) => typeof g === 'string')) {
      exclude = rawExclude.map((g: string) => g.trim()).filter((g) => g.length > 0);
    } else {
      problems.push(`localLlm.context.exclude must be a list of glob patterns, not ${JSON.stringify(rawExclude)}; using the default list.`);
    }
  }

  let engine = d.engine;
  const rawEngine = pick('engine');
  if (rawEngine !== undefined && rawEngine !== null) {
    const problem = typeof rawEngine === 'string' ? engineProblem(rawEngine) : 'it is not a string';
    if (problem === null) engine = normalizeEngine(rawEngine as string);
    else
      problems.push(
        `localLlm.engine must be "local" or the http(s) URL of a model server (${problem}), not ${JSON.stringify(rawEngine)}; using local.`,
      );
  }
  const remoteModel = text('remote.model', d.remote.model, 'a model name', "the server's first model is used");
  const remoteChatModel = text('remote.chatModel', d.remote.chatModel, 'a model name', "chat asks for localLlm.remote.model's");

  return {
    settings: {
      engine,
      model,
      gpu: choice('gpu', gpuChoices, d.gpu),
      gpuLayers,
      contextSize: int('contextSize', d.contextSize),
      threads: int('threads', d.threads),
      sleepIdleSeconds: int('sleepIdleSeconds', d.sleepIdleSeconds),
      sleepMode: choice('sleepMode', sleepModes, d.sleepMode),
      wakeOnActivity: bool('wakeOnActivity', d.wakeOnActivity),
      loadOnStartup: bool('loadOnStartup', d.loadOnStartup),
      stateCacheMB: int('stateCacheMB', d.stateCacheMB),
      sleep: { standby: bool('sleep.standby', d.sleep.standby) },
      completion: {
        enabled: bool('completion.enabled', d.completion.enabled),
        debounceMs: int('completion.debounceMs', d.completion.debounceMs),
        maxTokens: int('completion.maxTokens', d.completion.maxTokens),
        maxLines: int('completion.maxLines', d.completion.maxLines),
        maxMs: int('completion.maxMs', d.completion.maxMs),
        lookup: bool('completion.lookup', d.completion.lookup),
        candidates: int('completion.candidates', d.completion.candidates),
        draftModel: modelRef('completion.draftModel', d.completion.draftModel, 'none is used'),
      },
      context: {
        enabled: bool('context.enabled', d.context.enabled),
        exclude,
        tokenBudget: int('context.tokenBudget', d.context.tokenBudget),
      },
      remote: {
        kind: choice('remote.kind', remoteKinds, d.remote.kind),
        controlSleep: bool('remote.controlSleep', d.remote.controlSleep),
        timeoutMs: int('remote.timeoutMs', d.remote.timeoutMs),
        wakeTimeoutMs: int('remote.wakeTimeoutMs', d.remote.wakeTimeoutMs),
        model: remoteModel,
        chatModel: remoteChatModel,
      },
      chat: { model: chatModel, prefill: bool('chat.prefill', d.chat.prefill) },
    },
    problems,
  };
}

/** The value of a (possibly dotted) settings key. */
function valueOf(settings: Settings, key: string): unknown {
  let value: unknown = settings;
  for (const part of key.split('.')) value = isRecord(value) ? value[part] : undefined;
  return value;
}

/** True when going from `a` to `b` needs the model reloaded. */
export function needsReload(a: Settings, b: Settings): boolean {
  return reloadKeys.some((k) => valueOf(a, k) !== valueOf(b, k));
}

/** Why `value` is neither `local` nor a usable server URL; null when it is fine. */
export function engineProblem(value: string): string | null {
  const v = value.trim();
  if (v === '' || v.toLowerCase() === 'local') return null;
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    return 'it is not a URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `${url.protocol} is not http or https`;
  if (url.username || url.password) return 'put the API key in "Local LLM: Set Server API Key", not in the URL';
  return null;
}

/** `local`, or the URL without a trailing slash; call only when engineProblem() is null. */
export function normalizeEngine(value: string): string {
  const v = value.trim();
  if (v === '' || v.toLowerCase() === 'local') return 'local';
  const url = new URL(v);
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/** True when the engine setting points at a server. */
export function isRemoteEngine(settings: Pick<Settings, 'engine'>): boolean {
  return settings.engine !== 'local';
}
