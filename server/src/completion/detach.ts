// Fresh copies of the pieces of a document kept after a request. V8 makes a slice of a string a
// view of the whole string, so one 2 KB prompt window kept in a cache or for the next prefill
// would hold a whole 20 MB document alive, and every older version of it, even after it closed.
import type { InfillParams } from '../engine/types';

/** A copy of `text` that shares no memory with the string it was cut from. */
export function detach(text: string): string {
  return Buffer.from(text, 'utf16le').toString('utf16le');
}

/** `params` with every text cut from the document copied. */
export function detachParams<T extends Pick<InfillParams, 'prefix' | 'middle' | 'suffix' | 'stopTexts'>>(params: T): T {
  return {
    ...params,
    prefix: detach(params.prefix),
    middle: detach(params.middle),
    suffix: detach(params.suffix),
    stopTexts: params.stopTexts.map(detach),
  };
}
