// marketplace-rules.test.js - journeys 6 to 9: the performance page shows the server's real metrics; a seller sends a message action and requests a review; the operator approves and rejects held messages, sees violations and sellers by risk, imposes a quota; a buyer opts out, then blocks one seller.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, newPage, shot, signIn } from '../lib/harness.js';

let server;
let T1, T2, T3, T4; // the demo's threads, in the order they were opened (tokens file)
let chrome;
before(async () => {
  server = await startServer();
  [T1, T2, T3, T4] = server.tokens.threads.map((t) => t.id);
  chrome = await launch();
});
after(async () => {
  if (chrome) await chrome.close();
  if (server) await server.stop();
});

const pct = (p) => (p === null ? '—' : `${p.toFixed(1)} %`);
const texts = (loc) => loc.evaluateAll((els) => els.map((e) => e.textContent.trim()));

test('the performance page renders the seller\'s real metrics', async () => {
  const sp = await newPage(chrome.browser, server.url, { name: 'seller' });
  const p = sp.page;
  const maya = server.tokens.agents['Maya Lopez'].token;
  await signIn(p, maya, '#/inbox');
  const m = (await server.api(maya, 'GET', '/v1/sellers/S1/metrics?window=30d')).body;
  const en = (await server.api(maya, 'GET', '/v1/sellers/S1/enforcement')).body;
  assert.ok(m.crt.received > 0, 'the demo has buyer messages');

  await p.getByRole('link', { name: 'Performance' }).click();
  await p.locator('h1', { hasText: 'Performance' }).waitFor();
  assert.equal(await p.getByRole('link', { name: 'Performance' }).getAttribute('aria-current'), 'page');
  assert.equal(await p.locator('[data-window="30d"][aria-pressed]').getAttribute('aria-pressed'), 'true');

  // The CRT figure, its status and the counts are the API's.
  assert.equal(await p.getByTestId('crt-percent').textContent(), pct(m.crt.percent));
  const status = { good: 'Good', warning: 'Warning', at_risk: 'At risk', no_data: 'No data' }[m.crt.status];
  assert.equal(await p.getByTestId('crt-status').textContent(), status);
  assert.match(await p.getByTestId('crt-gauge').getAttribute('aria-label'), new RegExp(`${pct(m.crt.percent).replace('.', '\\.')}: ${status}\\.`));
  const counts = await texts(p.locator('[data-testid="crt-counts"] dd'));
  assert.deepEqual(counts.map((t) => Number(t.split(' ')[0])), [m.crt.on_time, m.crt.late, m.crt.pending, m.crt.flagged, m.crt.received]);
  // Response times: mean, median, p90 and the number answered.
  const rt = await texts(p.locator('[data-testid="rt-figures"] dd'));
  const dur = (s) => (s === null ? '—' : s < 3600 ? `${Math.floor(s / 60)} min` : `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`);
  assert.deepEqual(rt, [dur(m.response_time.avg_s), dur(m.response_time.median_s), dur(m.response_time.p90_s), String(m.response_time.answered)]);
  // The heat strips hold by_hour and by_weekday exactly.
  assert.deepEqual((await texts(p.locator('.heat-hours .heat-n'))).map(Number), m.volume.by_hour);
  assert.deepEqual((await texts(p.locator('.heat-days .heat-n'))).map(Number), m.volume.by_weekday);
  const busiest = m.volume.by_hour.indexOf(Math.max(...m.volume.by_hour));
  assert.match(await p.locator(`.heat-hours [data-hour="${busiest}"]`).getAttribute('class'), /heat-4/, 'the busiest hour is darkest');
  // Agents, deadlines and enforcement.
  assert.equal(await p.locator('[data-testid="agents"] tbody tr').count(), m.agents.length);
  assert.equal(await p.locator('[data-testid="deadlines-due-soon"] li').count(), m.deadlines.due_soon.length);
  if (m.deadlines.due_soon.length) {
    assert.equal(await p.locator('[data-testid="deadlines-due-soon"] a').first().getAttribute('href'), `#/thread/${String(m.deadlines.due_soon[0].thread).replace(/^(?!T)/, 'T')}`);
  }
  assert.equal(await p.getByTestId('warnings').evaluate((e) => e.firstChild.textContent), String(en.warnings));
  assert.match(await p.getByTestId('enforcement').textContent(), /Not restricted.*No quota.*Not flagged/s);
  if (m.no_response_needed.over_flagging) await p.getByTestId('over-flagging').waitFor();

  // The 90-day trend: 13 weekly points drawn by the page, the last one the 7-day figure now.
  await p.locator('[data-testid="trend"] svg').waitFor();
  const weeks = p.locator('[data-testid="trend"] [data-week]');
  assert.equal(await weeks.count(), 13);
  const lastAt = await weeks.last().getAttribute('data-week');
  const last = (await server.api(maya, 'GET', `/v1/sellers/S1/metrics?window=7d&at=${lastAt}`)).body;
  const lastRow = await texts(p.locator('.trend-table tbody tr').last().locator('td'));
  assert.equal(lastRow[1], pct(last.crt.percent));
  assert.equal(lastRow[4], String(last.crt.received));
  await shot(p, 'journey6', 'performance-30d');

  // Another window: the 7-day figures.
  await p.getByRole('button', { name: 'Last 7 days' }).click();
  await p.waitForURL(/window=7d/);
  await p.locator('.perf-grid[data-window="7d"]').waitFor();
  const m7 = (await server.api(maya, 'GET', '/v1/sellers/S1/metrics?window=7d')).body;
  assert.equal(await p.getByTestId('crt-percent').textContent(), pct(m7.crt.percent));
  assert.deepEqual((await texts(p.locator('.heat-hours .heat-n'))).map(Number), m7.volume.by_hour);

  // Phone width: one column, no sideways scrolling.
  await p.setViewportSize({ width: 375, height: 800 });
  await p.locator('[data-testid="trend"] svg').waitFor();
  await shot(p, 'journey6', 'performance-phone');
  const overflow = await p.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `no horizontal scrolling at 375 px (overflow ${overflow}px)`);
  sp.check();
  await sp.close();
});

