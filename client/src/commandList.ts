// Every command the extension contributes: id, palette title and when it is offered.
// package.json mirrors this list (test/unit/contribution.test.ts checks it); handlers live in commands.ts.

export const commandCategory = 'Local LLM';

/** The context key holding the client or model state (see statusBar.ts `contextState`). */
export const stateContextKey = 'localLlm.state';

export interface CommandInfo {
  title: string;
  /** Command palette `when` clause; absent means always offered. */
  when?: string;
}

export const commandList = {
  'localLlm.sleepNow': { title: 'Sleep Now', when: `${stateContextKey} == ready` },
  'localLlm.wake': { title: 'Wake Up', when: `${stateContextKey} == sleeping || ${stateContextKey} == error` },
  'localLlm.openChat': { title: 'Open Chat' },
  'localLlm.toggleCompletions': { title: 'Toggle Inline Completions' },
  'localLlm.selectModel': { title: 'Select Model' },
  'localLlm.showLogs': { title: 'Show Logs' },
  'localLlm.restartServer': { title: 'Restart Server', when: `${stateContextKey} != starting` },
  // Opened by clicking the status bar item; not useful from the palette.
  'localLlm.showMenu': { title: 'Show Status Menu', when: 'false' },
} as const satisfies Record<string, CommandInfo>;

export type CommandId = keyof typeof commandList;
