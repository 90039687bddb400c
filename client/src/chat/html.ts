// The chat panel's page. Nothing runs or loads unless the policy names it: one script by
// nonce, one stylesheet from the extension, no inline code, no remote hosts. No `vscode` import.

export interface ChatPageParts {
  /** `webview.cspSource`: the origin the webview serves extension files from. */
  cspSource: string;
  /** Fresh for every page: crypto.randomBytes, base64. */
  nonce: string;
  scriptUri: string;
  styleUri: string;
}

function attr(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function contentSecurityPolicy(parts: Pick<ChatPageParts, 'cspSource' | 'nonce'>): string {
  return [
    "default-src 'none'",
    `style-src ${parts.cspSource}`,
    `font-src ${parts.cspSource}`,
    `script-src 'nonce-${parts.nonce}'`,
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

export function chatPage(parts: ChatPageParts): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${attr(contentSecurityPolicy(parts))}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${attr(parts.styleUri)}">
<title>Local LLM Chat</title>
</head>
<body>
<div id="history" class="history" hidden>
  <div class="row history-head">
    <strong>Kept chats</strong>
    <span class="spacer"></span>
    <button id="delete-all" class="secondary" type="button" title="Delete every kept chat of this workspace">Delete all</button>
    <button id="close-history" class="secondary" type="button" title="Back to the chat">Close</button>
  </div>
  <div id="history-note" class="history-note" hidden></div>
  <ul id="history-list" class="history-list" aria-label="Kept chats"></ul>
</div>
<div id="log" role="log" aria-live="polite"></div>
<div id="banner" class="banner" role="status" hidden></div>
<div id="composer" inert>
  <div id="notice" class="notice" role="alert" hidden></div>
  <div id="chips" class="chips" aria-label="Mentions"></div>
  <div class="input-box">
    <ul id="picker" class="picker" role="listbox" aria-label="Mentions" hidden></ul>
    <textarea id="input" rows="3" aria-label="Message" placeholder="Ask about your code. @ mentions a file, the selection, a symbol, problems, changes or the codebase. Enter sends, Shift+Enter adds a line."></textarea>
  </div>
  <div class="row">
    <input type="checkbox" id="include-context">
    <label for="include-context">Include</label>
    <span id="context-label"></span>
  </div>
  <div class="row">
    <button id="open-history" class="secondary" type="button" title="Reopen or delete a kept chat">History</button>
    <span class="spacer"></span>
    <button id="new-chat" class="secondary" type="button" title="Forget this conversation">New chat</button>
    <button id="stop" type="button" hidden>Stop</button>
    <button id="send" type="button">Send</button>
  </div>
</div>
<script nonce="${attr(parts.nonce)}" src="${attr(parts.scriptUri)}"></script>
</body>
</html>`;
}
