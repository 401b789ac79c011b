// Every access-key management call of @descope/node-sdk against `ak serve`.
//
// What the SDK sends (dist/index.esm.js, the accessKey module): create/update/search post their
// arguments as one object, so undefined ones are simply absent (`{}` for a search with no
// arguments); load sends `?id=`; the answers are unwrapped (`data.key`, `data.keys`). A failed
// call does not throw: it resolves to `{ok: false, code, error}` with the parsed error body, and
// core-js-sdk parses every response body as JSON, errors included.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, ok, tag } from '../harness.mjs';

let server;
let mgmt;
let descope;

before(async () => {
  server = await startServer('management');
  descope = server.client();
  mgmt = descope.management.accessKey;
});
after(async () => server?.stop());

function failed(response, code) {
  assert.equal(response.ok, false, `expected a ${code}, got ok: ${JSON.stringify(response.data)}`);
  assert.equal(response.code, code, JSON.stringify(response.error));
  assert.equal(typeof response.error?.errorCode, 'string');
  assert.ok(response.error.errorCode.length > 0, 'errorCode must never be empty');
  return response.error;
}

async function create(...args) {
  const created = ok(await mgmt.create(...args));
  assert.equal(typeof created.cleartext, 'string');
  assert.ok(!created.cleartext.includes(':'), "a cleartext with ':' breaks the Bearer header");
  return created;
}

test('create with every field', async () => {
  const t = tag();
  const now = Math.floor(Date.now() / 1000);
  const expire = now + 7 * 24 * 3600;
  const { key, cleartext } = await create(
    `every field ${t}`,
    expire,
    undefined,
    [{ tenantId: `T-a-${t}`, roleNames: ['admin', 'viewer'] }, { tenantId: `T-b-${t}`, roleNames: [] }],
    `U2user${t}`,
    { plan: 'gold', limits: { rpm: 60 } },
    'made by the compat suite',
    ['127.0.0.1', '10.0.0.0/8'],
    { team: 'infra', tier: 3 },
  );
  assert.equal(key.name, `every field ${t}`);
  assert.equal(key.expireTime, expire);
  assert.equal(key.status, 'active');
  assert.ok(Number.isInteger(key.createdTime) && Math.abs(key.createdTime - now) <= 60);
  const tenants = Object.fromEntries(key.keyTenants.map((x) => [x.tenantId, x]));
  assert.deepEqual(Object.keys(tenants).sort(), [`T-a-${t}`, `T-b-${t}`]);
  assert.deepEqual(tenants[`T-a-${t}`].roleNames, ['admin', 'viewer']);
  assert.deepEqual(tenants[`T-b-${t}`].roleNames ?? [], []);
  assert.equal(key.boundUserId, `U2user${t}`);
  assert.deepEqual(key.customClaims, { plan: 'gold', limits: { rpm: 60 } });
  assert.equal(key.description, 'made by the compat suite');
  assert.deepEqual(key.permittedIps, ['127.0.0.1', '10.0.0.0/8']);
  assert.deepEqual(key.customAttributes, { team: 'infra', tier: 3 });
  assert.equal(typeof key.createdBy, 'string');
  // The key works as made: 127.0.0.1 is permitted, the user binding needs no user directory.
  const { token } = await descope.exchangeAccessKey(cleartext);
  assert.equal(token.sub, key.id);
  assert.equal(token.plan, 'gold');
  assert.deepEqual(token.tenants[`T-a-${t}`].roles, ['admin', 'viewer']);
  assert.ok(token.tenants[`T-b-${t}`]);
  assert.ok(token.exp <= expire);
});

test('create with only a name and roles (the SDK omits the rest)', async () => {
  const t = tag();
  const { key } = await create(`roles ${t}`, 0, ['deployer']);
  assert.deepEqual(key.roleNames, ['deployer']);
  assert.equal(key.expireTime, 0);
  assert.equal(key.status, 'active');
  // Node passes keyTenants through as given: null must mean "none".
  const nullTenants = (await create(`null tenants ${t}`, 0, undefined, null)).key;
  assert.deepEqual(nullTenants.keyTenants ?? [], []);
});

