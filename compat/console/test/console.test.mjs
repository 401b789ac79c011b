// The admin console in headless Chromium: every scenario of issue 17's browser list, an axe-core
// check and a screenshot of every page (target/console-screenshots/).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, check, PROJECT_ID } from '../harness.mjs';

let server;
let browser;
const strays = [];

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  // Every request any page made stayed on the server's origin, and no CSP violation was reported.
  assert.deepEqual(strays, []);
});

/** A fresh browser context (no cookies) whose pages may only talk to the server. */
async function open(options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...options });
  const page = await context.newPage();
  page.on('request', (request) => {
    if (!request.url().startsWith(server.url)) strays.push(`request to ${request.url()}`);
  });
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) strays.push(`CSP: ${message.text()}`);
  });
  return { context, page };
}

async function signIn(page, key) {
  await page.goto(`${server.url}/console`);
  await page.getByLabel('Management key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function createKey(name, extra = {}) {
  const { status, body } = await server.api('/v1/mgmt/accesskey/create', { name, ...extra });
  assert.equal(status, 200);
  return body.key.id;
}

async function keyById(id) {
  return server.api(`/v1/mgmt/accesskey?id=${encodeURIComponent(id)}`);
}

test('a wrong management key gets a clear error', async () => {
  const { context, page } = await open();
  await page.goto(`${server.url}/console`);
  await check(page, 'sign-in');
  await signIn(page, 'K2wrongwrongwrong');
  const error = page.locator('#key-error');
  await assert.doesNotReject(error.waitFor());
  assert.match(await error.innerText(), /was not accepted/);
  assert.equal(await page.getByLabel('Management key').getAttribute('aria-invalid'), 'true');
  assert.deepEqual(await context.cookies(), []);
  await check(page, 'sign-in-error');
  await context.close();
});

test('create a key with tenants and an IP range, copy and exchange it, deactivate it, find it by tenant', async () => {
  const { context, page } = await open();
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
  await signIn(page, server.admin);
  await page.waitForURL('**/console/keys');
  await check(page, 'keys-empty');

  await page.getByRole('link', { name: 'Create a key' }).click();
  await check(page, 'key-new');
  await page.getByLabel('Name (required)').fill('billing-service');
  await page.getByLabel('Description').fill('Calls the billing API');
  await page.getByLabel('Expires').selectOption('30d');
  await page.getByLabel('Tenants and their roles').fill('tenant-blue: admin, viewer\ntenant-green');
  await page.getByLabel('Permitted IPs').fill('127.0.0.0/8');
  // Inline validation while typing, before anything is sent.
  const claims = page.getByLabel('Custom claims (JSON object)');
  await claims.fill('{"team": ');
  assert.match(await page.locator('#claims-error').innerText(), /not valid JSON/);
  await claims.fill('{"team": "billing"}');
  assert.equal(await page.locator('#claims-error').innerText(), '');
  await page.getByRole('button', { name: 'Create key' }).click();

  await page.getByRole('heading', { name: 'Key created' }).waitFor();
  assert.match(await page.getByRole('alert').innerText(), /only time it is shown/);
  await check(page, 'key-created');
  // No cleartext in the URL, the history or storage.
  const cleartext = await page.locator('#cleartext').inputValue();
  assert.ok(cleartext.length > 20);
  assert.ok(!page.url().includes(cleartext));
  const storage = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + history.length);
  assert.ok(!storage.includes(cleartext));

  await page.getByRole('button', { name: 'Copy' }).click();
  await page.getByText('Copied to the clipboard.').waitFor();
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  assert.equal(copied, cleartext);
  assert.equal(await server.exchange(copied), 200, 'the copied cleartext exchanges');

  await page.getByRole('link', { name: 'Go to the key' }).click();
  await page.getByRole('heading', { name: /billing-service/ }).waitFor();
  await check(page, 'key-page');
  await page.getByRole('button', { name: 'Deactivate' }).click();
  await page.getByText('Key deactivated').waitFor();
  assert.equal(await server.exchange(copied), 401, 'a deactivated key is refused');

  await createKey('other-service', { keyTenants: [{ tenantId: 'tenant-red' }] });
  await page.getByRole('link', { name: 'Access keys' }).click();
  await page.getByLabel('Tenant ids (comma-separated)').fill('tenant-blue');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.waitForURL(/tenant=tenant-blue/);
  const rows = page.locator('tbody tr');
  assert.equal(await rows.count(), 1);
  assert.match(await rows.first().innerText(), /billing-service[\s\S]*inactive[\s\S]*tenant-blue: admin, viewer/);
  await check(page, 'keys-search-by-tenant');

  // At phone width the page still reads: nothing wider than the window but the table's own scroller.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${server.url}/console/keys`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `page overflows a phone-width window by ${overflow}px`);
  await check(page, 'keys-phone');
  await context.close();
});

