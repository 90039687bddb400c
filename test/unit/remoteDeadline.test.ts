// The model-server engine against a stand-in llama-server (test/fixtures/fakeLlamaServer.ts), on a
// fake clock for its deadlines: a request to a server that stopped answering ends at its deadline
// plus one short look at the server's sleep (never a second deadline), the first answer after a
// restart shows the server awake again, and a completion cut at its line limit keeps the figures
// the server sent. Time is only ever moved by the test; no timing is asserted.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RemoteEngine, sleepLookMs } from '../../server/src/engine/http/remoteEngine';
import type { InfillParams } from '../../server/src/engine/types';
import { infillEventsOf, startFakeLlamaServer, type FakeLlamaServer } from '../fixtures/fakeLlamaServer';
import { FakeClock } from './fakeClock';
import { remoteEngineFor, remoteInfill, remoteLoad } from './remoteEngineFor';

const timeoutMs = 3000;
const infillParams: InfillParams = { ...remoteInfill, maxLines: 2, stopTexts: [] };

function engineFor(url: string, clock?: FakeClock): RemoteEngine {
  // No status poll during these tests: what they check comes from requests alone.
  return remoteEngineFor(url, { settings: { remote: { timeoutMs } }, apiKey: null, pollMs: 600_000, clock }).engine;
}

/** The promise's outcome, or a failure naming `what` if it never settles (a guard, not a timing). */
function outcome<T>(promise: Promise<T>, what: string): Promise<T | Error> {
  let guard: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_resolve, reject) => {
    guard = setTimeout(() => reject(new Error(`${what} never ended`)), 30_000);
  });
  return Promise.race([
    promise.then(
      (v) => v,
      (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
    ),
    hung,
  ]).finally(() => clearTimeout(guard));
}

describe('the model-server engine', () => {
  let server: FakeLlamaServer;
  before(async () => (server = await startFakeLlamaServer()));
  after(() => server.close());

  it('ends a request to a stopped server at its deadline plus one short look at its sleep, not after a second deadline', async () => {
    const clock = new FakeClock();
    const engine = engineFor(server.url, clock);
    try {
      await engine.load(remoteLoad);
      const propsBefore = server.requests.filter((r) => r.path === '/props').length;
      server.setStopped(true);
      const infillsBefore = server.requests.filter((r) => r.path === '/infill').length;
      const request = outcome(engine.infill(infillParams), 'the request to the stopped server');
      await server.seen('/infill', infillsBefore + 1);
      // The deadline passes with no answer: the engine looks once whether the server is waking.
      await clock.advance(timeoutMs);
      await server.seen('/props', propsBefore + 1);
      // The look gets no answer either. Time goes no further than this, far short of a second deadline.
      assert.ok(sleepLookMs(timeoutMs) < timeoutMs);
      await clock.advance(sleepLookMs(timeoutMs));
      const ended = await request;
      assert.ok(ended instanceof Error, 'the request failed');
      assert.match(ended.message, /did not answer within 3 s\.$/);
      assert.equal(server.requests.filter((r) => r.path === '/props').length, propsBefore + 1, 'one look after the deadline');
      assert.equal(engine.remote().server, null, 'a server that cannot be asked has no known state');
      assert.equal(clock.pending, 0, 'no deadline is left running');
    } finally {
      server.setStopped(false);
      await engine.kill();
    }
  });

  it('shows the server awake on the first answer after a restart, without waiting for a status poll', async () => {
    const engine = engineFor(server.url);
    try {
      await engine.load(remoteLoad);
      assert.equal(engine.remote().server, 'awake');
      await server.down();
      await assert.rejects(engine.infill(infillParams), /refused the connection/);
      assert.equal(engine.remote().server, null);
      await server.up();
      await engine.infill(infillParams);
      assert.equal(engine.remote().server, 'awake');
      assert.equal(engine.remote().error, null);
    } finally {
      await engine.kill();
    }
  });

  it('keeps the server’s figures for a completion cut at its line limit, from the events read before the cut', async () => {
    const engine = engineFor(server.url);
    try {
      await engine.load(remoteLoad);
      server.infillEvents = infillEventsOf(['one\n', 'two\n', 'three\n', 'four'], 42);
      const result = await engine.infill(infillParams);
      assert.equal(result.text, 'one\ntwo');
      assert.equal(result.stopReason, 'maxLines');
      assert.equal(result.figures.promptTokens, 42, 'the prompt tokens the server reported');
      assert.equal(result.figures.evaluatedTokens, 42);
      assert.equal(result.figures.generatedTokens, 2, 'the tokens generated up to the cut');
      const sent = server.requests.filter((r) => r.path === '/infill').at(-1)?.body as Record<string, unknown>;
      assert.equal(sent.timings_per_token, true, 'asked for the figures in every event');
    } finally {
      server.infillEvents = infillEventsOf(['a', ' + b'], 12);
      await engine.kill();
    }
  });
});