test('create refuses an empty name with a 400', async () => {
  failed(await mgmt.create('', 0), 400);
});

test('load returns what create returned; an unknown id is a 404', async () => {
  const t = tag();
  const created = await create(`load ${t}`, 0, ['reader'], undefined, undefined, { k: 'v' }, 'd');
  assert.deepEqual(ok(await mgmt.load(created.key.id)), created.key);
  failed(await mgmt.load('K-no-such-key'), 404);
});

test('searchAll with no arguments and with each filter', async () => {
  const t = tag();
  const t1 = `T-s1-${t}`;
  const t2 = `T-s2-${t}`;
  const inT1 = (await create(`s1 ${t}`, 0, undefined, [{ tenantId: t1, roleNames: ['r'] }])).key;
  const inBoth = (await create(`s12 ${t}`, 0, undefined, [{ tenantId: t1, roleNames: [] }, { tenantId: t2, roleNames: [] }])).key;
  const bound = (await create(`su ${t}`, 0, undefined, undefined, `U-s-${t}`, undefined, undefined, undefined, { team: `a-${t}` })).key;
  const ids = async (...filters) => new Set(ok(await mgmt.searchAll(...filters)).map((k) => k.id));

  const all = await ids();
  for (const key of [inT1, inBoth, bound]) assert.ok(all.has(key.id), `search {} misses ${key.id}`);
  assert.deepEqual(await ids([t1]), new Set([inT1.id, inBoth.id]));
  assert.deepEqual(await ids([t2]), new Set([inBoth.id]));
  assert.deepEqual(await ids(undefined, `U-s-${t}`), new Set([bound.id]));
  assert.deepEqual(await ids(undefined, undefined, undefined, { team: `a-${t}` }), new Set([bound.id]));
  assert.deepEqual(await ids([t1], `U-s-${t}`), new Set());
  const creator = inT1.createdBy;
  assert.ok(creator, 'createdBy is empty, so search by creatingUser cannot be used');
  const byCreator = await ids(undefined, undefined, creator);
  for (const key of [inT1, inBoth, bound]) assert.ok(byCreator.has(key.id));
  assert.deepEqual(await ids(undefined, undefined, `nobody-${t}`), new Set());
  // Management keys are never listed as access keys.
  assert.ok(!all.has(server.management.key.id));
  assert.ok(!all.has(server.readOnly.key.id));
});

test('update: given fields change, absent ones are kept, roles and tenants too', async () => {
  const t = tag();
  const { key } = await create(`AAA ${t}`, 0, ['reader'], undefined, undefined, { a: 1 }, 'hey', ['10.0.0.1'], { x: '1' });
  let updated = ok(await mgmt.update(key.id, `ABA ${t}`, 'hello there'));
  assert.equal(updated.name, `ABA ${t}`);
  assert.equal(updated.description, 'hello there');
  assert.deepEqual(updated.roleNames, ['reader']);
  assert.deepEqual(updated.customClaims, { a: 1 });
  assert.deepEqual(updated.permittedIps, ['10.0.0.1']);

  updated = ok(await mgmt.update(key.id, `ABA1 ${t}`));
  assert.equal(updated.description, 'hello there');
  assert.deepEqual(ok(await mgmt.load(key.id)), updated);

  updated = ok(await mgmt.update(key.id, `ABA2 ${t}`, undefined, ['deployer', 'reader'], undefined,
    { b: [1, 2] }, ['127.0.0.1'], { y: true }));
  assert.deepEqual(updated.roleNames, ['deployer', 'reader']);
  assert.deepEqual(updated.customClaims, { b: [1, 2] });
  assert.deepEqual(updated.permittedIps, ['127.0.0.1']);
  assert.deepEqual(updated.customAttributes, { y: true });
  assert.equal(updated.description, 'hello there');

  // From project roles to tenant roles: roles cleared, tenants set.
  updated = ok(await mgmt.update(key.id, `ABA3 ${t}`, undefined, [], [{ tenantId: `T-u-${t}`, roleNames: ['admin'] }]));
  assert.deepEqual(updated.roleNames, []);
  assert.deepEqual(updated.keyTenants.map((x) => [x.tenantId, x.roleNames]), [[`T-u-${t}`, ['admin']]]);

  failed(await mgmt.update('K-no-such-key', 'name'), 404);
});

