// Two model hosts that differ in one setting, given the same requests alternately (bench/lookup.ts,
// bench/draftModel.ts): each side's speed, request time and drafts, and how many answers agree.
import type { HostProcess } from '../../server/src/engine/local/hostProcess';
import type { GenerationResult } from '../../server/src/engine/types';
import type { Verdict } from './context';
import { median, round } from './stats';
import { printTable } from './table';

export interface Side {
  tokPerS: number[];
  ms: number[];
  drafted: number;
  accepted: number;
  generated: number;
}

/** One case: the side with the setting on, the side with it off, and their identical answers. */
export interface Comparison {
  on: Side;
  off: Side;
  same: number;
  total: number;
}

export interface ComparisonRow {
  case: string;
  tokPerSOn: number;
  tokPerSOff: number;
  speedup: number;
  msOn: number;
  msOff: number;
  drafted: number;
  accepted: number;
  acceptedPercent: number;
  identicalAnswers: string;
}

const newSide = (): Side => ({ tokPerS: [], ms: [], drafted: 0, accepted: 0, generated: 0 });

export const newComparison = (): Comparison => ({ on: newSide(), off: newSide(), same: 0, total: 0 });

function add(side: Side, r: GenerationResult): void {
  const f = r.figures;
  if (f.tokensPerSecond !== null) side.tokPerS.push(f.tokensPerSecond);
  side.ms.push(f.ms);
  side.drafted += f.draftedTokens ?? 0;
  side.accepted += f.acceptedTokens ?? 0;
  side.generated += f.generatedTokens;
}

/** Runs one request on both hosts and records both answers. */
export async function runOnBoth(
  c: Comparison,
  on: HostProcess,
  off: HostProcess,
  run: (host: HostProcess) => Promise<GenerationResult>,
): Promise<void> {
  // Alternate which goes first, so neither side always meets a warmer cache.
  const first = c.total % 2 === 0;
  const a = first ? await run(on) : await run(off);
  const b = first ? await run(off) : await run(on);
  const [withIt, without] = first ? [a, b] : [b, a];
  add(c.on, withIt);
  add(c.off, without);
  c.total++;
  if (withIt.text === without.text && withIt.tokens === without.tokens) c.same++;
}

/** Medians and totals of each case. */
export function comparisonRows(cases: Record<string, Comparison>): ComparisonRow[] {
  return Object.entries(cases).map(([name, c]) => {
    const speedOn = median(c.on.tokPerS);
    const speedOff = median(c.off.tokPerS);
    return {
      case: name,
      tokPerSOn: round(speedOn, 1),
      tokPerSOff: round(speedOff, 1),
      speedup: round(speedOn / speedOff, 2),
      msOn: Math.round(median(c.on.ms)),
      msOff: Math.round(median(c.off.ms)),
      drafted: c.on.drafted,
      accepted: c.on.accepted,
      acceptedPercent: c.on.drafted ? Math.round((c.on.accepted * 100) / c.on.drafted) : 0,
      identicalAnswers: `${c.same}/${c.total}`,
    };
  });
}

/** The rows as a table whose columns name the two sides (`on` and `off`). */
export function printComparison(title: string, labels: { on: string; off: string }, rows: ComparisonRow[]): void {
  printTable(
    title,
    ['case', `tok/s ${labels.on}`, `tok/s ${labels.off}`, 'x', `ms ${labels.on}`, `ms ${labels.off}`, 'drafted', 'accepted', 'same'],
    rows.map((r) => [
      r.case,
      r.tokPerSOn,
      r.tokPerSOff,
      r.speedup,
      r.msOn,
      r.msOff,
      r.drafted,
      `${r.accepted} (${r.acceptedPercent}%)`,
      r.identicalAnswers,
    ]),
  );
}

/** One verdict per case: both sides must give the same answers. */
export const identicalVerdicts = (figurePrefix: string, rows: ComparisonRow[]): Verdict[] =>
  rows.map((r) => ({
    figure: `${figurePrefix} ${r.case} identical answers`,
    value: r.identicalAnswers,
    target: 'all',
    met: r.identicalAnswers.split('/')[0] === r.identicalAnswers.split('/')[1],
  }));
