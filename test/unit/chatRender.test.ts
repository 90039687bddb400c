// Model output must never become HTML or script in the chat panel. The webview adds DOMPurify
// on top (it needs a DOM); this checks the first wall, markdown-it with raw HTML off, and the
// page's Content-Security-Policy.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { chatPage, contentSecurityPolicy } from '../../client/src/chat/html';
import { isFromWebview } from '../../media/messages';
import { renderMarkdown } from '../../media/render';

/** Tags markdown-it emits for ordinary Markdown; anything else came from the input. */
const markdownTags = new Set([
  'p',
  'em',
  'strong',
  's',
  'code',
  'pre',
  'a',
  'ul',
  'ol',
  'li',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'blockquote',
  'hr',
  'br',
  'table',
  'thead',
  'tbody',
  'tr',
  'th',
  'td',
]);

function tags(html: string): string[] {
  return [...html.matchAll(/<\/?([a-zA-Z][\w-]*)/g)].map((m) => m[1].toLowerCase());
}

function attributes(html: string): string[] {
  return [...html.matchAll(/<[a-zA-Z][\w-]*((?:\s+[^\s=>]+(?:="[^"]*")?)*)\s*\/?>/g)].flatMap((m) =>
    [...m[1].matchAll(/\s([^\s=>]+)/g)].map((a) => a[1].toLowerCase()),
  );
}

describe('renderMarkdown', () => {
  const hostile = [
    'Here you go: <img src=x onerror=alert(1)> done',
    '<script>alert(1)</script>',
    'inline <svg onload=alert(1)> and <iframe src="https://evil.example"></iframe>',
    '<a href="javascript:alert(1)">click</a>',
  ];

  for (const text of hostile) {
    it(`renders ${JSON.stringify(text)} as text`, () => {
      const html = renderMarkdown(text);
      for (const tag of tags(html)) assert.ok(markdownTags.has(tag), `unexpected <${tag}> in ${html}`);
      assert.doesNotMatch(html, /<(img|script|svg|iframe)/i);
      assert.match(html, /&lt;(img|script|svg|a)/);
    });
  }

  it('keeps the exact hostile text visible after escaping', () => {
    const html = renderMarkdown('<img src=x onerror=alert(1)> <script>alert(1)</script>');
    assert.ok(html.includes('&lt;img src=x onerror=alert(1)&gt;'), html);
    assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'), html);
  });

  it('escapes HTML inside code blocks too', () => {
    const html = renderMarkdown('```html\n<script>alert(1)</script>\n```');
    assert.match(html, /<pre><code class="language-html">&lt;script&gt;/);
  });

  it('does not turn a javascript: or data: link into a link', () => {
    for (const link of ['[x](javascript:alert(1))', '[x](data:text/html;base64,PHNjcmlwdD4=)', '[x](vbscript:msgbox)']) {
      const html = renderMarkdown(link);
      assert.doesNotMatch(html, /href=/i, html);
    }
  });

  it('renders a Markdown image as text, so nothing is ever fetched', () => {
    const html = renderMarkdown('![logo](https://evil.example/track.png)');
    assert.doesNotMatch(html, /<img/i);
  });

  it('still renders ordinary Markdown', () => {
    const html = renderMarkdown('**bold** and `code`\n\n- a\n- b\n\n[docs](https://example.com)');
    assert.match(html, /<strong>bold<\/strong>/);
    assert.match(html, /<code>code<\/code>/);
    assert.match(html, /<li>a<\/li>/);
    assert.match(html, /<a href="https:\/\/example.com">docs<\/a>/);
  });

  it('never emits a tag or an event attribute that Markdown did not ask for, whatever the model writes', () => {
    const fragment = fc.constantFrom(
      '<',
      '>',
      '</',
      'img',
      'script',
      ' src=x',
      ' onerror=alert(1)',
      '"',
      "'",
      '`',
      '```',
      '\n',
      '*',
      '[',
      '](',
      ')',
      'javascript:',
      ' ',
      'a',
      '=',
    );
    fc.assert(
      fc.property(fc.array(fragment, { maxLength: 40 }), (parts) => {
        const html = renderMarkdown(parts.join(''));
        for (const tag of tags(html)) assert.ok(markdownTags.has(tag), `<${tag}> in ${html}`);
        for (const attr of attributes(html)) assert.ok(['href', 'class', 'title', 'start', 'style'].includes(attr), `${attr} in ${html}`);
      }),
      { numRuns: 500 },
    );
  });
});

describe('chat page', () => {
  const parts = {
    cspSource: 'https://file+.vscode-resource.vscode-cdn.net',
    nonce: 'bm9uY2Vub25jZW5vbmNl',
    scriptUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/dist/media/chat.js',
    styleUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/media/chat.css',
  };

  it('denies everything by default and runs scripts only by nonce', () => {
    const csp = contentSecurityPolicy(parts);
    assert.match(csp, /^default-src 'none'/);
    assert.match(csp, /script-src 'nonce-bm9uY2Vub25jZW5vbmNl'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*|https?:\/\/(?!file\+\.vscode-resource)/);
  });

  it('has exactly one script, carrying the nonce, and no inline code', () => {
    const html = chatPage(parts);
    const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
    assert.deepEqual(scripts, [`<script nonce="${parts.nonce}" src="${parts.scriptUri}">`]);
    assert.doesNotMatch(html, /<script[^>]*>[^<]+<\/script>/);
    assert.doesNotMatch(html, /\son[a-z]+=/i);
    assert.ok(html.includes(`content="${contentSecurityPolicy(parts)}"`));
  });

  it('starts with the composer inert, so input before the script runs is not lost; the script is after it', () => {
    const html = chatPage(parts);
    assert.match(html, /<div id="composer" inert>/);
    assert.ok(html.indexOf('id="composer"') < html.indexOf('<script'), 'the script comes after the composer it turns on');
  });
});

describe('messages from the webview', () => {
  it('accepts the known shapes', () => {
    assert.ok(isFromWebview({ type: 'ready' }));
    assert.ok(isFromWebview({ type: 'send', text: 'hi' }));
    assert.ok(isFromWebview({ type: 'draft', text: 'hi', mentions: [{ kind: 'codebase', label: 'codebase' }] }));
    assert.ok(isFromWebview({ type: 'setIncludeContext', value: true }));
  });

  it('rejects anything else', () => {
    for (const bad of [
      null,
      'send',
      { type: 'eval', code: '1' },
      { type: 'send' },
      { type: 'draft', text: 3 },
      { type: 'send', text: 3 },
      { type: 'setIncludeContext', value: 'yes' },
      { type: 'insert' },
      { type: 'selectModel' },
    ]) {
      assert.equal(isFromWebview(bad), false, JSON.stringify(bad));
    }
  });
});
