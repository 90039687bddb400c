// "Local LLM: Show Last Chat Prompt": the last chat turn's prompt, part by part, in the same kind
// of read-only document as the completion prompt view.
import { LastChatPromptRequest, type LastChatPrompt } from '../../../server/src/shared/protocol';
import type { PromptSource } from '../context/promptView';
import { renderChatPromptDocument } from './chatPromptDocument';

export const chatPromptScheme = 'local-llm-chat-prompt';

export const chatPromptSource: PromptSource<LastChatPrompt> = {
  scheme: chatPromptScheme,
  title: 'Last Chat Prompt.txt',
  request: LastChatPromptRequest.type,
  render: renderChatPromptDocument,
  unsupported: 'This server does not report its chat prompts.',
};
