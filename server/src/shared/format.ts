// Short human formats for sizes, durations and clock times, shared by the server's messages, the status bar and chat.
import type { TokenFigures } from './protocol';

const units = ['B', 'KB', 'MB', 'GB', 'TB'] as const;

/** 1536 -> "1.5 KB"; binary multiples, one decimal under 10, none above. */
export function formatBytes(bytes: number): string {
  let value = Math.max(0, bytes);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 || value >= 10 ? 0 : 1;
  return `${value.toFixed(digits)} ${units[unit]}`;
}

/** 250 -> "4m 10s", 45 -> "45s", 3700 -> "1h 1m". */
export function formatDuration(totalSeconds: number): string {
  const s = Math.max(0, Math.round(totalSeconds));
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const seconds = s % 60;
  if (hours > 0) return minutes > 0 ? `${hours}h ${minutes}m` : `${hours}h`;
  if (minutes > 0) return seconds > 0 ? `${minutes}m ${seconds}s` : `${minutes}m`;
  return `${seconds}s`;
}

/**
 * A deadline or a wait in a sentence, from milliseconds: 500 -> "500 ms", 1500 -> "1.5 s",
 * 90000 -> "90 s", 600000 -> "10 minutes" (minutes from 2 on).
 */
export function formatTimeSpan(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${Math.round(ms / 100) / 10} s`;
  return `${Math.round(ms / 60_000)} minutes`;
}

/** 850 -> "850 ms", 1234 -> "1.2 s". */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}

/** Local wall-clock time of an epoch ms, "10:42". */
export function formatClock(epochMs: number): string {
  const d = new Date(epochMs);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

/** "812 prompt tokens, 3 evaluated (809 reused), 23 tok/s", then ", 12/40 drafts accepted (30%)" when prompt lookup drafted. */
export function formatTokenFigures(f: TokenFigures): string {
  const speed =
    f.tokensPerSecond === null ? '' : `, ${f.tokensPerSecond >= 10 ? Math.round(f.tokensPerSecond) : f.tokensPerSecond.toFixed(1)} tok/s`;
  const drafts = f.draftedTokens ? `, ${f.acceptedTokens ?? 0}/${f.draftedTokens} drafts accepted (${acceptancePercent(f)}%)` : '';
  return `${f.promptTokens} prompt tokens, ${f.evaluatedTokens} evaluated (${f.reusedTokens} reused)${speed}${drafts}`;
}

/** The share of drafted tokens accepted, in whole percent; 0 when none were drafted. */
export function acceptancePercent(f: TokenFigures): number {
  return f.draftedTokens ? Math.round(((f.acceptedTokens ?? 0) * 100) / f.draftedTokens) : 0;
}

/** The prompt views' line on prompt lookup: "12 of 40 drafted tokens accepted (30%)", or that none were drafted. */
export function formatLookupFigures(f: TokenFigures): string {
  if (!f.draftedTokens) return 'no tokens drafted';
  return `${f.acceptedTokens ?? 0} of ${f.draftedTokens} drafted tokens accepted (${acceptancePercent(f)}%)`;
}
