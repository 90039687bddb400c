// Plain-text tables for the console, one per benchmark.

export type Cell = string | number | null;

function show(cell: Cell): string {
  if (cell === null) return '-';
  if (typeof cell === 'number') {
    if (Number.isNaN(cell)) return '-';
    return Number.isInteger(cell) ? String(cell) : cell.toFixed(Math.abs(cell) >= 100 ? 0 : Math.abs(cell) >= 10 ? 1 : 2);
  }
  return cell;
}

export function printTable(title: string, header: readonly string[], rows: readonly (readonly Cell[])[]): void {
  const text = [header.map(show), ...rows.map((r) => r.map(show))];
  const widths = header.map((_, i) => Math.max(...text.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  process.stdout.write(`\n${title}\n${line(text[0])}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
  for (const r of text.slice(1)) process.stdout.write(`${line(r)}\n`);
}

export const mib = (bytes: number | null | undefined): number | null => (bytes == null ? null : Math.round((bytes / 1048576) * 10) / 10);
