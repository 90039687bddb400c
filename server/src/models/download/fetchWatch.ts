// What the download worker checks in every answer node-llama-cpp's downloader (ipull) gets, before
// ipull sees it. ipull writes a part of the file where it believes the part belongs and never
// looks at what the server said about it, so the rule is kept here: no byte is written at an
// offset the server did not confirm. A 206 must start where it was asked to; a 200 is the file
// from its first byte, which is right only once per download: ipull answers a cut whole-file
// stream by asking again (no Range, when the server does not do ranges) and writing the new
// stream, from byte 0, where the cut one stopped. It also notes every plain-http host the
// downloader lands on after redirects, which the user must be asked about first.
import type { FailureReason } from './messages';
import { needsInsecureConfirmation } from '../../shared/insecureUrl';

export type Verdict = { ok: true } | { ok: false; reason: FailureReason; message: string };

const fine: Verdict = { ok: true };

/** The first offset of a Content-Range header (`bytes 100-199/1000`), or null. */
function contentRangeStart(header: string | null): number | null {
  const m = /^bytes\s+(\d+)-\d+\/(?:\d+|\*)$/i.exec(header?.trim() ?? '');
  return m ? Number(m[1]) : null;
}

export interface Answer {
  status: number;
  /** The final URL, after redirects. */
  url: string;
  headers: { get(name: string): string | null };
}

export class FetchWatch {
  /** Final URLs whose whole-file answer (a 200 to a request without Range) has been read. */
  private readonly wholeRead = new Set<string>();
  private readonly plainHttp: string[] = [];
  private confirmed: Set<string> | null = null;

  /** Plain-http hosts (off this machine) the downloader has landed on so far. */
  get plainHttpHosts(): readonly string[] {
    return this.plainHttp;
  }

  /** From now on the user has confirmed the hosts seen so far; a new plain-http host ends the download. */
  confirmPlainHttp(extra: readonly string[]): void {
    this.confirmed = new Set([...this.plainHttp, ...extra]);
  }

  /** Checks an answer to a request whose Range header starts at `rangeFrom` (null: no Range). */
  answer(rangeFrom: number | null, res: Answer): Verdict {
    const url = safeUrl(res.url);
    if (url && needsInsecureConfirmation(url)) {
      if (!this.plainHttp.includes(url.host)) this.plainHttp.push(url.host);
      if (this.confirmed && !this.confirmed.has(url.host)) {
        return {
          ok: false,
          reason: { kind: 'plainHttpHop', host: url.host },
          message: `The download was redirected to plain http at ${url.host} after the user had confirmed it`,
        };
      }
    }
    const host = url?.host ?? res.url;
    if (res.status === 200 && rangeFrom !== null && rangeFrom > 0) {
      return {
        ok: false,
        reason: { kind: 'rangeIgnored', host },
        message: `HTTP 200 instead of 206 (partial content) to a request for bytes ${rangeFrom}- of ${res.url}`,
      };
    }
    if (res.status === 206) {
      const start = contentRangeStart(res.headers.get('content-range'));
      if (start !== (rangeFrom ?? 0)) {
        return {
          ok: false,
          reason: { kind: 'rangeIgnored', host },
          message: `HTTP 206 with Content-Range "${res.headers.get('content-range') ?? ''}" to a request for bytes ${rangeFrom ?? 0}- of ${res.url}`,
        };
      }
    }
    return fine;
  }

  /**
   * The downloader starts reading a whole-file answer from `url`. The first is written from byte
   * 0; a second one in the same download would be written where a cut stream stopped.
   */
  readWhole(url: string): Verdict {
    if (this.wholeRead.has(url)) {
      return {
        ok: false,
        reason: { kind: 'cutWithoutRanges', host: safeUrl(url)?.host ?? url },
        message: `A second whole-file answer from ${url} after a cut stream, which the downloader would write after the part already on disk`,
      };
    }
    this.wholeRead.add(url);
    return fine;
  }
}

function safeUrl(text: string): URL | null {
  try {
    return new URL(text);
  } catch {
    return null;
  }
}
