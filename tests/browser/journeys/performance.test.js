// performance.test.js - journeys 6 and 7: the seller's performance page shows the server's real metrics; a seller sends a message action and requests a review.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, newPage, shot, signIn } from '../lib/harness.js';

let server;
let chrome;
before(async () => {
  server = await startServer();
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
    assert.equal(await p.locator('[data-testid="deadlines-due-soon"] a').first().getAttribute('href'), `#/thread/T${m.deadlines.due_soon[0].thread}`);
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
  await buyer.page.goto('/#/thread/T1');
  await buyer.page.locator('.msg').first().waitFor();
  await signIn(p, server.tokens.agents['Maya Lopez'].token, '#/inbox');
  await p.goto('/#/thread/T1');
  const panel = p.getByTestId('seller-actions');
  await panel.getByLabel('Message action', { exact: true }).waitFor();

  // Available actions in the picker; the others listed with the reason.
  const options = await panel.locator('select option').allTextContents();
  assert.ok(options.includes('Warranty information (non-critical)'), `warranty offered (${options})`);
  assert.ok(!options.some((o) => o.startsWith('Confirm delivery details')), 'not offered after delivery');
  await panel.locator('details.unavailable summary').click();
  assert.match(await panel.locator('[data-action="confirmDeliveryDetails"]').textContent(), /Confirm delivery details: only before the order is delivered/);
  assert.match(await panel.locator('[data-action="invoice"]').textContent(), /attachment/);

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
  await sam.page.goto('/#/thread/T1');
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
  const review = (await server.api(server.tokens.agents['Maya Lopez'].token, 'GET', '/v1/threads/T1')).body.messages.filter((m) => m.kind === 'review_request');
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
