// What the chat panel says about the model above the input. No `vscode` import.
import type { ModelBanner } from '../../../media/messages';
import type { ModelStatus } from '../../../server/src/shared/protocol';
import { formatClock } from '../../../server/src/shared/format';
import type { StatusKey } from '../status/render';

export function bannerFor(key: StatusKey, status: ModelStatus | null): ModelBanner | null {
  switch (key) {
    case 'ready':
    case 'generating':
      return null;
    case 'starting':
      return { tone: 'busy', text: 'Starting the language server…' };
    case 'stopped':
      return { tone: 'error', text: 'The language server is stopped.', action: { label: 'Start', message: 'restartServer' } };
    case 'crashed':
      return { tone: 'error', text: 'The language server crashed.', action: { label: 'Restart', message: 'restartServer' } };
    case 'loading':
      return { tone: 'busy', text: 'Loading the model… Messages wait until it is ready.' };
    case 'waking':
      return { tone: 'busy', text: 'Waking the model… Messages wait until it is ready.' };
    case 'sleeping': {
      const since = status?.asleepSince ? ` since ${formatClock(status.asleepSince)}` : '';
      return {
        tone: 'info',
        text: `The model is asleep${since}. Sending a message wakes it.`,
        action: { label: 'Wake now', message: 'wake' },
      };
    }
    case 'error':
      return { tone: 'error', text: status?.error ?? 'The model failed to load.', action: { label: 'Retry', message: 'wake' } };
  }
}