test('deactivate, activate, delete', async () => {
  const t = tag();
  const created = await create(`toggle ${t}`, 0);
  const id = created.key.id;
  ok(await mgmt.deactivate(id));
  assert.equal(ok(await mgmt.load(id)).status, 'inactive');
  failed(await descope.accessKey.exchange(created.cleartext), 401);
  await assert.rejects(descope.exchangeAccessKey(created.cleartext), /could not exchange access key/);
  ok(await mgmt.activate(id));
  assert.equal(ok(await mgmt.load(id)).status, 'active');
  assert.equal((await descope.exchangeAccessKey(created.cleartext)).token.sub, id);
  ok(await mgmt.delete(id));
  failed(await mgmt.load(id), 404);
  failed(await descope.accessKey.exchange(created.cleartext), 401);
});

test('rotate gives a new secret and retires the old one', async () => {
  const t = tag();
  const created = await create(`rotate ${t}`, 0, ['reader'], undefined, undefined, undefined, 'kept');
  const rotated = ok(await mgmt.rotate(created.key.id));
  assert.notEqual(rotated.cleartext, created.cleartext);
  assert.equal(rotated.key.id, created.key.id);
  assert.deepEqual(rotated.key.roleNames, ['reader']);
  assert.equal(rotated.key.description, 'kept');
  failed(await descope.accessKey.exchange(created.cleartext), 401);
  assert.equal((await descope.exchangeAccessKey(rotated.cleartext)).token.sub, created.key.id);
});

test('the three batches', async () => {
  const t = tag();
  const ids = [];
  for (let i = 0; i < 3; i += 1) ids.push((await create(`batch ${i} ${t}`, 0)).key.id);
  const statuses = async () => Promise.all(ids.map(async (id) => ok(await mgmt.load(id)).status));
  ok(await mgmt.deactivateBatch(ids));
  assert.deepEqual(await statuses(), ['inactive', 'inactive', 'inactive']);
  ok(await mgmt.activateBatch(ids.slice(0, 2)));
  assert.deepEqual(await statuses(), ['active', 'active', 'inactive']);
  ok(await mgmt.deleteBatch(ids));
  for (const id of ids) failed(await mgmt.load(id), 404);
});

test('a read-only management key may load and search only', async () => {
  const t = tag();
  const created = await create(`ro ${t}`, 0, undefined, undefined, undefined, undefined, undefined, undefined, { ro: t });
  const reader = server.client({ managementKey: server.readOnly.cleartext }).management.accessKey;
  assert.equal(ok(await reader.load(created.key.id)).id, created.key.id);
  assert.deepEqual(ok(await reader.searchAll(undefined, undefined, undefined, { ro: t })).map((k) => k.id), [created.key.id]);
  failed(await reader.create(`ro denied ${t}`, 0), 403);
  failed(await reader.update(created.key.id, 'renamed'), 403);
  failed(await reader.deactivate(created.key.id), 403);
  failed(await reader.rotate(created.key.id), 403);
  failed(await reader.deleteBatch([created.key.id]), 403);
  const key = ok(await mgmt.load(created.key.id));
  assert.equal(key.name, `ro ${t}`);
  assert.equal(key.status, 'active');
});

test('wrong, missing and misused management keys get a 401', async () => {
  const t = tag();
  const created = await create(`not mgmt ${t}`, 0);
  failed(await server.client({ managementKey: 'not-the-management-key' }).management.accessKey.searchAll(), 401);
  failed(await server.client({ managementKey: created.cleartext }).management.accessKey.load(created.key.id), 401);
  failed(await server.client({ managementKey: undefined }).management.accessKey.searchAll(), 401);
});
