// @descope/node-sdk over HTTPS: `ak serve --tls-cert --tls-key` with a certificate made for the
// test, trusted the way a Node application trusts a private CA (NODE_EXTRA_CA_CERTS, read when
// node starts, so the README snippet runs in a child process), with verification on.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startServer, ok, readmeSnippet, SUITE_SERVE_ARGS } from '../harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
let server;
let dir;
let cert;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ak-compat-tls-'));
  cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  // A self-signed P-256 certificate for 127.0.0.1, valid for a day.
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '1',
    '-keyout', key, '-out', cert], { stdio: 'ignore' });
  server = await startServer('tls', { serveArgs: [...SUITE_SERVE_ARGS, '--tls-cert', cert, '--tls-key', key], ca: readFileSync(cert) });
});
after(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function runSnippet(extraEnv) {
  const env = { ...process.env, AK_URL: server.url, AK_PROJECT_ID: server.projectId,
    AK_MANAGEMENT_KEY: server.management.cleartext, ...extraEnv };
  return promisify(execFile)(process.execPath, ['--input-type=module', '--eval', readmeSnippet('node', 'js')],
    { cwd: join(here, '..'), env, timeout: 60_000 });
}

test('the README snippet over HTTPS, with the CA trusted', async () => {
  assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  const { stdout } = await runSnippet({ NODE_EXTRA_CA_CERTS: cert });
  const printed = /node: key (\S+) has roles \[ 'deployer' \]/.exec(stdout);
  assert.ok(printed, stdout);
});

test('an untrusted certificate is refused', async () => {
  // Without the CA the same snippet fails: proof the check above was a real one.
  await assert.rejects(runSnippet({ NODE_EXTRA_CA_CERTS: '' }), (error) => {
    assert.match(error.stderr, /self-signed certificate|SELF_SIGNED|unable to verify/i, error.stderr);
    return true;
  });
});
