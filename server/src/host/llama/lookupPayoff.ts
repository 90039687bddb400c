// Whether prompt-lookup drafts pay on one sequence: a refused draft costs its place in a decode
// batch, so once recent requests accepted few of the tokens drafted, drafting stops.

/** Requests that drafted something, judged together. */
export const payoffWindow = 8;
/** Below this share of drafted tokens accepted over the window, drafting stops. */
export const minAcceptance = 0.3;

export interface PayoffVerdict {
  /** True once drafting should stop (it stays stopped). */
  off: boolean;
  drafted: number;
  accepted: number;
}

/** "the last 8 <requests> accepted A of D drafted tokens (P%, under 30%)": why drafting stopped. */
export function payoffSentence(verdict: PayoffVerdict, requests: string): string {
  const share = Math.round((verdict.accepted * 100) / verdict.drafted);
  return `the last ${payoffWindow} ${requests} accepted ${verdict.accepted} of ${verdict.drafted} drafted tokens (${share}%, under ${Math.round(minAcceptance * 100)}%)`;
}

export class LookupPayoff {
  private readonly recent: Array<{ drafted: number; accepted: number }> = [];
  private stopped = false;

  /** Records one request's drafts; the verdict says off (once) when the window accepted too little. */
  record(drafted: number, accepted: number): PayoffVerdict {
    if (this.stopped || drafted <= 0) return { off: false, drafted: 0, accepted: 0 };
    this.recent.push({ drafted, accepted });
    if (this.recent.length > payoffWindow) this.recent.shift();
    const sum = this.recent.reduce((s, r) => ({ drafted: s.drafted + r.drafted, accepted: s.accepted + r.accepted }), {
      drafted: 0,
      accepted: 0,
    });
    if (this.recent.length < payoffWindow || sum.accepted >= sum.drafted * minAcceptance) return { off: false, ...sum };
    this.stopped = true;
    return { off: true, ...sum };
  }

  get isOff(): boolean {
    return this.stopped;
  }
}