test('a seller sends a message action and requests a review; a second request is refused kindly', async () => {
  const maya = await newPage(chrome.browser, server.url, { name: 'maya' });
  const sam = await newPage(chrome.browser, server.url, { name: 'sam' });
  const buyer = await newPage(chrome.browser, server.url, { name: 'buyer' });
  const p = maya.page;
  const refused = maya.allow(/\/v1\/orders\/112-4839201-5561023\/review-request$/, 403);
  const refusedSam = sam.allow(/\/v1\/orders\/112-4839201-5561023\/review-request$/, 403);
  await signIn(buyer.page, server.tokens.buyers.B1, '#/messages');
  await buyer.page.goto(`/#/thread/${T1}`);
  await buyer.page.locator('.msg').first().waitFor();
  await signIn(p, server.tokens.agents['Maya Lopez'].token, '#/inbox');
  await p.goto(`/#/thread/${T1}`);
  const panel = p.getByTestId('seller-actions');
  // the message actions are folded away from the reply box until asked for
  assert.equal(await panel.getByLabel('Message action', { exact: true }).isVisible(), false);
  await panel.getByText('Send a message action').click();
  await panel.getByLabel('Message action', { exact: true }).waitFor();

  // Available actions in the picker; the others listed with the reason.
  const options = await panel.locator('select option').allTextContents();
  assert.ok(options.includes('Warranty information (non-critical)'), `warranty offered (${options})`);
  assert.ok(!options.some((o) => o.startsWith('Confirm delivery details')), 'not offered after delivery');
  await panel.locator('details.unavailable summary').click();
  assert.match(await panel.locator('[data-action="confirmDeliveryDetails"]').textContent(), /Confirm delivery details: only before the order is delivered/);
  // The invoice needs a file: offered, and stopped in the page without one.
  assert.ok(options.includes('Invoice'), `invoice offered (${options})`);
  await panel.getByLabel('Message action', { exact: true }).selectOption('invoice');
  await panel.getByRole('button', { name: 'Send action' }).click();
  await panel.locator('.alert-error', { hasText: 'Invoice needs a file: attach it first.' }).waitFor();

  // The warranty needs its coverage dates: stopped in the page first.
  await panel.getByLabel('Message action', { exact: true }).selectOption('warranty');
  await panel.getByLabel('Message', { exact: true }).fill('Your drill comes with a two-year manufacturer warranty.');
  await panel.getByRole('button', { name: 'Send action' }).click();
  await panel.locator('[role="alert"]', { hasText: 'Enter the date the warranty starts.' }).waitFor();
  assert.equal(await p.evaluate(() => document.activeElement.name), 'coverage_start');
  await panel.getByLabel('From').fill('2026-01-01');
  await panel.getByLabel('Until').fill('2027-12-31');
  await shot(p, 'journey7', 'action-form');
  await panel.getByRole('button', { name: 'Send action' }).click();
  await panel.getByTestId('action-status').filter({ hasText: 'Warranty information: sent to the buyer.' }).waitFor();
  await p.locator('.msg-seller .msg-text', { hasText: 'two-year manufacturer warranty' }).waitFor();
  // The buyer's open thread shows it live.
  await buyer.page.locator('.msg-seller .msg-text', { hasText: 'two-year manufacturer warranty' }).waitFor();

  // Sam has the same thread open before the review is requested.
  await signIn(sam.page, server.tokens.agents['Sam Chen'].token, '#/inbox');
  await sam.page.goto(`/#/thread/${T1}`);
  await sam.page.getByTestId('seller-actions').getByText('Send a message action').click();
  await sam.page.getByTestId('seller-actions').getByLabel('Message action', { exact: true }).waitFor();

  // Request a review: sent as the marketplace's own message.
  await panel.getByRole('button', { name: 'Request a review' }).click();
  await panel.getByTestId('review-status').filter({ hasText: 'Review requested.' }).waitFor();
  await p.locator('.msg-seller', { has: p.locator('.badge', { hasText: 'Review request' }) }).waitFor();
  await panel.locator('p', { hasText: /^A review was requested on / }).waitFor();
  await shot(p, 'journey7', 'review-requested');

  // A second request (here and from Sam's page) gets the already-requested reason.
  await panel.getByRole('button', { name: 'Request a review' }).click();
  const again = panel.getByTestId('review-status');
  await again.filter({ hasText: 'A review was already requested for this order on' }).waitFor();
  assert.match(await again.textContent(), /allows one review request per order/);
  assert.equal(refused.seen, 1, 'the 403 came from the server');
  const samPanel = sam.page.getByTestId('seller-actions');
  await samPanel.getByRole('button', { name: 'Request a review' }).click();
  await samPanel.getByTestId('review-status').filter({ hasText: 'already requested' }).waitFor();
  assert.equal(refusedSam.seen, 1);
  await shot(p, 'journey7', 'review-already-requested');
  const review = (await server.api(server.tokens.agents['Maya Lopez'].token, 'GET', `/v1/threads/${T1}`)).body.messages.filter((m) => m.kind === 'review_request');
  assert.equal(review.length, 1, 'one review request stored');

  // Phone width: the order panel with its actions above the conversation.
  await p.setViewportSize({ width: 375, height: 800 });
  await shot(p, 'journey7', 'thread-phone');
  const overflow = await p.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `no horizontal scrolling at 375 px (overflow ${overflow}px)`);
  for (const x of [maya, sam, buyer]) {
    x.check();
    await x.close();
  }
});

