// Model output -> HTML. markdown-it with raw HTML off turns any tag in the text into escaped
// text; images are off too, so an answer can never make the panel fetch anything. The webview
// still passes the result through DOMPurify (chat.ts) as a second wall.
import MarkdownIt from 'markdown-it';

const markdown = new MarkdownIt({ html: false, linkify: false, typographer: false }).disable(['image']);

export function renderMarkdown(source: string): string {
  return markdown.render(source);
}

/**
 * The info string (language, maybe a path) of each code block `renderMarkdown` turns into a
 * `<pre>`, in the same order: fenced blocks have theirs, indented blocks an empty one.
 */
export function codeBlockInfos(source: string): string[] {
  return markdown
    .parse(source, {})
    .filter((t) => t.type === 'fence' || t.type === 'code_block')
    .map((t) => (t.type === 'fence' ? t.info.trim() : ''));
}

/** DOMPurify settings for rendered answers: no styles, no forms, no media, no scripts. */
export const sanitizeOptions = {
  FORBID_TAGS: ['style', 'img', 'svg', 'math', 'form', 'input', 'button', 'iframe', 'object', 'embed', 'video', 'audio'],
  FORBID_ATTR: ['style', 'srcset', 'src'],
  ALLOW_DATA_ATTR: false,
};
