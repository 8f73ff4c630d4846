// harness.js - starts parley serve on a fresh demo store, drives Debian's Chromium, records screenshots and console errors.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const WEB_ROOT = process.env.PARLEY_WEB || resolve(here, '../../../web');
export const ARTIFACTS = process.env.PARLEY_ARTIFACTS || resolve(here, '../screenshots');
const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';

/** Starts `parley serve` on a free loopback port with a new demo store (extraArgs: more options). */
export async function startServer(extraArgs = []) {
  const bin = process.env.PARLEY_BIN;
  assert.ok(bin, 'PARLEY_BIN must name the parley binary');
  const dir = mkdtempSync(join(tmpdir(), 'parley-browser-'));
  const db = join(dir, 'parley.db');
  execFileSync(bin, ['demo', '--db', db], { stdio: ['ignore', 'ignore', 'inherit'] });
  // The journeys start conversations faster than one buyer may (docs/rules.md, "Limits": 5 a
  // minute): the demo's US marketplace lifts the party limits, as the API suites' does.
  const unlimited = Object.fromEntries(['buyer_messages_per_minute', 'buyer_messages_per_day', 'buyer_threads_per_minute',
    'buyer_threads_per_day', 'buyer_uploads_per_hour', 'buyer_upload_bytes_per_day', 'seller_uploads_per_hour',
    'seller_upload_bytes_per_day'].map((k) => [k, 0]));
  const lines = join(dir, 'limits.jsonl');
  writeFileSync(lines, JSON.stringify({ type: 'marketplace', id: 'ATVPDKIKX0DER', name: 'Example US', domains: ['example.com'],
    locale: 'en-US', settings: unlimited }) + '\n');
  execFileSync(bin, ['import', lines, '--db', db], { stdio: ['ignore', 'ignore', 'inherit'] });
  const tokens = JSON.parse(readFileSync(`${db}.tokens.json`, 'utf8'));
  const proc = spawn(bin, ['serve', '--db', db, '--listen', '127.0.0.1:0', '--web', WEB_ROOT, ...extraArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stderr.on('data', (d) => { log += d; });
  const url = await new Promise((ok, fail) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error(`parley serve did not start:\n${out}${log}`)), 60000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/[^\s]+)/.exec(out);
      if (m) { clearTimeout(timer); ok(m[1]); }
    });
    proc.on('exit', (code) => { clearTimeout(timer); fail(new Error(`parley serve exited with ${code}:\n${out}${log}`)); });
  });
  for (let i = 0; ; i++) {
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok) break;
    } catch { /* not yet */ }
    if (i > 300) throw new Error('parley serve never became healthy');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    tokens,
    db,
    /** Calls the JSON API with a bearer token (test setup only). */
    async api(token, method, path, body) {
      const r = await fetch(`${url}${path}`, {
        method,
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await r.text();
      return { status: r.status, body: text ? JSON.parse(text) : null };
    },
    async stop() {
      if (proc.exitCode === null) {
        proc.kill('SIGTERM');
        await new Promise((r) => { proc.once('exit', r); setTimeout(r, 5000); });
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Launches headless Chromium. playwright-core gives every launch a new, empty
 * --user-data-dir of its own (and removes it on close), so no profile is shared.
 */
export async function launch() {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return {
    browser,
    async close() {
      await browser.close();
    },
  };
}

/**
 * A page in its own browser context (own cookies) that records every console error and
 * page error; `check()` fails the test when there were any.
 */
export async function newPage(browser, baseURL, { width = 1280, height = 900, name = 'page', bypassCSP = false } = {}) {
  // bypassCSP: only for a checker the test injects (axe-core); the pages themselves always
  // run under the server's Content-Security-Policy.
  const context = await browser.newContext({ baseURL, viewport: { width, height }, acceptDownloads: true, bypassCSP });
  const page = await context.newPage();
  const errors = [];
  const allowed = []; // [{url: RegExp, status, seen}]: refusals a test provokes on purpose
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const url = msg.location().url || '';
    const st = /the server responded with a status of (\d{3})/.exec(msg.text());
    const ok = st && allowed.find((a) => a.status === Number(st[1]) && a.url.test(url));
    if (ok) ok.seen += 1;
    else errors.push(`[${name}] console error: ${msg.text()} (${url})`);
  });
  page.on('pageerror', (err) => errors.push(`[${name}] page error: ${err.message}`));
  page.on('requestfailed', (req) => {
    const f = req.failure();
    // A live-update stream or probe that is closed on purpose is not an error, nor is the
    // page's icon when the browser cancels it because the page navigates on (a followed
    // link): the browser aborted it, the server did not fail it.
    if (f && /ERR_ABORTED/.test(f.errorText) && (req.url().endsWith('/v1/events') || /\/favicon\.[0-9a-f]+\.svg$/.test(req.url()))) return;
    errors.push(`[${name}] request failed: ${req.method()} ${req.url()} ${f ? f.errorText : ''}`);
  });
  page.setDefaultTimeout(30000); // generous: CI machines are shared and sometimes slow
  return {
    page,
    context,
    errors,
    /**
     * Declares an answer the test provokes on purpose (a 403 the page explains): the
     * browser's "Failed to load resource" for it is not an error. Returns the counter.
     */
    allow(url, status) {
      const a = { url, status, seen: 0 };
      allowed.push(a);
      return a;
    },
    check() {
      assert.deepEqual(errors, [], `no console or page errors in ${name}`);
    },
    async close() {
      await context.close();
    },
  };
}

let shotCount = 0;
/** Saves a full-page screenshot as ARTIFACTS/<test>-<nn>-<label>.png. */
export async function shot(page, test, label) {
  mkdirSync(ARTIFACTS, { recursive: true });
  shotCount += 1;
  const file = join(ARTIFACTS, `${test}-${String(shotCount).padStart(2, '0')}-${label}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Signs in through the sign-in page with an access token and waits for the role's home. */
export async function signIn(page, token, home) {
  await page.goto('/');
  const field = page.getByLabel('Access token');
  await page.getByLabel('E-mail address').waitFor();
  if (!(await field.isVisible())) await page.getByText('Use an access token').click();
  await field.fill(token);
  await page.getByRole('button', { name: 'Sign in with the token' }).click();
  await page.waitForURL((u) => u.hash.startsWith(home));
  await page.locator('h1').first().waitFor();
}
