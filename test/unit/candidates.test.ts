// The pure part of several candidates: how draws are sampled, what counts as a repeat, and the
// bounded store of each place's list.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CandidateLists, candidateTuning, isDuplicate, maxDraws, samplingFor, withFirst } from '../../server/src/completion/candidates';

const place = (uri: string, prefix = 'const x = ', suffix = ';\n') => ({ uri, prefix, suffix });

describe('candidates', () => {
  it('each draw has a seed of its own and a temperature that rises to a bound', () => {
    const draws = Array.from({ length: 12 }, (_, i) => samplingFor(i));
    assert.equal(new Set(draws.map((d) => d.seed)).size, draws.length);
    for (let i = 1; i < draws.length; i++) assert.ok(draws[i]!.temperature >= draws[i - 1]!.temperature);
    assert.ok(draws.every((d) => d.temperature > 0 && d.temperature <= candidateTuning.maxTemperature));
    assert.equal(draws[0]!.temperature, candidateTuning.temperature);
  });

  it('draws are bounded by the candidates wanted beyond the first', () => {
    assert.equal(maxDraws(1), 0);
    assert.equal(maxDraws(3), 2 * candidateTuning.drawsPerCandidate);
    assert.equal(maxDraws(0), 0);
  });

  it('trailing white space does not make a different suggestion; anything else does', () => {
    assert.ok(isDuplicate(['foo(a)'], 'foo(a)  \n'));
    assert.ok(!isDuplicate(['foo(a)'], ' foo(a)'));
    assert.ok(!isDuplicate([], 'x'));
    assert.deepEqual(withFirst('a', ['b', 'a ', 'b\n', 'c']), ['a', 'b', 'c']);
  });

  it('keeps each place apart, forgets a closed document and drops the least recently used', () => {
    const lists = new CandidateLists(2);
    lists.set(place('file:///a'), { texts: ['1', '2'], draws: 1 });
    lists.set(place('file:///b'), { texts: ['3'], draws: 0 });
    assert.deepEqual(lists.get(place('file:///a')), { texts: ['1', '2'], draws: 1 });
    assert.equal(lists.get(place('file:///a', 'const y = ')), undefined);
    // a was used last: c pushes b out.
    lists.set(place('file:///c'), { texts: ['4'], draws: 0 });
    assert.equal(lists.get(place('file:///b')), undefined);
    assert.equal(lists.size, 2);
    lists.forgetDocument('file:///a');
    assert.equal(lists.get(place('file:///a')), undefined);
    assert.equal(lists.size, 1);
    // What get answers is a copy: changing it changes nothing kept.
    lists.get(place('file:///c'))!.texts.push('5');
    assert.deepEqual(lists.get(place('file:///c'))!.texts, ['4']);
  });

  it('matches a place by the tail of its prefix and the head of its suffix, as the cache does', () => {
    const lists = new CandidateLists();
    const long = 'x'.repeat(5000);
    lists.set(place('file:///a', `${long}tail`, 'head'), { texts: ['1'], draws: 0 });
    assert.ok(lists.get(place('file:///a', `y${long}tail`, 'head')));
    assert.equal(lists.get(place('file:///a', `${long}tail`, 'other')), undefined);
  });
});
