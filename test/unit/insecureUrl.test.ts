// Which model URLs need the plain-http confirmation: http that leaves this machine, and only that.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isLoopbackHost, needsInsecureConfirmation } from '../../server/src/shared/insecureUrl';

describe('needsInsecureConfirmation', () => {
  it('asks for plain http to another machine, however its host is spelled', () => {
    for (const url of [
      'http://example.com/model.gguf',
      'HTTP://Example.COM/model.gguf',
      'http://192.168.1.20:8080/model.gguf',
      'http://10.0.0.1/model.gguf',
      'http://128.0.0.1/model.gguf',
      'http://126.255.255.255/model.gguf',
      'http://0.0.0.0/model.gguf',
      'http://[fd00::2]/model.gguf',
      'http://[::ffff:10.0.0.1]/model.gguf',
      // Names that merely look local still go through DNS.
      'http://127.0.0.1.nip.io/model.gguf',
      'http://localhost.example.com/model.gguf',
      'http://mylocalhost/model.gguf',
      ' http://example.com/model.gguf ',
    ]) {
      assert.equal(needsInsecureConfirmation(url), true, url);
    }
  });

  it('does not ask for loopback http: 127.0.0.0/8, ::1 and localhost, in every spelling', () => {
    for (const url of [
      'http://127.0.0.1:8080/model.gguf',
      'http://127.255.255.254/model.gguf',
      'http://127.1/model.gguf',
      'http://0x7f000001/model.gguf',
      'http://2130706433/model.gguf',
      'http://[::1]:9000/model.gguf',
      'http://[0:0:0:0:0:0:0:1]/model.gguf',
      'http://[::ffff:127.0.0.1]/model.gguf',
      'http://localhost/model.gguf',
      'http://LocalHost:3000/model.gguf',
    ]) {
      assert.equal(needsInsecureConfirmation(url), false, url);
    }
  });

  it('does not ask for https or for what is not an http URL', () => {
    for (const url of [
      'https://example.com/model.gguf',
      'https://10.0.0.1/model.gguf',
      'file:///models/a.gguf',
      'hf:user/repo/a.gguf',
      'not a url',
      '',
    ]) {
      assert.equal(needsInsecureConfirmation(url), false, url);
    }
  });

  it('takes URL objects as well as strings', () => {
    assert.equal(needsInsecureConfirmation(new URL('http://example.com/')), true);
    assert.equal(needsInsecureConfirmation(new URL('http://127.0.0.1:1/')), false);
  });
});

describe('isLoopbackHost', () => {
  it('knows loopback hosts with and without IPv6 brackets', () => {
    assert.equal(isLoopbackHost('::1'), true);
    assert.equal(isLoopbackHost('[::1]'), true);
    assert.equal(isLoopbackHost('127.0.0.1'), true);
    assert.equal(isLoopbackHost('LOCALHOST'), true);
    assert.equal(isLoopbackHost('192.0.2.2'), false);
    assert.equal(isLoopbackHost('::'), false);
    assert.equal(isLoopbackHost(''), false);
  });
});
