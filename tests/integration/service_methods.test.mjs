// service_methods.test.mjs -- the service endpoints answer only the methods they serve: anything but GET and
// HEAD gets a 405 with an Allow header and a JSON error, and changes nothing.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, startApi, request, redisDump, cleanup } from './harness.mjs';

after(cleanup);

describe('methods on /healthz, /readyz, /metrics and /plain', { timeout: 20000 }, () => {
  let rds;
  let api;

  before(async () => {
    rds = await startRedis();
    api = await startApi({ redisPort: rds.port });
  });

  for (const path of ['/healthz', '/readyz', '/metrics', '/plain']) {
    it(`${path}: GET and HEAD answer 200`, async () => {
      assert.equal((await request(api.port, 'GET', path)).status, 200);
      assert.equal((await request(api.port, 'HEAD', path)).status, 200);
    });

    for (const method of ['POST', 'PUT', 'DELETE']) {
      it(`${path}: ${method} answers 405 naming GET, HEAD, and changes nothing`, async () => {
        const before_ = await redisDump(rds.port);
        const r = await request(api.port, method, path, { body: method === 'DELETE' ? undefined : 'x' });
        assert.equal(r.status, 405);
        assert.equal(r.headers.allow, 'GET, HEAD');
        assert.equal(typeof r.json().error, 'string');
        assert.deepEqual(await redisDump(rds.port), before_);
      });
    }
  }
});
