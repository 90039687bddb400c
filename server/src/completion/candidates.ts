// Several suggestions to cycle with Show Next / Show Previous. The first is the greedy one every
// request computes, at its usual cost; the others are drawn from the same prompt with a
// temperature and a seed of their own, only when the user asks for them (an explicit request at
// the same place), and kept here so that cycling back and forth asks the model nothing. Pure.
import type { InfillSampling } from '../engine/types';
import { defaultCacheOptions } from './cache';
import { detach } from './detach';

export const candidateTuning = {
  /** Places whose candidates are kept; the least recently used go first. */
  maxEntries: 50,
  /** Draws allowed per candidate wanted beyond the first: a draw may repeat one already shown, or come out empty. */
  drawsPerCandidate: 2,
  /** The first draw's temperature; each further draw is a little warmer, so that a repeat is less likely. */
  temperature: 0.7,
  temperatureStep: 0.15,
  maxTemperature: 1.2,
} as const;

/** The sampling of the `draw`-th extra draw at a place (0-based): warmer with each, a seed of its own. */
export function samplingFor(draw: number): InfillSampling {
  const { temperature, temperatureStep, maxTemperature } = candidateTuning;
  return { temperature: Math.min(maxTemperature, temperature + draw * temperatureStep), seed: draw + 1 };
}

/** How many draws a place may take to reach `wanted` suggestions in all. */
export function maxDraws(wanted: number): number {
  return Math.max(0, wanted - 1) * candidateTuning.drawsPerCandidate;
}

/** Whether `text` shows the same as one of `texts`: trailing white space is not a different suggestion. */
export function isDuplicate(texts: readonly string[], text: string): boolean {
  const shown = text.trimEnd();
  return texts.some((t) => t.trimEnd() === shown);
}

/** `first`, then those of `others` that differ from it and from each other, in their order. */
export function withFirst(first: string, others: readonly string[]): string[] {
  const texts = [first];
  for (const text of others) if (!isDuplicate(texts, text)) texts.push(text);
  return texts;
}

/** The suggestions known at one place: the first, then the distinct others, and how many draws they took. */
export interface CandidateList {
  texts: string[];
  draws: number;
}

export interface CandidatePlace {
  uri: string;
  /** Text before the cursor (only its tail counts, as for the cache). */
  prefix: string;
  /** Text after the cursor (only its head counts). */
  suffix: string;
}

/** The candidates of recent places, by the same window of text the completion cache matches on. Its texts are copies (detach.ts). */
export class CandidateLists {
  /** Insertion order is recency order. */
  private readonly lists = new Map<string, { uri: string; list: CandidateList }>();

  constructor(private readonly maxEntries: number = candidateTuning.maxEntries) {}

  get(place: CandidatePlace): CandidateList | undefined {
    const id = idOf(place);
    const entry = this.lists.get(id);
    if (!entry) return undefined;
    this.lists.delete(id);
    this.lists.set(id, entry);
    return { texts: entry.list.texts.slice(), draws: entry.list.draws };
  }

  set(place: CandidatePlace, list: CandidateList): void {
    const id = detach(idOf(place));
    this.lists.delete(id);
    this.lists.set(id, { uri: detach(place.uri), list: { texts: list.texts.map(detach), draws: list.draws } });
    while (this.lists.size > this.maxEntries) {
      const oldest = this.lists.keys().next().value;
      if (oldest === undefined) break;
      this.lists.delete(oldest);
    }
  }

  forgetDocument(uri: string): void {
    for (const [id, entry] of this.lists) if (entry.uri === uri) this.lists.delete(id);
  }

  clear(): void {
    this.lists.clear();
  }

  get size(): number {
    return this.lists.size;
  }
}

function idOf(place: CandidatePlace): string {
  const { prefixTailChars, suffixHeadChars } = defaultCacheOptions;
  return `${place.uri}\0${place.prefix.slice(-prefixTailChars)}\0${place.suffix.slice(0, suffixHeadChars)}`;
}