test('server errors are shown in words next to their field; rotation shows the new cleartext once', async () => {
  const { context, page } = await open();
  await signIn(page, server.admin);
  await page.goto(`${server.url}/console/keys/new`);
  await page.getByLabel('Name (required)').fill('both-kinds');
  await page.getByLabel('Project roles').fill('viewer');
  await page.getByLabel('Tenants and their roles').fill('tenant-x');
  await page.getByRole('button', { name: 'Create key' }).click();
  await page.locator('#tenants-error').waitFor();
  assert.match(await page.locator('#tenants-error').innerText(), /mutually exclusive/);
  assert.equal(await page.getByLabel('Tenants and their roles').getAttribute('aria-invalid'), 'true');
  assert.equal(await page.getByLabel('Name (required)').inputValue(), 'both-kinds', 'what was typed is kept');
  await check(page, 'key-new-errors');

  const { body } = await server.api('/v1/mgmt/accesskey/create', { name: 'rotating' });
  const oldCleartext = body.cleartext;
  await page.goto(`${server.url}/console/keys/${body.key.id}`);
  await page.getByLabel('The old cleartext keeps working for').selectOption('3600');
  await page.getByRole('button', { name: 'Rotate the secret' }).click();
  await page.getByRole('heading', { name: 'Key rotated' }).waitFor();
  await check(page, 'key-rotated');
  const newCleartext = await page.locator('#cleartext').inputValue();
  assert.notEqual(newCleartext, oldCleartext);
  assert.equal(await server.exchange(newCleartext), 200);
  assert.equal(await server.exchange(oldCleartext), 200, 'the old one works during the grace hour');
  await context.close();
});

test('a batch delete of three keys, confirmed with the count', async () => {
  const ids = [];
  for (const n of [1, 2, 3]) ids.push(await createKey(`batch-${n}`));
  const { context, page } = await open();
  await signIn(page, server.admin);
  await page.getByLabel('Text (name, id, description)').fill('batch-');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.waitForURL(/text=batch-/);
  for (const n of [1, 2, 3]) await page.getByLabel(`Select batch-${n}`).check();
  await page.getByRole('button', { name: 'Delete', exact: true }).click();
  await page.getByRole('heading', { name: 'Delete 3 keys' }).waitFor();
  await check(page, 'batch-confirm');
  for (const id of ids) assert.equal((await keyById(id)).status, 200, 'nothing deleted before confirming');
  await page.getByRole('button', { name: 'Delete 3 keys' }).click();
  await page.getByText('3 keys deleted.').waitFor();
  for (const id of ids) assert.equal((await keyById(id)).status, 404);
  await context.close();
});

