import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connectionFromUrl } from '../../src/bullmq/index.ts';

describe('connectionFromUrl', () => {
  it('maps host, port, ACL user, password and database', () => {
    assert.deepEqual(connectionFromUrl('redis://app:s%40cret@cache.internal:6380/2'), {
      host: 'cache.internal',
      port: 6380,
      username: 'app',
      password: 's@cret',
      db: 2,
    });
  });

  it('defaults the port to 6379 and takes a password without a user', () => {
    assert.deepEqual(connectionFromUrl(new URL('redis://:pw@localhost')), {
      host: 'localhost',
      port: 6379,
      password: 'pw',
    });
  });

  it('turns on TLS for rediss:', () => {
    assert.deepEqual(connectionFromUrl('rediss://redis.example.com'), {
      host: 'redis.example.com',
      port: 6379,
      tls: { servername: 'redis.example.com' },
    });
  });

  it('reads IPv6 hosts and the family and name parameters', () => {
    assert.deepEqual(connectionFromUrl('redis://[::1]:7000?family=6&name=worker'), {
      host: '::1',
      port: 7000,
      family: 6,
      connectionName: 'worker',
    });
  });

  it('throws a TypeError naming what is wrong', () => {
    assert.throws(() => connectionFromUrl('http://x'), /redis: or rediss:, got "http:"/);
    assert.throws(() => connectionFromUrl('not a url'), /got "not a url"/);
    assert.throws(() => connectionFromUrl('redis://x/abc'), /database .* "abc"/);
    assert.throws(() => connectionFromUrl('redis://x?timeout=1'), /unknown parameter "timeout"/);
  });
});
