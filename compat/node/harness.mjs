// Runs `ak serve` for one test file: a fresh SQLite store, a free port, management keys.
// The ak binary is $AK_BIN (compat/run.sh builds it and sets it).

import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, createWriteStream, mkdirSync, accessSync, constants, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import https from 'node:https';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import DescopeClient from '@descope/node-sdk';

// Shaped like a Descope project id (28 characters): below 29 characters the SDK derives no
// regional host from it, so the baseUrl given is used as is.
export const PROJECT_ID = 'P2akCompatSuite0000000000000';
const START_TIMEOUT_MS = 30_000;
// The suites make dozens of deliberate failed authentications from 127.0.0.1 within seconds; ak's
// per-IP limit on them (default burst 20) would turn later answers into 429s depending on timing.
// Each file's server gets a larger burst unless it asks otherwise (ratelimit.test.mjs does).
// The suites' role catalog (compat/roles.json: every role they use, with permissions), so tokens
// carry permissions for the SDK's validatePermissions helpers; with a catalog ak refuses unknown roles.
const ROLES_FILE = join(dirname(fileURLToPath(import.meta.url)), '..', 'roles.json');
export const SUITE_SERVE_ARGS = ['--auth-failure-burst', '500', '--roles', ROLES_FILE];
const LISTEN_RE = /(https?):\/\/(127\.0\.0\.1|\[::1\]|localhost):(\d+)/;

function akBin() {
  const bin = process.env.AK_BIN;
  try {
    accessSync(bin ?? '', constants.X_OK);
  } catch {
    throw new Error(`AK_BIN must name the ak binary (got ${JSON.stringify(bin)}); run compat/run.sh`);
  }
  return bin;
}

function cleanEnv() {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AK_')));
}

// `ca`: the PEM that signed --tls-cert, to reach /healthz over https.
export async function startServer(name, { serveArgs = SUITE_SERVE_ARGS, ca } = {}) {
  const bin = akBin();
  const dir = mkdtempSync(join(tmpdir(), 'ak-compat-node-'));
  const base = ['--store', `sqlite:${join(dir, 'ak.db')}`, '--keys', join(dir, 'signing-keys.json'),
    '--issuer', PROJECT_ID];
  const cli = (...args) => JSON.parse(execFileSync(bin, [...base, ...args], { env: cleanEnv(), encoding: 'utf8' }));
  const management = cli('management-key', 'create', '--name', `node-${name}`, '--json');
  const readOnly = cli('management-key', 'create', '--name', `node-${name}-ro`, '--read-only', '--json');

  const logDir = process.env.AK_COMPAT_LOGS || dir;
  mkdirSync(logDir, { recursive: true });
  const logPath = join(logDir, `node-${name}-server.log`);
  const log = createWriteStream(logPath, { flags: 'a' });
  const env = { ...cleanEnv(), RUST_LOG: process.env.RUST_LOG ?? 'info' };
  const proc = spawn(bin, [...base, 'serve', '--listen', '127.0.0.1:0', ...serveArgs], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stderr.pipe(log);
  const url = await new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`ak serve printed no address; see ${logPath}`)), START_TIMEOUT_MS);
    const onData = (chunk) => {
      // Keep draining stdout into the log so a server logging there never blocks.
      log.write(chunk);
      seen += chunk.toString();
      const match = LISTEN_RE.exec(seen);
      if (match) {
        clearTimeout(timer);
        resolve(`${match[1]}://${match[2]}:${match[3]}`);
        proc.stdout.off('data', onData);
        proc.stdout.on('data', (more) => log.write(more));
      }
    };
    proc.stdout.on('data', onData);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`ak serve exited (${code}); see ${logPath}`));
    });
  });
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    try {
      if ((await healthz(url, ca)) === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`ak serve at ${url} never answered /healthz; see ${logPath}`);
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    url,
    projectId: PROJECT_ID,
    management,
    readOnly,
    logPath,
    /**
     * A Descope client pointed at this server: with the admin management key unless options
     * name another `managementKey` (undefined for none); other options go to the SDK as given.
     */
    client(options = {}) {
      const managementKey = 'managementKey' in options ? options.managementKey : management.cleartext;
      return DescopeClient({ projectId: PROJECT_ID, baseUrl: url, ...options, managementKey });
    },
    /** SIGTERM; fails unless ak exits 0 (a graceful stop), killing it after 10 s. */
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      log.end();
      if (!process.env.AK_COMPAT_KEEP) rmSync(dir, { recursive: true, force: true });
      if (proc.exitCode !== 0) {
        throw new Error(`ak serve did not stop cleanly (exit ${proc.exitCode}, signal ${proc.signalCode}); see ${logPath}`);
      }
    },
  };
}

function healthz(url, ca) {
  if (!ca) return fetch(`${url}/healthz`).then((r) => r.status);
  return new Promise((resolve, reject) => {
    https.get(`${url}/healthz`, { ca }, (res) => {
      res.resume();
      resolve(res.statusCode);
    }).on('error', reject);
  });
}

/** Unwraps an SdkResponse, failing with the server's error when it is not ok. */
export function ok(response) {
  if (!response.ok) {
    throw new Error(`expected ok, got ${response.code}: ${JSON.stringify(response.error)}`);
  }
  return response.data;
}

export function tag() {
  return Math.random().toString(36).slice(2, 12);
}

const README = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'README.md');

/** The first ```language block after the line `<!-- compat:<marker> ...-->` in README.md. */
export function readmeSnippet(marker, language) {
  const text = readFileSync(README, 'utf8');
  const escaped = (x) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(`^<!-- compat:${escaped(marker)}\\b[^\\n]*-->\\n\`\`\`${escaped(language)}\\n([\\s\\S]*?)^\`\`\`$`, 'm');
  const match = re.exec(text);
  if (!match) throw new Error(`README.md has no <!-- compat:${marker} --> \`\`\`${language} block`);
  return match[1];
}
