// The id of every command the extension contributes. A leaf with no imports, so the status render
// and the command table can both name commands without importing each other.

/** table.ts gives each of these its title, when clause and handlers; the compiler checks it has exactly these. */
export type CommandId =
  | 'localLlm.sleepNow'
  | 'localLlm.wake'
  | 'localLlm.openChat'
  | 'localLlm.toggleCompletions'
  | 'localLlm.selectModel'
  | 'localLlm.showLogs'
  | 'localLlm.showLastCompletionPrompt'
  | 'localLlm.showLastChatPrompt'
  | 'localLlm.editSelection'
  | 'localLlm.acceptEdit'
  | 'localLlm.rejectEdit'
  | 'localLlm.restartServer'
  | 'localLlm.setApiKey'
  | 'localLlm.showMenu';
