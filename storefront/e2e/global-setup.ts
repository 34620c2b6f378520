// Starts `bazaar dev` on a free port with the built storefront, waits until the example shop is loaded,
// and hands its address to the tests (BAZAAR_E2E_URL). The teardown stops it (and what it started).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const storefront = resolve(here, '..');
const repo = resolve(storefront, '..');
// One state file and log per run (the runner's process, which runs both the setup and the teardown), so that
// two runs in one checkout never read each other's log or stop each other's server.
export const STATE_FILE = join(storefront, '.e2e', `server-${process.pid}.json`);

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? ok(address.port) : fail(new Error('no port'))));
    });
  });
}

function binary(): string {
  const candidates = [
    process.env.BAZAAR_BIN,
    process.env.CARGO_TARGET_DIR && join(process.env.CARGO_TARGET_DIR, 'debug', 'bazaar'),
    join(repo, 'target', 'debug', 'bazaar'),
  ].filter((c): c is string => !!c);
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new Error(`no bazaar binary (tried ${candidates.join(', ')}); run cargo build --bin bazaar`);
  return found;
}

export default async function globalSetup() {
  if (process.env.BAZAAR_E2E_URL) return; // a server someone else started
  if (!existsSync(join(storefront, 'dist', 'index.html'))) throw new Error('storefront/dist is missing: npm run build');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const adminPassword = `e2e-${Math.random().toString(36).slice(2)}-admin`;
  const run = `sf${Date.now().toString(36)}`;
  mkdirSync(join(storefront, '.e2e'), { recursive: true });
  const log = join(storefront, '.e2e', `bazaar-dev-${process.pid}.log`);
  const out = openSync(log, 'w');
  const child = spawn(binary(), ['dev', '--dev-addr', `127.0.0.1:${port}`, '--kube-api', 'never'], {
    cwd: repo,
    detached: true,
    stdio: ['ignore', out, out],
    env: {
      ...process.env,
      BAZAAR_STOREFRONT_DIR: join(storefront, 'dist'),
      BAZAAR_DEV_ADMIN_PASSWORD: adminPassword,
      // With the test run's shared PostgreSQL and broker (DATABASE_URL, KAFKA_BROKERS), keep to our own
      // schemas and topics; without them bazaar dev starts throwaway ones of its own.
      BAZAAR_DB_SCHEMA_PREFIX: `${run}_`,
      BAZAAR_KAFKA_TOPIC_PREFIX: `${run}.`,
      BAZAAR_TAX_RATES: 'US-CA=7.25,US-NY=8.875,DE=19',
      // Every test's shoppers sign up from 127.0.0.1: more than the default 10 registrations per client and
      // window (a full run makes about 15).
      IDENTITY_REGISTER_LIMIT_PER_CLIENT: '200',
      BAZAAR_LOG_FORMAT: 'json',
      RUST_LOG: process.env.RUST_LOG ?? 'warn',
    },
  });
  writeFileSync(STATE_FILE, JSON.stringify({ pid: child.pid, url, adminPassword, log }));
  process.env.BAZAAR_E2E_URL = url;
  process.env.BAZAAR_E2E_ADMIN_PASSWORD = adminPassword;

  // Ready once bazaar dev says so (after the example shop, the admin and the stock are in place) and its
  // storefront answers. One sign-in as the admin then checks the password (sign-ins are rate limited).
  const deadline = Date.now() + 120_000;
  let exited: number | null = null;
  child.once('exit', (code) => (exited = code ?? -1));
  for (;;) {
    if (exited !== null) throw new Error(`bazaar dev exited (${exited}) before it was ready; see ${log}`);
    if (Date.now() > deadline) throw new Error(`bazaar dev not ready within 120 s; see ${log}`);
    if (readFileSync(log, 'utf8').includes('Bazaar is running')) {
      const page = await fetch(`${url}/`).catch(() => null);
      if (page?.ok) break;
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  const login = await fetch(`${url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'admin@bazaar.local', password: adminPassword }),
  });
  if (!login.ok) throw new Error(`the dev admin cannot sign in (${login.status}); see ${log}`);
  child.unref();
}
