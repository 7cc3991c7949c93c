// What the browser tests stand on: the real `parley` binary on a free port with a fresh
// database and known credentials, Debian's Chromium driven by playwright-core, and a few
// helpers that act as a user would (log in, wait for text, save a screenshot).

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const ARTIFACTS = join(REPO_ROOT, 'artifacts', 'browser');
export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const START_TIMEOUT_MS = 30_000;

function parleyBin() {
  const bin = process.env.PARLEY_BIN || 'target/debug/parley';
  return isAbsolute(bin) ? bin : join(REPO_ROOT, bin);
}

/** Starts `parley serve` on port 0 with a temp SQLite file; resolves once /healthz answers. */
export async function startServer() {
  const bin = parleyBin();
  if (!existsSync(bin)) throw new Error(`no parley binary at ${bin}: run \`cargo build\` or set PARLEY_BIN`);
  const dir = mkdtempSync(join(tmpdir(), 'parley-browser-'));
  const accountSid = `AC${randomBytes(16).toString('hex')}`;
  const authToken = randomBytes(16).toString('hex');
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PARLEY_')));
  Object.assign(env, { PARLEY_ACCOUNT_SID: accountSid, PARLEY_AUTH_TOKEN: authToken });
  // Nothing the server might call leaves the machine: outbound HTTP goes to a closed port.
  for (const v of ['HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY']) env[v] = env[v.toLowerCase()] = 'http://127.0.0.1:9';
  env.NO_PROXY = env.no_proxy = '127.0.0.1,localhost';
  const proc = spawn(bin, ['serve', '--addr', '127.0.0.1:0', '--db', `sqlite://${join(dir, 'parley.db')}`], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const baseUrl = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`parley did not start in time:\n${log}`)), START_TIMEOUT_MS);
    const watch = (chunk) => {
      log += chunk;
      const m = /Parley listening on (http:\/\/\S+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        ok(m[1]);
      }
    };
    proc.stdout.setEncoding('utf8').on('data', watch);
    proc.stderr.setEncoding('utf8').on('data', (c) => {
      log += c;
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`parley exited with ${code}:\n${log}`));
    });
  });
  for (let i = 0; i < 100; i++) {
    const r = await fetch(`${baseUrl}/healthz`).catch(() => null);
    if (r && r.ok) break;
    await new Promise((r2) => setTimeout(r2, 100));
  }
  return {
    baseUrl,
    accountSid,
    authToken,
    logs: () => log,
    async stop() {
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (proc.exitCode === null) proc.kill('SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Debian's Chromium, headless, with a fresh profile directory. */
export async function launchBrowser() {
  const profile = mkdtempSync(join(tmpdir(), 'parley-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1400, height: 1000 },
  });
  context.setDefaultTimeout(15_000);
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** A new tab that records script errors, so a test can assert the console raised none. */
export async function newPage(context) {
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  page.on('console', (m) => {
    // A 4xx answer is logged by Chromium as "Failed to load resource"; the tests provoke
    // some on purpose (a wrong token, an invalid flow) and check what the page shows.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) page.errors.push(m.text());
  });
  return page;
}

/** Logs in through the login screen and waits for the console to show. */
export async function login(page, server, token = server.authToken) {
  await page.goto(`${server.baseUrl}/console/`);
  await page.locator('#login-sid').fill(server.accountSid);
  await page.locator('#login-token').fill(token);
  await page.locator('#login-form button[type=submit]').click();
}

export async function screenshot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** The texts of every element a locator matches, in document order. */
export async function texts(locator) {
  return (await locator.allTextContents()).map((t) => t.trim());
}