// "Pair it with" is a low-severity promotion finding, which the default policy holds for review.
const HELD = 'Thanks for waiting! The lamp ships today. Pair it with our matching shade.';

test('the operator approves a held message and the buyer sees it; a rejected one becomes a violation', async () => {
  const buyer = await newPage(chrome.browser, server.url, { name: 'buyer' });
  const seller = await newPage(chrome.browser, server.url, { name: 'seller' });
  const op = await newPage(chrome.browser, server.url, { name: 'operator' });
  const maya = server.tokens.agents['Maya Lopez'].token;

  // The buyer (B2) has the conversation about the shipped lamp open.
  await signIn(buyer.page, server.tokens.buyers.B2, '#/messages');
  await buyer.page.goto(`/#/thread/${T2}`);
  await buyer.page.locator('.msg-buyer').first().waitFor();
  await buyer.page.locator('#live-status.is-on').waitFor();

  // The seller writes; the live check says it would be held; it is sent and held.
  const s = seller.page;
  await signIn(s, maya, '#/inbox');
  await s.goto(`/#/thread/${T2}`);
  const box = s.getByLabel('Your message to the buyer');
  await box.fill(HELD);
  await s.locator('.policy-summary', { hasText: 'would be held for review' }).waitFor();
  await s.locator('#send').click();
  await s.locator('.alert', { hasText: 'held for review by the marketplace' }).waitFor();
  await s.locator('.msg-seller', { hasText: 'Pair it with' }).locator('.badge', { hasText: 'Held for review' }).waitFor();
  await shot(s, 'journey8', 'seller-held');
  assert.equal(await buyer.page.locator('.msg-seller').count(), 0, 'the buyer does not see a held message');

  // The operator's queue shows it with the finding marked.
  const p = op.page;
  await signIn(p, server.tokens.operator, '#/threads');
  await p.getByRole('link', { name: 'Review queue' }).click();
  await p.locator('h1', { hasText: 'Review queue' }).waitFor();
  assert.equal(await p.locator('[data-testid="not-available"]').count(), 0);
  assert.equal(await p.locator('#queue-count').textContent(), '1 message waits');
  const held = p.locator('#held-list > li').first();
  assert.match(await held.textContent(), /from Acme Tools \(S1\)/);
  assert.equal(await held.locator('mark.hl').textContent(), 'Pair it with', 'exactly the finding is marked');
  assert.equal(await held.locator('mark.hl').getAttribute('data-categories'), 'promotion');
  assert.match(await held.locator('.finding').textContent(), /Promotion.*Pair it with/s);
  assert.equal(await held.getByRole('link', { name: `thread ${T2}` }).getAttribute('href'), `#/thread/${T2}`);
  await shot(p, 'journey8', 'review-queue');

  await held.getByLabel('Note (optional)').fill('Upsell wording, acceptable here.');
  await held.getByRole('button', { name: 'Approve and deliver' }).click();
  await p.locator('#decision', { hasText: 'Approved' }).waitFor();
  await p.locator('#queue-empty', { hasText: 'Nothing waits for review.' }).waitFor();
  assert.equal(await p.locator('#queue-count').textContent(), '0 messages wait');
  await shot(p, 'journey8', 'review-queue-approved');

  // The buyer's open thread shows the approved message (live), the seller's shows it delivered.
  await buyer.page.locator('.msg-seller .msg-text', { hasText: 'Pair it with our matching shade.' }).waitFor();
  await shot(buyer.page, 'journey8', 'buyer-sees-approved');
  await s.locator('.msg-seller', { hasText: 'Pair it with' }).locator('.badge', { hasText: 'Delivered' }).waitFor();

  // A second held message (sent by API), rejected with a note: a violation for the seller.
  const r = await server.api(maya, 'POST', `/v1/threads/${T2}/messages`, { text: 'The shade goes perfectly with our desk lamp, pair it with that one too.' });
  assert.equal(r.body.message.status, 'held_for_review', JSON.stringify(r.body));
  await p.reload();
  await p.locator('#held-list > li').first().waitFor();
  await p.locator('#held-list > li').first().getByRole('button', { name: 'Reject' }).click();
  await p.locator('#decision', { hasText: 'Rejected' }).waitFor();
  await s.locator('.msg-seller', { hasText: 'desk lamp' }).locator('.badge', { hasText: 'Blocked by policy' }).waitFor();

  // Both decisions are examples for the marketplace's classifier; the operator retrains it
  // from them, and the marketplace's verdicts name the new model.
  const learn = p.locator('.learn-card[data-marketplace="ATVPDKIKX0DER"]');
  await learn.locator('.learn-counts[data-new="2"]', { hasText: '2 decisions kept (1 rejected), 2 since the start.' }).waitFor();
  assert.match(await learn.locator('h3').textContent(), /Example US \(ATVPDKIKX0DER\)/);
  assert.match(await learn.locator('.learn-model').textContent(), /the shipped model \(clf-[0-9a-f]{12}\)/);
  await learn.getByRole('button', { name: 'Retrain with these decisions' }).click();
  const trained = p.locator('.learn-card[data-marketplace="ATVPDKIKX0DER"] [role="status"]', { hasText: 'Trained clf-' });
  await trained.waitFor();
  const version = (await trained.textContent()).match(/clf-[0-9a-f]{12}/)[0];
  assert.match(await trained.textContent(), /on 2 decisions \(1 rejected\)/);
  await learn.locator('.learn-counts[data-new="0"]', { hasText: '0 since the last training' }).waitFor();
  assert.match(await learn.locator('.learn-model').textContent(), new RegExp(`its own model ${version}, trained .* by operator:`));
  assert.equal(await learn.getByRole('button', { name: 'Retrain with these decisions' }).isDisabled(), true, 'nothing new to learn');
  const check = await server.api(maya, 'POST', '/v1/policy/check', { text: 'Thanks, your order ships tomorrow.' });
  assert.ok(check.body.engine.endsWith(`+${version}`), JSON.stringify(check.body));
  await shot(p, 'journey8', 'review-queue-retrained');

  await p.getByRole('link', { name: 'Violations' }).click();
  await p.locator('h1', { hasText: 'Violations' }).waitFor();
  const row = p.locator('#violations tbody tr').first();
  assert.match(await row.textContent(), /Acme Tools.*Promotion.*Minor/s);
  assert.match(await row.textContent(), new RegExp(r.body.message.id));
  await shot(p, 'journey8', 'violations');

  // Sellers by risk: both sellers, with the API's figures and the new warning.
  await p.getByRole('link', { name: 'Sellers by risk' }).click();
  await p.locator('h1', { hasText: 'Sellers by risk' }).waitFor();
  const api = (await server.api(server.tokens.operator, 'GET', '/v1/sellers')).body.sellers;
  assert.deepEqual(await p.locator('#sellers tbody tr').evaluateAll((els) => els.map((e) => e.dataset.seller)), api.map((x) => x.seller_id), 'the server\'s order, riskiest first');
  const acme = p.locator('#sellers tr[data-seller="S1"]');
  assert.equal(await acme.locator('td').nth(5).textContent(), '1', 'one warning');
  const cp = api.find((x) => x.seller_id === 'S1').metrics.complaints;
  assert.equal(await acme.locator('td').nth(2).textContent(), cp.percent === null ? '—' : `${Number(cp.percent).toFixed(1)} %`, 'the complaint rate, as the API gives it');
  await shot(p, 'journey8', 'sellers-by-risk');

  for (const x of [buyer, seller, op]) {
    x.check();
    await x.close();
  }
});

