// Runs `ak serve` over a fresh SQLite store on a free port, and headless Chromium driven by
// playwright-core, for the console suite. The ak binary is $AK_BIN (compat/run.sh builds it);
// Chromium is $CHROMIUM or /usr/bin/chromium (Debian's `chromium` package).

import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync, readFileSync, accessSync, constants, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const PROJECT_ID = 'P2akConsoleSuite000000000000';
/** Where every page's screenshot goes (not committed). */
export const SCREENSHOTS = join(here, '..', '..', 'target', 'console-screenshots');
const LISTEN_RE = /(https?):\/\/(127\.0\.0\.1):(\d+)/;
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

function executable(path, what) {
  try {
    accessSync(path ?? '', constants.X_OK);
  } catch {
    throw new Error(`${what} not found at ${JSON.stringify(path)}`);
  }
  return path;
}

function cleanEnv() {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AK_')));
}

const running = new Set();
// A crash of the test process must not leave a server behind.
process.on('exit', () => {
  for (const proc of running) proc.kill('SIGKILL');
});

/** `ak serve` with a full and a read-only management key. */
export async function startServer() {
  const bin = executable(process.env.AK_BIN, 'AK_BIN (the ak binary; run compat/run.sh)');
  const dir = mkdtempSync(join(tmpdir(), 'ak-console-'));
  const base = ['--store', `sqlite:${join(dir, 'ak.db')}`, '--keys', join(dir, 'signing-keys.json'), '--issuer', PROJECT_ID];
  const cli = (...args) => JSON.parse(execFileSync(bin, [...base, ...args], { env: cleanEnv(), encoding: 'utf8' }));
  const admin = cli('management-key', 'create', '--name', 'console-admin', '--json');
  const reader = cli('management-key', 'create', '--name', 'console-reader', '--read-only', '--json');
  const logDir = process.env.AK_COMPAT_LOGS || dir;
  mkdirSync(logDir, { recursive: true });
  const log = createWriteStream(join(logDir, 'console-server.log'), { flags: 'a' });
  const proc = spawn(bin, [...base, 'serve', '--listen', '127.0.0.1:0', '--auth-failure-burst', '100'], {
    env: { ...cleanEnv(), RUST_LOG: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(proc);
  proc.stderr.pipe(log);
  const url = await new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error('ak serve printed no address')), 30_000);
    proc.stdout.on('data', (chunk) => {
      log.write(chunk);
      seen += chunk;
      const match = LISTEN_RE.exec(seen);
      if (match) {
        clearTimeout(timer);
        resolve(`${match[1]}://${match[2]}:${match[3]}`);
      }
    });
    proc.on('exit', (code) => reject(new Error(`ak serve exited (${code})`)));
  });
  return {
    url,
    admin: admin.cleartext,
    reader: reader.cleartext,
    /** A management API call with the full key. */
    async api(path, body) {
      const response = await fetch(`${url}${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: { authorization: `Bearer ${PROJECT_ID}:${admin.cleartext}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: response.status, body: await response.json() };
    },
    /** Exchanges an access key through the HTTP API: the status. */
    async exchange(cleartext) {
      const response = await fetch(`${url}/v1/auth/accesskey/exchange`, {
        method: 'POST',
        headers: { authorization: `Bearer ${PROJECT_ID}:${cleartext}`, 'content-type': 'application/json' },
        body: '{}',
      });
      await response.arrayBuffer();
      return response.status;
    },
    async stop() {
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      running.delete(proc);
      log.end();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function launchBrowser() {
  const executablePath = executable(process.env.CHROMIUM ?? '/usr/bin/chromium', 'Chromium (apt-get install -y chromium)');
  return chromium.launch({ executablePath, headless: true, args: ['--no-sandbox'] });
}

/**
 * Saves a screenshot of the page as `<name>.png` and fails on any axe-core violation of impact
 * serious or critical. axe runs through the DevTools protocol, which the page's CSP does not
 * govern; the page itself still loads nothing but its own script.
 */
export async function check(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
  await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
  if (violations.length) throw new Error(`accessibility violations on ${name}:\n${violations.join('\n')}`);
}
