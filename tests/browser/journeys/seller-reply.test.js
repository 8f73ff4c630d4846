// seller-reply.test.js - journey: a buyer asks, the seller sees it, types a forbidden link, sees the finding, fixes it, sends; the buyer sees the reply.
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

test('buyer asks, seller fixes a policy finding and replies, buyer sees the reply', async () => {
  const buyer = await newPage(chrome.browser, server.url, { name: 'buyer' });
  const seller = await newPage(chrome.browser, server.url, { name: 'seller' });
  const bp = buyer.page;
  const sp = seller.page;

  // The seller allowed notifications; a recording stand-in shows what the page raises.
  await sp.addInitScript(() => {
    window.recordedNotifications = [];
    window.Notification = class extends EventTarget {
      static permission = 'granted';
      static requestPermission() { return Promise.resolve('granted'); }
      constructor(title, options) { super(); window.recordedNotifications.push({ title, body: options && options.body }); }
      close() {}
    };
  });

  // The seller is signed in and looking at the inbox (Response needed) before the buyer writes.
  await signIn(sp, server.tokens.agents['Maya Lopez'].token, '#/inbox');
  await sp.locator('#thread-list[aria-busy="false"]').waitFor();
  assert.equal(await sp.locator('.tab[aria-pressed="true"]').textContent(), 'Response needed');
  await assert.doesNotReject(sp.locator('#rn-count', { hasText: '2 threads need a response' }).waitFor());
  assert.equal(await sp.locator(`[data-thread="${T1}"]`).count(), 0, `${T1} (flagged) is not in Response needed`);
  await shot(sp, 'journey1', 'seller-inbox-before');

  // The buyer opens the drill order's conversation and asks a question.
  await signIn(bp, server.tokens.buyers.B1, '#/messages');
  // Both pages listen for live updates (Server-Sent Events).
  await sp.locator('#live-status.is-on').waitFor();
  await bp.locator('#live-status.is-on').waitFor();
  await shot(bp, 'journey1', 'buyer-messages');
  await bp.locator(`[data-thread="${T1}"] a`).click();
  await bp.locator('h1', { hasText: 'Question about the product' }).waitFor();
  const question = 'Is a second battery included, or can I buy one?';
  await bp.getByLabel('Your message').fill(question);
  await bp.getByRole('button', { name: 'Send', exact: true }).click();
  await bp.locator('.msg-buyer .msg-text', { hasText: question }).waitFor();
  await shot(bp, 'journey1', 'buyer-thread-asked');

  // The seller's inbox shows the thread live (no reload) as needing a response, unread, with time left.
  const row = sp.locator(`[data-thread="${T1}"]`);
  await row.waitFor();
  await sp.locator('#rn-count', { hasText: '3 threads need a response' }).waitFor();
  // the notification names the buyer and the order and begins the message, not an id
  await sp.waitForFunction(() => window.recordedNotifications.length > 0);
  const notes = await sp.evaluate(() => window.recordedNotifications);
  const t1 = (await server.api(server.tokens.agents['Maya Lopez'].token, 'GET', `/v1/threads/${T1}?limit=1`)).body.thread;
  assert.deepEqual(notes, [{ title: `New message from ${t1.buyer_name}`, body: `Order ${t1.order_id}: ${question}` }]);
  assert.match(await row.getAttribute('class'), /is-unread/);
  assert.match(await row.locator('.due').textContent(), /\d+ h \d+ min left/);
  assert.match(await row.locator('.due').getAttribute('class'), /due-ok/);
  await shot(sp, 'journey1', 'seller-inbox-after');

  // Opening it shows the order and the question.
  await row.locator('a').click();
  await sp.locator('h1', { hasText: 'Question about the product' }).waitFor();
  await sp.locator('.order-panel', { hasText: '112-4839201-5561023' }).waitFor();
  await sp.locator('.order-panel .item-title', { hasText: 'Cordless drill 18V' }).waitFor();
  // the order as Seller Central shows it: where it ships, how, the total, the buyer's language
  assert.equal(await sp.locator('.order-panel [data-field="ship-country"]').textContent(), 'United States');
  assert.match(await sp.locator('.order-panel [data-field="tracking"]').textContent(), /^UPS · 1Z999AA10123456784$/);
  assert.match(await sp.locator('.order-panel [data-field="total"]').textContent(), /^Total \$89\.99$/);
  assert.equal(await sp.locator('.order-panel [data-field="buyer-language"]').textContent(), 'English');
  // the tab names the buyer and the order
  assert.ok((await sp.title()).endsWith(`${t1.buyer_name} · Order 112-4839201-5561023 · parley`), await sp.title()); // after the (count) of threads to answer
  await sp.locator('.msg-buyer .msg-text', { hasText: question }).waitFor();

  // Typing a forbidden link: the live check highlights exactly the address and explains it.
  const box = sp.getByLabel('Your message to the buyer');
  await box.click();
  await box.pressSequentially('Hi Jane, yes: spare batteries are listed at www.my-shop-deals.com', { delay: 5 });
  const mark = sp.locator('.editor-backdrop mark.hl-link');
  await mark.waitFor();
  assert.equal(await mark.textContent(), 'www.my-shop-deals.com');
  const finding = sp.locator('#policy-feedback .finding[data-category="link"]');
  await finding.waitFor();
  assert.match(await finding.textContent(), /Link/);
  assert.match(await finding.textContent(), /www\.my-shop-deals\.com/);
  assert.match(await finding.locator('.hint').textContent(), /Links and web addresses/);
  assert.match(await sp.locator('.policy-summary').textContent(), /1 problem to fix before sending: Link/);
  await shot(sp, 'journey1', 'seller-finding-highlighted');

  // Sending it anyway is stopped in the page, and nothing is sent.
  await sp.getByRole('button', { name: 'Send', exact: true }).click();
  await sp.locator('.compose [role="alert"]', { hasText: 'would be blocked' }).waitFor();
  assert.equal(await sp.locator('.msg-seller .msg-text', { hasText: 'my-shop-deals' }).count(), 0);

  // Fixing the text clears the finding; sending delivers the reply.
  const reply = 'Hi Jane, a second battery is not included. The 2.0 Ah battery is sold separately on the marketplace.';
  await box.fill('');
  await box.pressSequentially(reply, { delay: 2 });
  await sp.locator('.policy-summary', { hasText: 'No policy problems found.' }).waitFor();
  assert.equal(await sp.locator('.editor-backdrop mark').count(), 0);
  await sp.getByRole('button', { name: 'Send', exact: true }).click();
  const sent = sp.locator('.msg-seller', { hasText: 'sold separately on the marketplace' });
  await sent.waitFor();
  assert.equal(await sent.locator('.badge.status-delivered').textContent(), 'Delivered');
  await sp.locator('#thread-state', { hasText: 'Answered' }).waitFor();
  assert.equal(await box.inputValue(), '');
  await shot(sp, 'journey1', 'seller-thread-replied');

  // The buyer sees the reply appear in the open thread, live.
  await bp.locator('.msg-seller .msg-text', { hasText: 'sold separately on the marketplace' }).waitFor();
  await shot(bp, 'journey1', 'buyer-thread-reply');

  // Phone width: the seller's thread at 375 px.
  await sp.setViewportSize({ width: 375, height: 800 });
  await shot(sp, 'journey1', 'seller-thread-phone');
  const overflow = await sp.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `no horizontal scrolling at 375 px (overflow ${overflow}px)`);

  buyer.check();
  seller.check();
  await buyer.close();
  await seller.close();
});