test('the operator imposes and lifts a quota with a reason; the seller sees it', async () => {
  const op = await newPage(chrome.browser, server.url, { name: 'operator' });
  const seller = await newPage(chrome.browser, server.url, { name: 'seller' });
  const p = op.page;
  await signIn(p, server.tokens.operator, '#/threads');
  await p.getByRole('link', { name: 'Restrictions and quotas' }).click();
  await p.locator('h1', { hasText: 'Restrictions and quotas' }).waitFor();
  const acme = p.locator('section.seller-measures[data-seller="S1"]');
  const form = acme.getByTestId('measure-form');
  await form.getByLabel('Measure').selectOption('quota');
  await form.getByLabel('Days').fill('10');
  await form.getByLabel('Messages a day').fill('5');
  await form.getByRole('button', { name: 'Apply' }).click();
  // The reason is required, in the page, before anything is sent.
  await form.locator('[role="alert"]', { hasText: 'Give a reason: the seller sees it.' }).waitFor();
  assert.equal(await p.evaluate(() => document.activeElement.name), 'reason');
  await form.getByLabel('Reason').fill('Repeated promotional wording in replies.');
  await form.getByRole('button', { name: 'Apply' }).click();
  await form.locator('[role="status"]', { hasText: 'Done: set a daily message quota.' }).waitFor();
  await acme.getByTestId('enforcement').locator('text=5 messages a day until').waitFor();
  assert.match(await acme.getByTestId('enforcement').textContent(), /Reason: Repeated promotional wording in replies\./);
  await shot(p, 'journey9', 'restrictions');

  // The seller's own page shows the quota and its reason.
  await signIn(seller.page, server.tokens.agents['Maya Lopez'].token, '#/inbox');
  await seller.page.getByRole('link', { name: 'Performance' }).click();
  await seller.page.getByTestId('enforcement').locator('text=5 messages a day until').waitFor();
  assert.match(await seller.page.getByTestId('enforcement').textContent(), /Repeated promotional wording in replies/);

  // The seller's page for the operator, from sellers by risk: performance and measures.
  await p.getByRole('link', { name: 'Sellers by risk' }).click();
  await p.locator('#sellers').getByRole('link', { name: 'Acme Tools' }).click();
  await p.locator('h1', { hasText: 'Acme Tools (S1)' }).waitFor();
  await p.getByTestId('crt-percent').waitFor();
  await p.locator('[data-testid="trend"] svg').waitFor();
  const form2 = p.getByTestId('measure-form');
  await form2.getByLabel('Measure').selectOption('lift_quota');
  assert.ok(await form2.getByLabel('Days').isHidden(), 'lifting needs no days');
  await form2.getByLabel('Reason').fill('Wording fixed.');
  await form2.getByRole('button', { name: 'Apply' }).click();
  await p.getByTestId('enforcement').locator('text=No quota').waitFor();
  await shot(p, 'journey9', 'seller-page-operator');
  const en = (await server.api(server.tokens.operator, 'GET', '/v1/sellers/S1/enforcement')).body;
  assert.equal(en.quota.active, false);
  op.check();
  seller.check();
  await op.close();
  await seller.close();
});