test('a read-only key sees everything and cannot change anything', async () => {
  const id = await createKey('read-me', { roleNames: ['viewer'] });
  const { context, page } = await open();
  await signIn(page, server.reader);
  await page.getByText('(read-only)').waitFor();
  assert.equal(await page.getByRole('link', { name: 'Create a key' }).count(), 0);
  assert.equal(await page.getByRole('checkbox').count(), 0);
  await check(page, 'keys-read-only');
  await page.getByRole('link', { name: 'read-me' }).click();
  await page.getByRole('heading', { name: /read-me/ }).waitFor();
  for (const name of ['Deactivate', 'Save changes', 'Rotate the secret']) {
    assert.equal(await page.getByRole('button', { name }).count(), 0, name);
  }
  await check(page, 'key-page-read-only');
  // Forged from the page itself (same origin, its cookie, its CSRF token): the server refuses.
  const status = await page.evaluate(async (keyId) => {
    const csrf = document.querySelector('input[name=csrf]').value;
    const response = await fetch(`/console/keys/${keyId}/deactivate`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf }),
      redirect: 'manual',
    });
    return response.status;
  }, id);
  assert.equal(status, 403);
  assert.equal((await keyById(id)).body.key.status, 'active');
  await page.getByRole('link', { name: 'Management keys' }).click();
  assert.equal(await page.getByRole('button', { name: 'Create management key' }).count(), 0);
  await check(page, 'management-keys-read-only');
  await context.close();
});

test('management keys and signing keys: create, revoke, rotate, JWKS', async () => {
  const { context, page } = await open();
  await signIn(page, server.admin);
  await page.getByRole('link', { name: 'Management keys' }).click();
  await check(page, 'management-keys');
  await page.getByLabel('Name (required)').fill('ci-reader');
  await page.getByLabel(/Read-only/).check();
  await page.getByRole('button', { name: 'Create management key' }).click();
  await page.getByRole('heading', { name: 'Management key created' }).waitFor();
  await check(page, 'management-key-created');
  const cleartext = await page.locator('#cleartext').inputValue();
  const license = () => fetch(`${server.url}/v1/mgmt/license`, { headers: { authorization: `Bearer ${PROJECT_ID}:${cleartext}` } }).then((r) => r.status);
  assert.equal(await license(), 200);
  await page.getByRole('link', { name: 'Back to the management keys' }).click();
  await page.getByRole('row', { name: /ci-reader/ }).getByRole('link', { name: /Revoke/ }).click();
  await page.getByText('Revoke the management key “ci-reader”').waitFor();
  await check(page, 'management-key-revoke');
  await page.getByRole('button', { name: 'Revoke “ci-reader”' }).click();
  await page.getByText(/revoked/).waitFor();
  assert.equal(await license(), 401);

  await page.getByRole('link', { name: 'Signing keys' }).click();
  await check(page, 'signing-keys');
  const kids = async () => (await (await fetch(`${server.url}/v2/keys/${PROJECT_ID}`)).json()).keys.map((k) => k.kid);
  assert.equal((await kids()).length, 1);
  await page.getByRole('button', { name: 'Rotate the signing key' }).click();
  await page.getByText('Signing key rotated').waitFor();
  assert.equal((await kids()).length, 2);
  await page.getByRole('link', { name: /^Retire/ }).click();
  await check(page, 'signing-key-retire');
  await page.getByRole('button', { name: 'Retire the key' }).click();
  await page.getByText(/retired/).waitFor();
  assert.equal((await kids()).length, 1);
  await context.close();
});

test('delete one key with a confirmation that names it, then sign out: the old cookie is refused', async () => {
  const id = await createKey('doomed');
  const { context, page } = await open();
  await signIn(page, server.admin);
  await page.goto(`${server.url}/console/keys/${id}`);
  await page.getByRole('link', { name: 'Delete this key…' }).click();
  await page.getByText('Delete the key “doomed”').waitFor();
  await check(page, 'key-delete-confirm');
  await page.getByRole('button', { name: 'Delete “doomed”' }).click();
  await page.getByText(`Key ${id} deleted.`).waitFor();
  assert.equal((await keyById(id)).status, 404);

  const [cookie] = await context.cookies();
  assert.equal(cookie.name, 'ak_console');
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Strict');
  assert.equal(await page.evaluate(() => document.cookie), '', 'scripts cannot read the session cookie');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL('**/console/sign-in');
  // The old cookie, replayed in a new browser context, gets the sign-in page, not the keys.
  const { context: replay, page: again } = await open();
  await replay.addCookies([cookie]);
  await again.goto(`${server.url}/console/keys`);
  assert.match(again.url(), /\/console\/sign-in$/);
  await again.getByLabel('Management key').waitFor();
  await replay.close();
  await context.close();
});
