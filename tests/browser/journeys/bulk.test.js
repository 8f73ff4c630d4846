// bulk.test.js - journeys of bulk notices (docs/rules.md "Bulk notices"): an agent sends a recall to three orders delivered two days ago and to a canceled one, follows it to its end (3 delivered, 1 failed with the reason) and opens a delivered order's message; a promotional text, an unknown order and a shipping confirmation are refused next to the form with what was typed kept, and nothing is created; a running notice's page asks again every 2 s until it is done, stops when it is left, and is canceled after a confirmation; a read-only agent sees the notices without the form; the operator sees every seller's, with the seller.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { startServer, launch, newPage, shot, signIn } from '../lib/harness.js';

const MP = 'ATVPDKIKX0DER';
// the demo's US marketplace, its party limits lifted as the harness does, and the seller's
// rate limit as the API suites' FAST (tests/api/parley_harness.py) or one message in a
// thousand seconds (SLOW: a notice runs as long as the test needs)
const UNLIMITED = Object.fromEntries(['buyer_messages_per_minute', 'buyer_messages_per_day', 'buyer_threads_per_minute',
  'buyer_threads_per_day', 'buyer_uploads_per_hour', 'buyer_upload_bytes_per_day', 'seller_uploads_per_hour',
  'seller_upload_bytes_per_day'].map((k) => [k, 0]));
const FAST = { rate_per_second: 1000, rate_burst: 1000 };
const SLOW = { rate_per_second: 0.001, rate_burst: 1 };

// orders of seller S1 delivered two days ago (a proactive message may come within 30 days of delivery)
const RECENT = ['113-5550001-0000001', '113-5550001-0000002', '113-5550001-0000003'];
const CANCELED = '113-5550001-0000004';
const RUNNING = ['113-5550002-0000001', '113-5550002-0000002', '113-5550002-0000003']; // the notice canceled
const REFRESHED = ['113-5550003-0000001', '113-5550003-0000002', '113-5550003-0000003']; // the notice followed to its end
const RECALL = 'Important safety notice: the charger sold with this cordless drill may overheat. Please stop using it; we will send a replacement within 5 days at no cost.';
const DELAY = 'Your order is delayed: a storm closed our depot for two days. It will reach you about three days later than planned. We are sorry for the wait.';
const PROMO = 'Big spring sale! Buy our new drills now and get 20% off your next order.';

let server, chrome;
let sam, rita; // S1's agent, and a read-only agent added for the journey
let imported = 0;
let recallId = null;

function importLines(rows) {
  const file = join(dirname(server.db), `bulk-${++imported}.jsonl`);
  writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  execFileSync(process.env.PARLEY_BIN, ['import', file, '--db', server.db], { stdio: ['ignore', 'ignore', 'inherit'] });
}
const rateLimit = (limits) => importLines([{ type: 'marketplace', id: MP, name: 'Example US', domains: ['example.com'], locale: 'en-US',
  settings: { ...UNLIMITED, ...limits } }]);
const admin = (...args) => execFileSync(process.env.PARLEY_BIN, ['admin', ...args, '--db', server.db], { encoding: 'utf8' }).trim();

