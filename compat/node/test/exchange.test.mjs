// Exchange, session validation and the authorization helpers of @descope/node-sdk.
//
// exchangeAccessKey posts `{loginOptions}` with `Bearer <projectId>:<key>` (core-js-sdk
// accessKey.exchange), then validates sessionJwt with jose: it imports EVERY key of
// `GET /v2/keys/<projectId>` (one it cannot import breaks all validation), verifies with a 5 s
// clock tolerance, and requires `iss` to be the project id or a URL ending in it. It returns
// `{jwt, token}`; a refusal throws "could not exchange access key - <errorMessage>".

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, ok, tag } from '../harness.mjs';

let server;
let descope;
let mgmt;

before(async () => {
  server = await startServer('exchange');
  descope = server.client();
  mgmt = descope.management.accessKey;
});
after(async () => server?.stop());

async function refused(accessKey, code = 401) {
  const response = await descope.accessKey.exchange(accessKey);
  assert.equal(response.ok, false);
  assert.equal(response.code, code, JSON.stringify(response.error));
  assert.ok(typeof response.error?.errorCode === 'string' && response.error.errorCode.length > 0);
  await assert.rejects(descope.exchangeAccessKey(accessKey), /could not exchange access key/);
  return response.error;
}

test('every JWK is one the SDK imports (alg EdDSA, kid)', async () => {
  const response = await fetch(`${server.url}/v2/keys/${server.projectId}`);
  assert.equal(response.status, 200);
  const { keys } = await response.json();
  assert.ok(keys.length >= 1);
  for (const jwk of keys) {
    assert.equal(jwk.alg, 'EdDSA');
    assert.equal(typeof jwk.kid, 'string');
  }
});

test('exchange with custom claims and a selected tenant', async () => {
  const t = tag();
  const t1 = `T-x1-${t}`;
  const t2 = `T-x2-${t}`;
  const { key, cleartext } = ok(await mgmt.create(`exchange ${t}`, 0, undefined,
    [{ tenantId: t1, roleNames: ['admin'] }, { tenantId: t2, roleNames: ['viewer'] }],
    undefined, { k1: 'v1', plan: { tier: 2 } }));
  const info = await descope.exchangeAccessKey(cleartext, { customClaims: { 'nsec-k1': 'nsec-v1' }, selectedTenant: t1 });
  assert.equal(info.token.sub, key.id);
  assert.equal(info.token.iss, server.projectId);
  assert.equal(info.token.k1, 'v1');
  assert.deepEqual(info.token.plan, { tier: 2 });
  assert.deepEqual(info.token.nsec, { 'nsec-k1': 'nsec-v1' });
  assert.equal(info.token.dct, t1);
  assert.ok(info.token.exp > Date.now() / 1000);
  assert.deepEqual(Object.keys(info.token.tenants).sort(), [t1, t2].sort());

  assert.ok(descope.validateTenantRoles(info, t1, ['admin']));
  assert.ok(!descope.validateTenantRoles(info, t1, ['viewer']));
  assert.ok(descope.validateTenantRoles(info, t2, ['viewer']));
  assert.ok(!descope.validateTenantRoles(info, `T-other-${t}`, []));
  assert.deepEqual(descope.getMatchedTenantRoles(info, t1, ['admin', 'viewer']), ['admin']);
  // Permissions come from the server's role catalog (compat/roles.json).
  assert.ok(descope.validateTenantPermissions(info, t1, ['tenant:manage', 'tenant:read']));
  assert.ok(descope.validateTenantPermissions(info, t2, ['tenant:read']));
  assert.ok(!descope.validateTenantPermissions(info, t2, ['tenant:manage']));
  assert.ok(!descope.validateTenantPermissions(info, `T-other-${t}`, []));
  assert.deepEqual(descope.getMatchedTenantPermissions(info, t2, ['tenant:manage', 'tenant:read']), ['tenant:read']);
  assert.ok(!descope.validatePermissions(info, ['tenant:read']));

  // The lower-level call answers Descope's exchange body.
  const raw = ok(await descope.accessKey.exchange(cleartext));
  assert.equal(raw.keyId, key.id);
  assert.equal(typeof raw.sessionJwt, 'string');
  assert.ok(Number.isInteger(raw.expiration) && raw.expiration > Date.now() / 1000);
});

