// What every window sees of the shared model, as the load (sharedLoad.ts) and the sleep
// (hostSleep.ts) change it; the shared host adds its clients and the idle time to make the
// SharedHostState it sends.
import type { SharedHostState } from './protocol';
import type { LoadParams, LoadResult } from '../engine/types';

export interface ModelStatus {
  state: SharedHostState['state'];
  byUser: boolean;
  deep: boolean;
  loads: number;
  /** RSS just before the first load, for every window's status (SharedHostState). */
  baselineRssBytes: number | null;
  sleepRssBytes: SharedHostState['sleepRssBytes'];
  /** The model as loaded; null while none is. */
  loaded: LoadResult | null;
  /** The last load's settings: a request that finds the model asleep wakes it with these. */
  lastParams: LoadParams | null;
}

export function emptyModelStatus(): ModelStatus {
  return {
    state: 'empty',
    byUser: false,
    deep: false,
    loads: 0,
    baselineRssBytes: null,
    sleepRssBytes: null,
    loaded: null,
    lastParams: null,
  };
}
