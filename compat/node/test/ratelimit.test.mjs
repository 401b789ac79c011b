// ak's limit on failed authentications, as @descope/node-sdk sees it: past the per-IP burst a
// 429 whose error body is Descope's and whose Retry-After header core-js-sdk copies into
// `error.retryAfter`.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../harness.mjs';

const BURST = 3;
let server;
before(async () => {
  server = await startServer('ratelimit', { serveArgs: ['--auth-failure-burst', `${BURST}`, '--auth-failures-per-second', '1'] });
});
after(async () => server?.stop());

test('failed exchanges past the burst get a 429 with Retry-After', async () => {
  const descope = server.client({ managementKey: undefined });
  const codes = [];
  let limited;
  for (let i = 0; i < BURST + 3; i += 1) {
    const response = await descope.accessKey.exchange('not-a-key');
    assert.equal(response.ok, false);
    codes.push(response.code);
    if (response.code === 429 && !limited) limited = response.error;
  }
  assert.equal(codes[0], 401);
  assert.ok(limited, `no 429 after ${codes.length} failed exchanges with a burst of ${BURST}: ${codes}`);
  assert.equal(limited.errorCode, 'E130429');
  assert.equal(limited.errorMessage, 'API rate limit exceeded.');
  assert.ok(limited.retryAfter >= 1, `retryAfter ${limited.retryAfter}`);
});