test('a buyer opts out of non-critical messages', async () => {
  const b = await newPage(chrome.browser, server.url, { name: 'buyer', width: 375, height: 800 });
  const p = b.page;
  await signIn(p, server.tokens.buyers.B1, '#/messages');
  await p.getByRole('link', { name: 'Preferences' }).click();
  await p.locator('h1', { hasText: 'Preferences' }).waitFor();
  // the current choice, as the marketplace keeps it, is shown and checked
  await p.locator('#pref-current[data-opt-out="false"]', { hasText: 'Now you receive all messages from sellers.' }).waitFor();
  assert.equal(await p.getByLabel('Receive all messages from sellers').isChecked(), true);
  await p.getByLabel('Only messages I need').check();
  await p.getByRole('button', { name: 'Save', exact: true }).click();
  await p.locator('#pref-current[data-opt-out="true"]', { hasText: 'Saved: you receive only the messages you need.' }).waitFor();
  await shot(p, 'journey9', 'preferences-phone');
  const overflow = await p.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `no horizontal scrolling at 375 px (overflow ${overflow}px)`);

  // The server applies it: a non-critical proactive message (warranty, on an order the buyer
  // has not written about) is not delivered.
  const order = '112-5550002-0000002';
  const day = 24 * 3600 * 1000;
  const iso = (ms) => new Date(Date.now() - ms).toISOString().replace(/\.\d+Z$/, 'Z');
  const o = await server.api(server.tokens.operator, 'PUT', `/v1/orders/${order}`, {
    marketplace: 'ATVPDKIKX0DER', seller: 'S1', buyer: 'B1', status: 'delivered',
    purchased_at: iso(4 * day), shipped_at: iso(3 * day), delivered_at: iso(2 * day),
    items: [{ asin: 'B0C9990002', title: 'Work light', quantity: 1, price: '39.00', currency: 'USD' }],
  });
  assert.equal(o.status, 201, JSON.stringify(o.body));
  const maya = server.tokens.agents['Maya Lopez'].token;
  const w = await server.api(maya, 'POST', `/v1/orders/${order}/actions/warranty`,
    { coverage_start: '2026-01-01T00:00:00Z', coverage_end: '2027-01-01T00:00:00Z' });
  assert.equal(w.status, 201, JSON.stringify(w.body));
  assert.equal(w.body.message.status, 'not_delivered');
  assert.equal(w.body.message.proactive, true);

  // A new visit shows the saved choice; and back in.
  await p.reload();
  await p.locator('#pref-current[data-opt-out="true"]', { hasText: 'Now you receive only the messages you need.' }).waitFor();
  assert.equal(await p.getByLabel('Only messages I need').isChecked(), true);
  await p.getByLabel('Receive all messages from sellers').check();
  await p.getByRole('button', { name: 'Save', exact: true }).click();
  await p.locator('#pref-current[data-opt-out="false"]', { hasText: 'Saved' }).waitFor();

  // Blocking one seller instead: the sellers of the buyer's orders are listed; the one ticked
  // sends its non-critical proactive messages in vain, and the choice is kept.
  await p.locator('#blocks-status[data-blocked=""]', { hasText: 'No seller blocked.' }).waitFor();
  await p.locator('#blocks input[value="S1"]').check();
  await p.getByRole('button', { name: 'Save blocked sellers' }).click();
  await p.locator('#blocks-status[data-blocked="S1"]', { hasText: 'Saved: 1 seller blocked.' }).waitFor();
  const w2 = await server.api(maya, 'POST', `/v1/orders/${order}/actions/warranty`,
    { coverage_start: '2026-01-01T00:00:00Z', coverage_end: '2027-01-01T00:00:00Z' });
  assert.equal(w2.status, 201, JSON.stringify(w2.body));
  assert.equal(w2.body.message.status, 'not_delivered');
  await p.reload();
  await p.locator('#blocks-status[data-blocked="S1"]', { hasText: '1 seller blocked.' }).waitFor();
  assert.equal(await p.locator('#blocks input[value="S1"]').isChecked(), true);
  await p.locator('#blocks input[value="S1"]').uncheck();
  await p.getByRole('button', { name: 'Save blocked sellers' }).click();
  await p.locator('#blocks-status[data-blocked=""]', { hasText: 'Saved: No seller blocked.' }).waitFor();
  b.check();
  await b.close();
});
