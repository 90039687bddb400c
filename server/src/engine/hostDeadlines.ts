// How long the local model host may take to answer each request before it counts as hung. The
// host's handle (local/hostProcess.ts) enforces them; the driver bounds the gate's steps by them.

export interface HostDeadlines {
  /** The first answer of a new host, which waits for node-llama-cpp's import. */
  startMs: number;
  /** host/stats: a cheap read the host answers even while it generates. */
  statsMs: number;
  /** host/load: the file check, llama.cpp's load and the context. */
  loadMs: number;
  /** host/unload: waits for a generation still running, then frees the model. */
  unloadMs: number;
  /** A generation may take this much, plus perTokenMs for each token it may write. */
  generationMs: number;
  perTokenMs: number;
  /** A cancelled generation waits this long for the host's own answer (the text so far), then answers itself. */
  cancelGraceMs: number;
  /**
   * While a load, a generation or an unload is pending, the host is pinged this often (each
   * ping with the stats deadline): its event loop answers within milliseconds even while native
   * code loads or generates, so a stopped or stuck host is found long before the request's own
   * deadline.
   */
  heartbeatMs: number;
}

export const defaultHostDeadlines: HostDeadlines = {
  startMs: 60_000,
  statsMs: 10_000,
  loadMs: 10 * 60_000,
  unloadMs: 60_000,
  generationMs: 60_000,
  perTokenMs: 1000,
  cancelGraceMs: 250,
  heartbeatMs: 5000,
};
