// Where the real-VS-Code harness keeps things: the repo, the download cache, the screenshots.
import * as path from 'node:path';

export const repoRoot = path.resolve(__dirname, '..', '..');

/** Downloads that must survive between runs but stay out of the project's dependencies. */
export const cacheRoot = process.env.LOCAL_LLM_CACHE ? path.resolve(process.env.LOCAL_LLM_CACHE) : path.join(repoRoot, '.cache');

/** Screenshots and logs of UI runs (gitignored). */
export const resultsDir = path.join(repoRoot, 'test-results');

export const codeServerVersion = '4.100.3';