/** Waits (polling) until fn() gives something, at most ms; what it gave. */
async function until(fn, what, ms = 60000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    assert.ok(Date.now() < end, `${what} never happened`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const notice = async (id) => {
  const r = await server.api(sam, 'GET', `/v1/bulk-notices/${id}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.bulk_notice;
};
const notices = async (token) => {
  const r = await server.api(token, 'GET', '/v1/bulk-notices');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.bulk_notices;
};
const count = (p, k) => p.locator(`#bulk-counts [data-count="${k}"] dd`).textContent();
const noOverflow = (p) => p.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);

before(async () => {
  server = await startServer();
  sam = server.tokens.agents['Sam Chen'].token;
  chrome = await launch();
  const now = Date.now();
  const at = (days) => new Date(now - days * 86400000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const order = (id, buyer, status = 'delivered') => ({ type: 'order', id, marketplace: MP, seller: 'S1', buyer, status,
    purchased_at: at(5), ...(status === 'canceled' ? {} : { shipped_at: at(4), delivered_at: at(2) }),
    items: [{ asin: 'B0RECALL01', title: 'Cordless drill 18V', quantity: 1, price: '89.99', currency: 'USD' }] });
  rateLimit(FAST);
  importLines([order(RECENT[0], 'B1'), order(RECENT[1], 'B2'), order(RECENT[2], 'B1'), order(CANCELED, 'B2', 'canceled'),
    ...RUNNING.map((o) => order(o, 'B1')), ...REFRESHED.map((o) => order(o, 'B2'))]);
  rita = admin('token', 'create', '--agent', admin('agent', 'add', '--seller', 'S1', '--name', 'Rita Reader', '--role', 'read_only'));
});
after(async () => {
  if (chrome) await chrome.close();
  if (server) await server.stop();
});

test('an agent sends a recall to three orders and a canceled one, follows it to its end and opens a delivered order\'s message', async () => {
  const a = await newPage(chrome.browser, server.url, { name: 'bulk-sam' });
  const p = a.page;
  await signIn(p, sam, '#/inbox');
  await p.getByRole('link', { name: 'Bulk notices' }).click();
  await p.locator('h1', { hasText: 'Bulk notices' }).waitFor();
  assert.equal(await p.getByRole('link', { name: 'Bulk notices' }).getAttribute('aria-current'), 'page');
  await p.locator('#bulk-list-h', { hasText: 'Notices sent' }).waitFor();
  assert.equal(await p.locator('#bulk-list > li').count(), 0);
  await p.locator('.list-status', { hasText: 'No bulk notices yet.' }).waitFor();

  // what a notice is for, said before it is sent
  const explain = await p.locator('#bulk-explain').textContent();
  for (const words of ['a product recall, a delay', 'critical message', 'opted out', 'Promotions are refused', 'rate limit']) {
    assert.ok(explain.includes(words), `the explanation says "${words}": ${explain}`);
  }

  // the actions that take a text, as the server describes them, "Unexpected problem" first chosen
  const action = p.getByLabel('Message action');
  await until(async () => (await action.locator('option').count()) > 0, 'the message actions listed');
  const offered = (await server.api(sam, 'GET', `/v1/orders/${RECENT[0]}/actions`)).body.actions
    .filter((x) => x.max_text > 0 && !x.attachment_required && x.name !== 'warranty');
  assert.deepEqual(await action.locator('option').evaluateAll((os) => os.map((o) => o.value)), offered.map((x) => x.name));
  assert.ok(offered.some((x) => x.name === 'unexpectedProblem'));
  assert.equal(await action.inputValue(), 'unexpectedProblem');
  assert.match(await action.locator('option:checked').textContent(), /^Unexpected problem \(up to 2,000 characters\)$/);
  assert.equal(await action.locator('option[value="invoice"]').count(), 0, 'no action that needs a file');

  // three orders and a canceled one, one a line and comma-separated; the text with its count
  assert.equal(await p.getByLabel('These orders').isChecked(), true);
  await p.getByLabel('Order IDs').fill(`${RECENT[0]}\n${RECENT[1]}, ${RECENT[2]}\n${CANCELED}\n`);
  await p.locator('.help', { hasText: '4 orders.' }).waitFor();
  await p.getByLabel('Notice', { exact: true }).fill(RECALL);
  await p.locator('.counter', { hasText: `${RECALL.length} / 2,000 characters` }).waitFor();
  await shot(p, 'bulk', 'form');
  await p.getByRole('button', { name: 'Send the notice' }).click();

  // the new notice's page, followed until it is done
  await p.waitForURL((u) => /^#\/bulk-notices\/BN[0-9a-z]+$/i.test(u.hash));
  recallId = decodeURIComponent(new URL(p.url()).hash.split('/')[2]);
  await p.locator('h1', { hasText: `Bulk notice ${recallId}` }).waitFor();
  await p.locator('#bulk-summary[data-status="done"]').waitFor();
  assert.equal(await p.locator('#bulk-text').textContent(), RECALL);
  assert.deepEqual({ delivered: await count(p, 'delivered'), not_delivered: await count(p, 'not_delivered'), failed: await count(p, 'failed'),
    canceled: await count(p, 'canceled'), pending: await count(p, 'pending') },
  { delivered: '3', not_delivered: '0', failed: '1', canceled: '0', pending: '0' });
  assert.equal(await p.locator('#bulk-progress').textContent(), 'Done: 3 delivered, 1 failed.');
  assert.equal(await p.locator('#bulk-cancel').isVisible(), false, 'nothing to cancel once done');
  const server1 = await notice(recallId);
  assert.equal(server1.status, 'done');
  assert.deepEqual(server1.counts, { pending: 0, delivered: 3, not_delivered: 0, failed: 1, canceled: 0 });
  // each order's state; the canceled one failed with the server's reason, in words
  const rows = p.locator('#bulk-items tbody tr');
  assert.deepEqual(await rows.evaluateAll((rs) => rs.map((r) => [r.dataset.order, r.dataset.state]).sort()),
    server1.items.map((i) => [i.order_id, i.state]).sort());
  const failed = p.locator(`#bulk-items tr[data-order="${CANCELED}"]`);
  assert.equal(await failed.getAttribute('data-state'), 'failed');
  const reason = server1.items.find((i) => i.order_id === CANCELED).error;
  assert.match(reason, /^order_canceled: /);
  const words = reason.replace(/^order_canceled: /, '');
  assert.match(await failed.textContent(), new RegExp(`Failed${words[0].toUpperCase()}${words.slice(1).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\. \\(order_canceled\\)$`));
  assert.equal(await failed.getByRole('link').count(), 0);
  for (const o of RECENT) {
    await p.locator(`#bulk-items tr[data-order="${o}"][data-state="delivered"]`).getByRole('link', { name: `Open the message to order ${o}` }).waitFor();
  }
  await shot(p, 'bulk', 'done');

  // the phone's width: nothing scrolls sideways
  await p.setViewportSize({ width: 390, height: 844 });
  assert.ok(await noOverflow(p) <= 0, 'the notice fits 390 px');
  await shot(p, 'bulk', 'done-phone');
  await p.setViewportSize({ width: 1280, height: 900 });

  // a delivered order's message, in its conversation
  const item = server1.items.find((i) => i.order_id === RECENT[1]);
  await p.locator(`#bulk-items tr[data-order="${RECENT[1]}"]`).getByRole('link', { name: 'Open the message' }).click();
  await p.waitForURL((u) => u.hash.startsWith('#/thread/T'));
  const msg = p.locator(`#msg-${item.message_id}`);
  await msg.waitFor();
  assert.ok((await msg.textContent()).includes(RECALL), 'the message holds the recall');
  await p.locator('.thread-meta', { hasText: `Order ${RECENT[1]}` }).waitFor();
  await shot(p, 'bulk', 'message');

  // the list: the notice with when, the action, its first words, status and counts
  await p.getByRole('link', { name: 'Bulk notices' }).click();
  const card = p.locator(`#bulk-list > li[data-notice="${recallId}"]`);
  await card.waitFor();
  assert.equal(await card.getAttribute('data-status'), 'done');
  assert.match(await card.locator('h3').textContent(), / · Unexpected problem$/);
  assert.match(await card.locator('.bulk-words').textContent(), /^Important safety notice: the charger sold with this .*…$/);
  assert.equal(await card.locator('[data-count="delivered"] dd').textContent(), '3');
  assert.equal(await card.locator('[data-count="failed"] dd').textContent(), '1');
  assert.equal(await card.getByTestId('bulk-status').textContent(), 'Done');
  await p.setViewportSize({ width: 390, height: 844 });
  assert.ok(await noOverflow(p) <= 0, 'the list and form fit 390 px');
  await shot(p, 'bulk', 'list-phone');
  await card.getByRole('link').click();
  await p.locator('h1', { hasText: `Bulk notice ${recallId}` }).waitFor();
  a.check();
  await a.close();
});

test('a promotional text, an unknown order and a shipping confirmation are refused next to the form, what was typed kept, nothing created', async () => {
  const a = await newPage(chrome.browser, server.url, { name: 'bulk-refused' });
  const p = a.page;
  const refused = a.allow(/\/v1\/bulk-notices$/, 422);
  const unknown = a.allow(/\/v1\/bulk-notices$/, 404);
  const before = (await notices(sam)).length;
  await signIn(p, sam, '#/inbox');
  await p.goto('/#/bulk-notices');
  await p.locator('h1', { hasText: 'Bulk notices' }).waitFor();
  const ids = p.getByLabel('Order IDs');
  const text = p.getByLabel('Notice', { exact: true });
  const error = p.locator('#bulk-error');
  await until(async () => (await p.getByLabel('Message action').inputValue()) === 'unexpectedProblem', 'the actions read');

  // a promotion: the server's words, and the policy's findings in the page's words
  await ids.fill(RECENT[0]);
  await text.fill(PROMO);
  await p.getByRole('button', { name: 'Send the notice' }).click();
  await error.filter({ hasText: 'Refused, nothing was sent' }).waitFor();
  assert.equal(await error.getAttribute('role'), 'alert');
  assert.match(await error.textContent(), /breaks the communication policy/);
  const promotion = (await server.api(sam, 'GET', '/v1/meta')).body.policy_categories.find((c) => c.id === 'promotion');
  const finding = p.locator('#bulk-findings .finding[data-category="promotion"]', { hasText: 'spring sale' });
  await finding.waitFor();
  assert.ok((await finding.textContent()).includes(promotion.label), 'the category in words');
  assert.ok((await finding.textContent()).includes(promotion.hint), 'and how to rewrite it');
  assert.equal(await text.inputValue(), PROMO, 'the text is kept');
  assert.equal(await ids.inputValue(), RECENT[0]);
  assert.equal(await text.getAttribute('aria-invalid'), 'true');
  assert.equal(await p.evaluate(() => document.activeElement && document.activeElement.name), 'text', 'the text to fix has the focus');
  assert.equal(new URL(p.url()).hash, '#/bulk-notices', 'still on the form');
  await shot(p, 'bulk', 'promotion-refused');

  // a shipping confirmation may not start a conversation either
  await text.fill('Good news: your order has shipped and is on its way.');
  assert.equal(await error.isVisible(), false, 'typing clears the error');
  await p.getByRole('button', { name: 'Send the notice' }).click();
  await error.filter({ hasText: 'shipping confirmation' }).waitFor();

  // an order that is not the seller's: named, the orders field to fix
  await ids.fill(`${RECENT[0]}\n113-5559999-0000009`);
  await text.fill(DELAY);
  await p.getByRole('button', { name: 'Send the notice' }).click();
  await error.filter({ hasText: 'no order 113-5559999-0000009' }).waitFor();
  assert.equal(await ids.getAttribute('aria-invalid'), 'true');
  assert.equal(await text.inputValue(), DELAY);

  // checked in the page: nothing to send to, and a text over the action's limit
  await ids.fill('');
  await p.getByRole('button', { name: 'Send the notice' }).click();
  await error.filter({ hasText: 'Give at least one order ID.' }).waitFor();
  await ids.fill(RECENT[0]);
  await text.fill('x'.repeat(2001));
  await p.locator('.counter.over', { hasText: '2,001 / 2,000 characters' }).waitFor();
  await p.getByRole('button', { name: 'Send the notice' }).click();
  await error.filter({ hasText: 'longer than 2,000 characters' }).waitFor();

  assert.equal(refused.seen, 2, 'the policy and the purpose refused');
  assert.equal(unknown.seen, 1, 'the unknown order refused');
  assert.equal((await notices(sam)).length, before, 'nothing was created');
  a.check();
  await a.close();
});

test('a running notice\'s page asks again every 2 s until it is done, stops when left, and cancels after a confirmation', async () => {
  // The seller's rate limit lets a message through once in a thousand seconds: the notices
  // run until the test cancels them or lifts the limit. The page's clock is the test's, so
  // its 2-second refresh happens when the test moves the clock on.
  rateLimit(SLOW);
  const a = await newPage(chrome.browser, server.url, { name: 'bulk-running' });
  const p = a.page;
  await p.clock.install();
  await p.addInitScript(() => {
    // the requests for each notice, counted as the page makes them, and those it has read
    window.noticeReads = {};
    window.noticeDone = {};
    const real = window.fetch;
    window.fetch = async (url, ...rest) => {
      const m = /^\/v1\/bulk-notices\/([^/?]+)$/.exec(String(url));
      if (m) window.noticeReads[m[1]] = (window.noticeReads[m[1]] || 0) + 1;
      const res = await real(url, ...rest);
      if (m) {
        const text = res.text.bind(res);
        res.text = () => text().then((t) => { window.noticeDone[m[1]] = (window.noticeDone[m[1]] || 0) + 1; return t; });
      }
      return res;
    };
  });
  const reads = (id) => p.evaluate((x) => window.noticeReads[x] || 0, id);
  // the page has read every answer it asked for (and drew it, and set its next refresh)
  const settled = (id) => until(() => p.evaluate((x) => (window.noticeDone[x] || 0) === (window.noticeReads[x] || 0), id), `the reads of ${id} answered`);
  const go = (hash) => p.evaluate((x) => { location.hash = x; }, hash); // in the page: its clock stays the test's
  await signIn(p, sam, '#/inbox');
  await p.clock.pauseAt(await p.evaluate(() => Date.now() + 1000));

  const create = async (orders, text) => {
    const r = await server.api(sam, 'POST', '/v1/bulk-notices', { order_ids: orders, action: 'unexpectedProblem', text });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    return r.body.bulk_notice.id;
  };
  const running = await create(RUNNING, DELAY);
  await go(`#/bulk-notices/${running}`);
  await p.locator('#bulk-summary[data-status="running"]').waitFor();
  assert.match(await p.locator('#bulk-progress').textContent(), /^Sending: \d of 3 orders done\./);
  assert.equal(await reads(running), 1);
  await p.clock.runFor(1900);
  assert.equal(await reads(running), 1, 'not before 2 s');
  await p.clock.runFor(100);
  assert.equal(await reads(running), 2, 'asked again after 2 s');
  await settled(running);
  await p.clock.runFor(2000);
  assert.equal(await reads(running), 3, 'and again');
  await settled(running);

  // left: no more requests for it
  await p.getByRole('link', { name: 'All bulk notices' }).click();
  await p.locator(`#bulk-list > li[data-notice="${running}"][data-status="running"]`).waitFor();
  await p.clock.runFor(10000);
  assert.equal(await reads(running), 3, 'no refresh once the page is left');

  // Cancel asks first; the second press cancels what is not sent yet
  await p.locator(`#bulk-list > li[data-notice="${running}"]`).getByRole('link').click();
  await p.locator('#bulk-summary[data-status="running"]').waitFor();
  const cancel = p.locator('#bulk-cancel');
  await cancel.click();
  await p.getByRole('button', { name: 'Confirm: cancel the orders not sent yet' }).waitFor();
  assert.equal((await notice(running)).status, 'running', 'nothing canceled on the first press');
  await cancel.click();
  await p.locator('#bulk-summary[data-status="canceled"]').waitFor();
  const canceled = await notice(running);
  assert.equal(canceled.status, 'canceled');
  assert.equal(canceled.counts.pending, 0);
  assert.equal(canceled.counts.delivered + canceled.counts.canceled, 3);
  assert.ok(canceled.counts.canceled >= 2, JSON.stringify(canceled.counts));
  assert.equal(await count(p, 'canceled'), String(canceled.counts.canceled));
  assert.equal(await count(p, 'delivered'), String(canceled.counts.delivered));
  assert.equal(await count(p, 'pending'), '0');
  assert.equal(await p.locator('#bulk-items tr[data-state="canceled"]', { hasText: 'Not sent: the notice was canceled.' }).count(), canceled.counts.canceled);
  assert.equal(await cancel.isVisible(), false);
  await shot(p, 'bulk', 'canceled');

  // a notice that runs on: the open page shows it done by itself once the limit is lifted
  const followed = await create(REFRESHED, DELAY);
  await go(`#/bulk-notices/${followed}`);
  await p.locator('#bulk-summary[data-status="running"]').waitFor();
  assert.notEqual(await count(p, 'pending'), '0');
  rateLimit(FAST);
  await until(async () => (await notice(followed)).status === 'done', 'the notice sent once the limit is lifted');
  assert.equal(await p.locator('#bulk-summary').getAttribute('data-status'), 'running', 'the page has not asked yet');
  await p.clock.runFor(2000);
  await p.locator('#bulk-summary[data-status="done"]').waitFor();
  await settled(followed);
  assert.equal(await count(p, 'delivered'), '3');
  assert.equal(await count(p, 'pending'), '0');
  assert.equal(await p.locator('#bulk-progress').textContent(), 'Done: 3 delivered.');
  const n = await reads(followed);
  await p.clock.runFor(10000);
  assert.equal(await reads(followed), n, 'no refresh once it is done');
  a.check();
  await a.close();
});

test('a read-only agent sees the notices without the form, and cannot cancel', async () => {
  const id = recallId || (await notices(sam))[0].id;
  const a = await newPage(chrome.browser, server.url, { name: 'bulk-rita' });
  const p = a.page;
  await signIn(p, rita, '#/inbox');
  await p.getByRole('link', { name: 'Bulk notices' }).click();
  await p.locator('h1', { hasText: 'Bulk notices' }).waitFor();
  await p.locator(`#bulk-list > li[data-notice="${id}"]`).waitFor();
  assert.deepEqual(await p.locator('#bulk-list > li').evaluateAll((ls) => ls.map((l) => l.dataset.notice)),
    (await notices(rita)).map((x) => x.id), 'the seller\'s notices, newest first');
  await p.locator('#bulk-read-only', { hasText: 'Your role reads the notices.' }).waitFor();
  assert.equal(await p.locator('form.bulk-form').count(), 0, 'no form');
  assert.equal(await p.getByRole('button', { name: 'Send the notice' }).count(), 0);
  await p.locator(`#bulk-list > li[data-notice="${id}"]`).getByRole('link').click();
  await p.locator('#bulk-summary[data-status="done"]').waitFor();
  assert.equal(await p.locator('#bulk-cancel').count(), 0, 'no Cancel');
  await shot(p, 'bulk', 'read-only');
  a.check();
  await a.close();
});

test('the operator sees every seller\'s notices with the seller, newest first', async () => {
  const id = recallId || (await notices(sam))[0].id;
  const a = await newPage(chrome.browser, server.url, { name: 'bulk-operator' });
  const p = a.page;
  await signIn(p, server.tokens.operator, '#/threads');
  await p.getByRole('link', { name: 'Bulk notices' }).click();
  await p.locator('h1', { hasText: 'Bulk notices' }).waitFor();
  await p.locator('#bulk-list-h', { hasText: 'Notices of every seller' }).waitFor();
  const card = p.locator(`#bulk-list > li[data-notice="${id}"]`);
  await card.waitFor();
  const all = await notices(server.tokens.operator);
  assert.ok(all.some((x) => x.id === id), 'the recall among them');
  assert.deepEqual(await p.locator('#bulk-list > li').evaluateAll((ls) => ls.map((l) => l.dataset.notice)), all.map((x) => x.id));
  const times = all.map((x) => Date.parse(x.created_at));
  assert.deepEqual([...times].sort((x, y) => y - x), times, 'newest first');
  assert.equal(await card.getByTestId('bulk-seller').textContent(), 'Seller S1');
  assert.equal(await p.locator('form.bulk-form').count(), 0, 'the operator sends none');
  await card.getByRole('link').click();
  await p.locator('#bulk-summary[data-status="done"]').waitFor();
  assert.equal(await p.locator('#bulk-summary').getByTestId('bulk-seller').textContent(), 'S1');
  assert.equal(await p.locator('#bulk-items tbody tr').count(), 4);
  assert.equal(await p.locator('#bulk-cancel').count(), 0);
  await shot(p, 'bulk', 'operator');
  a.check();
  await a.close();
});
