// Models by job (issue 25): localLlm.model makes the completions, localLlm.chat.model answers chat
// (empty: the completion model does both). Pure: what Select Model writes for a choice and a job.
import type { ListModelsResult, ModelPreset } from '../../../server/src/shared/protocol';

/** The job a model is chosen for; `both` sets the two settings at once. */
export type ModelRole = 'completion' | 'chat' | 'both';

/** What to write: `model` is localLlm.model, `chatModel` localLlm.chat.model; an absent key is left as it is. */
export interface ModelChoiceValue {
  model?: string;
  chatModel?: string;
}

/** The two settings as they are now. */
export interface CurrentModels {
  model: string;
  chatModel: string;
}

/** A single model (file, URI or empty) for a role: both roles means one model for both, so chat follows it. */
export function valueForRole(role: ModelRole, value: string): ModelChoiceValue {
  if (role === 'completion') return { model: value };
  if (role === 'chat') return { chatModel: value };
  return { model: value, chatModel: '' };
}

/** Whether a preset is offered for a role: base models only for completions, Instruct models for any job. */
export function presetFitsRole(preset: ModelPreset, role: ModelRole): boolean {
  const presetRole = preset.role ?? 'both';
  if (role === 'completion') return presetRole !== 'chat';
  if (role === 'chat') return presetRole !== 'completion';
  return presetRole === 'both';
}

/** The chat model the server uses with both settings empty, from the listing; null when unknown. */
export function defaultChatModel(listing: ListModelsResult | null): string | null {
  if (!listing) return null;
  const pair = listing.pairs?.find((p) => p.id === listing.recommendedPairId);
  return pair?.chat.uri ?? listing.presets.find((p) => p.id === listing.recommendedPresetId)?.uri ?? null;
}

/**
 * A model chosen for completions only leaves chat where it was: with localLlm.chat.model empty chat
 * follows localLlm.model, so the model chat used so far is written to localLlm.chat.model (nothing
 * when it is the new completion model, which then serves both).
 */
export function keepChat(value: ModelChoiceValue, current: CurrentModels, defaultChat: string | null): ModelChoiceValue {
  if (value.model === undefined || value.chatModel !== undefined || current.chatModel !== '') return value;
  const chatSoFar = current.model || defaultChat;
  if (chatSoFar === null || chatSoFar === value.model) return value;
  return { ...value, chatModel: chatSoFar };
}

/** Select Model run with an argument (a keybinding, a test, another extension): the job and the model, no pickers. */
export interface SelectModelRequest {
  role: ModelRole;
  /** A .gguf path, an hf: URI or URL, or empty for the default. */
  model: string;
}

const roles: readonly ModelRole[] = ['completion', 'chat', 'both'];

/**
 * Reads Select Model's argument: a request, a sentence saying what is wrong with an object that
 * means to be one, or null for anything else (the pickers are shown then, as without an argument).
 */
export function parseSelectRequest(arg: unknown): SelectModelRequest | string | null {
  if (typeof arg !== 'object' || arg === null || !('role' in arg)) return null;
  const { role, model } = arg as { role: unknown; model?: unknown };
  if (typeof role !== 'string' || !roles.includes(role as ModelRole)) {
    return `Select Model's role must be "completion", "chat" or "both", not ${JSON.stringify(role)}.`;
  }
  if (typeof model !== 'string')
    return `Select Model needs the model as a string (a .gguf path, an hf: URI or a URL; empty for the default), not ${JSON.stringify(model)}.`;
  return { role: role as ModelRole, model: model.trim() };
}