test('validateSession and project roles', async () => {
  const t = tag();
  const { key, cleartext } = ok(await mgmt.create(`validate ${t}`, 0, ['deployer', 'reader']));
  const { jwt } = await descope.exchangeAccessKey(cleartext);
  // A second client (cold key cache) validates the token from the JWKS alone.
  const verifier = server.client({ managementKey: undefined });
  const session = await verifier.validateSession(jwt);
  assert.equal(session.token.sub, key.id);
  assert.deepEqual(session.token.roles, ['deployer', 'reader']);
  assert.ok(verifier.validateRoles(session, ['deployer']));
  assert.ok(verifier.validateRoles(session, ['deployer', 'reader']));
  assert.ok(!verifier.validateRoles(session, ['deployer', 'admin']));
  assert.deepEqual(verifier.getMatchedRoles(session, ['admin', 'reader']), ['reader']);
  // deployer -> deploy, read; reader -> read (compat/roles.json).
  assert.ok(verifier.validatePermissions(session, ['deploy']));
  assert.ok(verifier.validatePermissions(session, ['deploy', 'read']));
  assert.ok(!verifier.validatePermissions(session, ['deploy', 'delete']));
  assert.deepEqual(verifier.getMatchedPermissions(session, ['delete', 'read']), ['read']);
  const reader = ok(await mgmt.create(`reader ${t}`, 0, ['reader']));
  const readerInfo = await descope.exchangeAccessKey(reader.cleartext);
  assert.ok(descope.validatePermissions(readerInfo, ['read']));
  assert.ok(!descope.validatePermissions(readerInfo, ['deploy']));

  const [header, payload, signature] = jwt.split('.');
  const flipped = signature.slice(0, 5) + (signature[5] === 'A' ? 'B' : 'A') + signature.slice(6);
  await assert.rejects(verifier.validateSession(`${header}.${payload}.${flipped}`), /session validation failed/);
});

test('an unknown role is refused (400), project or tenant', async () => {
  const t = tag();
  const project = await mgmt.create(`unknown role ${t}`, 0, ['no-such-role']);
  assert.equal(project.ok, false);
  assert.equal(project.code, 400);
  const tenant = await mgmt.create(`unknown tenant role ${t}`, 0, undefined, [{ tenantId: `T-${t}`, roleNames: ['no-such-role'] }]);
  assert.equal(tenant.ok, false);
  assert.equal(tenant.code, 400);
});

test('a token for another project id is refused by the SDK', async () => {
  const t = tag();
  const { cleartext } = ok(await mgmt.create(`pid ${t}`, 0));
  const { jwt } = await descope.exchangeAccessKey(cleartext);
  const other = server.client({ managementKey: undefined, projectId: 'P2someOtherProject0000000000' });
  await assert.rejects(other.validateSession(jwt), /session validation failed/);
});

test('deactivated, wrong, unknown and malformed keys are refused alike', async () => {
  const t = tag();
  const { key, cleartext } = ok(await mgmt.create(`wrong ${t}`, 0));
  const wrongSecret = cleartext.slice(0, -8) + (cleartext.at(-8) === 'a' ? 'b' : 'a') + cleartext.slice(-7);
  const errors = [
    await refused(wrongSecret),
    await refused(`ak_nosuchkey_${'x'.repeat(40)}`),
    await refused('not-a-key'),
  ];
  assert.deepEqual(errors[0], errors[1]);
  assert.deepEqual(errors[1], errors[2]);
  await refused(server.management.cleartext);
  ok(await mgmt.deactivate(key.id));
  await refused(cleartext);
});

test('permitted IPs are enforced', async () => {
  const t = tag();
  const allowed = ok(await mgmt.create(`ip ok ${t}`, 0, undefined, undefined, undefined, undefined, undefined, ['127.0.0.1']));
  assert.equal((await descope.exchangeAccessKey(allowed.cleartext)).token.sub, allowed.key.id);
  const denied = ok(await mgmt.create(`ip denied ${t}`, 0, undefined, undefined, undefined, undefined, undefined, ['10.9.8.7']));
  // issue 14: "403 (read-only management key, IP not permitted)".
  await refused(denied.cleartext, 403);
});

test('an expired key is refused', async () => {
  const t = tag();
  const expire = Math.floor(Date.now() / 1000) + 2;
  const { cleartext } = ok(await mgmt.create(`expiring ${t}`, expire));
  const { token } = await descope.exchangeAccessKey(cleartext);
  assert.ok(token.exp <= expire, `the session (exp ${token.exp}) outlives its key (${expire})`);
  while (Date.now() / 1000 < expire + 1) await new Promise((r) => setTimeout(r, 200));
  await refused(cleartext);
});

test('an auth management key on the exchange is ignored', async () => {
  // With authManagementKey the SDK sends Bearer <pid>:<accessKey>:<authManagementKey>.
  const t = tag();
  const { key, cleartext } = ok(await mgmt.create(`auth mgmt ${t}`, 0));
  const client = server.client({ managementKey: undefined, authManagementKey: 'some-auth-management-key' });
  assert.equal((await client.exchangeAccessKey(cleartext)).token.sub, key.id);
});
