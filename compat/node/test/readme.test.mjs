// The README's Node snippet, taken from README.md and run as written against `ak serve`, so the
// README cannot drift from what works.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { startServer, ok, readmeSnippet } from '../harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));

let server;
before(async () => {
  server = await startServer('readme');
});
after(async () => server?.stop());

test('the README Node snippet runs', async () => {
  const code = readmeSnippet('node', 'js');
  const env = { ...process.env, AK_URL: server.url, AK_PROJECT_ID: server.projectId, AK_MANAGEMENT_KEY: server.management.cleartext };
  // An --eval module resolves imports from the working directory: compat/node, with node_modules.
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '--eval', code],
    { cwd: join(here, '..'), env, timeout: 60_000 });
  const printed = /node: key (\S+) has roles \[ 'deployer' \]/.exec(stdout);
  assert.ok(printed, stdout);
  const key = ok(await server.client().management.accessKey.load(printed[1]));
  assert.equal(key.name, 'readme node runner');
  assert.deepEqual(key.roleNames, ['deployer']);
});
