// The text of an @problems part: one line per diagnostic, errors first, bounded. Pure (no `vscode`).

export interface Problem {
  /** Workspace-relative path. */
  path: string;
  /** 0-based. */
  line: number;
  severity: 'error' | 'warning' | 'info' | 'hint';
  message: string;
  source?: string;
}

const order: Record<Problem['severity'], number> = { error: 0, warning: 1, info: 2, hint: 3 };

/** `src/a.ts:12: error: Cannot find name 'x'. (ts)`, errors first, at most `limit` lines and a count of the rest. */
export function problemsText(problems: readonly Problem[], limit = 200): string {
  if (problems.length === 0) return 'No problems are reported.';
  const sorted = [...problems].sort((a, b) => order[a.severity] - order[b.severity] || a.path.localeCompare(b.path) || a.line - b.line);
  const lines = sorted.slice(0, limit).map((p) => {
    const message = p.message.replace(/\s*\n\s*/g, ' ').trim();
    return `${p.path}:${p.line + 1}: ${p.severity}: ${message}${p.source ? ` (${p.source})` : ''}`;
  });
  if (sorted.length > limit) lines.push(`… and ${sorted.length - limit} more.`);
  return lines.join('\n');
}
