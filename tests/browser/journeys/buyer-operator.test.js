// buyer-operator.test.js - journeys of the buyer (contact the seller from an order, ask about a product) and the operator (search, evidence export, the other operator pages).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { startServer, launch, newPage, shot, signIn } from '../lib/harness.js';

let server;
let T1, T2, T3, T4; // the demo's threads, in the order they were opened (tokens file)
let chrome;
const NEW_ORDER = '112-5550001-0000001';
before(async () => {
  server = await startServer();
  [T1, T2, T3, T4] = server.tokens.threads.map((t) => t.id);
  chrome = await launch();
  // A recent order of Jane's without a conversation yet.
  const day = 24 * 3600 * 1000;
  const iso = (ms) => new Date(Date.now() - ms).toISOString().replace(/\.\d+Z$/, 'Z');
  const r = await server.api(server.tokens.operator, 'PUT', `/v1/orders/${NEW_ORDER}`, {
    marketplace: 'ATVPDKIKX0DER', seller: 'S1', buyer: 'B1', status: 'delivered',
    purchased_at: iso(3 * day), shipped_at: iso(2 * day), delivered_at: iso(day),
    items: [{ asin: 'B0C9990001', title: 'Impact driver 18V', quantity: 1, price: '129.00', currency: 'USD' }],
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
});
after(async () => {
  if (chrome) await chrome.close();
  if (server) await server.stop();
});

test('a buyer contacts the seller from an order and asks about a product', async () => {
  const b = await newPage(chrome.browser, server.url, { name: 'buyer' });
  const s = await newPage(chrome.browser, server.url, { name: 'seller' });
  const p = b.page;
  await signIn(s.page, server.tokens.agents['Maya Lopez'].token, '#/inbox');
  await s.page.locator('#live-status.is-on').waitFor();
  await signIn(p, server.tokens.buyers.B1, '#/messages');
  await p.getByRole('link', { name: 'Your orders', exact: true }).click();
  await p.locator('h1', { hasText: 'Your orders' }).waitFor();
  const cards = p.locator('#order-list > li');
  assert.deepEqual(await cards.evaluateAll((els) => els.map((e) => e.dataset.order)),
    [NEW_ORDER, '112-0093847-3318290', '112-4839201-5561023'], 'newest purchase first');
  const canceled = p.locator('[data-order="112-0093847-3318290"]');
  assert.match(await canceled.textContent(), /Messaging is unavailable for canceled orders/);
  assert.equal(await canceled.getByRole('link', { name: 'Contact the seller' }).count(), 0);
  const old = p.locator('li[data-order="112-4839201-5561023"]');
  await old.getByRole('link', { name: 'Open the conversation' }).waitFor();
  assert.match(await old.textContent(), /Acme Tools/, 'the seller is named');
  await shot(p, 'journey5', 'orders');

  // Contact the seller: topic picker, message, send.
  await p.locator(`li[data-order="${NEW_ORDER}"]`).getByRole('link', { name: 'Contact the seller' }).click();
  await p.locator('h1', { hasText: 'Contact the seller' }).waitFor();
  await p.locator('.order-panel', { hasText: 'Impact driver 18V' }).waitFor();
  const topics = await p.locator('fieldset.topics label').allTextContents();
  assert.deepEqual(topics, ['Item not received', 'Wrong item received', 'Damaged or defective item', 'Return request', 'Question about the product', 'Shipping or delivery', 'Something else']);
  // Sending without a topic is refused in the page.
  await p.getByLabel('Your message').fill('The driver arrived with a cracked battery case.');
  await p.getByRole('button', { name: 'Send to the seller' }).click();
  await p.locator('[role="alert"]', { hasText: 'Pick a topic first.' }).waitFor();
  await p.getByLabel('Damaged or defective item').check();
  await shot(p, 'journey5', 'contact-form');
  await p.getByRole('button', { name: 'Send to the seller' }).click();
  await p.locator('h1', { hasText: 'Damaged or defective item' }).waitFor();
  await p.locator('.msg-buyer .msg-text', { hasText: 'cracked battery case' }).waitFor();
  const threadUrl = p.url();
  assert.match(threadUrl, /#\/thread\/T[0-9a-z]{12}$/);
  await shot(p, 'journey5', 'contact-sent');

  // The seller's inbox shows it live (last in Response needed: it has the most time left).
  const row = s.page.locator('#thread-list > li', { hasText: NEW_ORDER });
  await row.waitFor();
  assert.match(await row.textContent(), /Damaged or defective item/);

  // Back on the orders page the order now links to its conversation.
  await p.getByRole('link', { name: 'Your orders', exact: true }).click();
  await p.locator(`li[data-order="${NEW_ORDER}"]`).getByRole('link', { name: 'Open the conversation' }).click();
  await p.waitForURL(threadUrl);

  // Ask about a product from an order's item: the form comes filled in.
  await p.getByRole('link', { name: 'Your orders', exact: true }).click();
  await p.locator(`li[data-order="${NEW_ORDER}"]`).getByRole('link', { name: 'Ask a question about this product' }).click();
  await p.locator('h1', { hasText: 'Ask about a product' }).waitFor();
  assert.equal(await p.getByLabel('Product (ASIN)').inputValue(), 'B0C9990001');
  assert.equal(await p.getByLabel('Seller ID').inputValue(), 'S1');
  // the products of the buyer's orders are offered: picking one fills both fields
  const products = p.getByLabel('A product you ordered');
  assert.match(await products.locator('option:checked').textContent(), /\(B0C9990001\)$/);
  await products.selectOption({ label: 'Cordless drill 18V (B0C1234567)' });
  assert.equal(await p.getByLabel('Product (ASIN)').inputValue(), 'B0C1234567');
  await products.selectOption({ index: [...await products.locator('option').allTextContents()].findIndex((t) => t.endsWith('(B0C9990001)')) });
  assert.equal(await p.getByLabel('Product (ASIN)').inputValue(), 'B0C9990001');
  assert.deepEqual(await p.locator('fieldset.topics label').allTextContents(), ['Product specifications', 'Shipping timeframes', 'Customization options']);
  await p.getByLabel('Product specifications').check();
  await p.getByLabel('Your message').fill('Does the impact driver take 1/4 inch hex bits?');
  await shot(p, 'journey5', 'ask-form');
  await p.getByRole('button', { name: 'Send the question' }).click();
  await p.locator('h1', { hasText: 'Product specifications' }).waitFor();
  await p.locator('.order-panel', { hasText: 'B0C9990001' }).waitFor();
  await p.locator('.msg-buyer .msg-text', { hasText: '1/4 inch hex bits' }).waitFor();
  await shot(p, 'journey5', 'ask-sent');

  // Phone width: the buyer's messages and orders.
  await p.setViewportSize({ width: 375, height: 800 });
  await p.getByRole('link', { name: 'Your messages', exact: true }).click();
  await p.locator('#thread-list[aria-busy="false"]').waitFor();
  assert.equal(await p.locator('#thread-list > li').count(), 3);
  await shot(p, 'journey5', 'messages-phone');
  await p.getByRole('link', { name: 'Your orders', exact: true }).click();
  await p.locator('#order-list').waitFor();
  await shot(p, 'journey5', 'orders-phone');
  const overflow = await p.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `no horizontal scrolling at 375 px (overflow ${overflow}px)`);

  // Sign out returns to the sign-in page, and the session is gone.
  await p.getByRole('button', { name: 'Sign out' }).click();
  await p.locator('h1', { hasText: 'Sign in' }).waitFor();
  await p.goto('/#/messages');
  await p.locator('h1', { hasText: 'Sign in' }).waitFor();
  assert.match(p.url(), /#\/signin$/);
  await shot(p, 'journey5', 'signin-phone');

  b.check();
  s.check();
  await b.close();
  await s.close();
});

test('the operator searches all threads and exports evidence', async () => {
  const o = await newPage(chrome.browser, server.url, { name: 'operator' });
  const p = o.page;
  await p.goto('/');
  await p.locator('h1', { hasText: 'Sign in' }).waitFor();
  assert.equal(await p.evaluate(() => document.activeElement.id), 'email', 'the e-mail address field has focus');
  await shot(p, 'journey4', 'signin');
  await signIn(p, server.tokens.operator, '#/threads');
  await p.locator('#thread-list[aria-busy="false"]').waitFor();
  const ids = await p.locator('#thread-list > li').evaluateAll((els) => els.map((e) => e.dataset.thread));
  assert.ok(ids.includes(T1) && ids.includes(T4), `threads of both sellers (got ${ids})`);
  assert.match(await p.locator(`[data-thread="${T4}"]`).textContent(), /Nordlicht Leuchten · Anna Schmidt/);
  await shot(p, 'journey4', 'all-threads');

  await p.getByLabel('Search', { exact: true }).fill('112-4839201-5561023');
  await p.getByRole('button', { name: 'Search', exact: true }).click();
  await p.locator('#thread-list[aria-busy="false"]').waitFor();
  await p.waitForFunction(() => document.querySelectorAll('#thread-list > li').length === 1);
  await p.locator(`[data-thread="${T1}"] a`).click();
  await p.locator('h1', { hasText: 'Question about the product' }).waitFor();
  assert.equal(await p.locator('.compose').count(), 0, 'the operator does not write in threads');
  await shot(p, 'journey4', 'thread');

  const [download] = await Promise.all([
    p.waitForEvent('download'),
    p.getByRole('button', { name: 'Export evidence (JSON)' }).click(),
  ]);
  assert.equal(download.suggestedFilename(), `parley-evidence-${T1}.json`);
  const evidence = JSON.parse(await readFile(await download.path(), 'utf8'));
  assert.equal(evidence.thread.id, T1);
  assert.equal(evidence.order.id, '112-4839201-5561023');
  assert.ok(Array.isArray(evidence.messages) && evidence.messages.length >= 3, 'the messages are in the export');

  // The same evidence as a document to print: every message of the export, in its order,
  // with its text; every event; the audit log with its hash chain.
  await p.getByRole('link', { name: 'Evidence to print' }).click();
  await p.locator('h1', { hasText: `Evidence: thread ${T1}` }).waitFor();
  const shown = await p.locator('#evidence-messages > li').evaluateAll((els) => els.map((e) => [e.dataset.message, e.querySelector('.evidence-text').textContent]));
  assert.deepEqual(shown, evidence.messages.map((m) => [m.id, m.text]));
  assert.match(await p.locator('caption', { hasText: 'Events' }).textContent(), new RegExp(`Events \\(${evidence.events.length}\\)`));
  // this view is an export too, audited: one entry more than the JSON export had
  assert.match(await p.locator('caption', { hasText: 'Audit log' }).textContent(), new RegExp(`Audit log \\(${evidence.audit.length + 1}\\)`));
  await p.getByRole('button', { name: 'Print or save as PDF' }).waitFor();
  await shot(p, 'journey4', 'evidence-print');
  // A legal hold from the evidence page: set with its reason, shown, released.
  await p.locator('#hold-state', { hasText: 'Not held' }).waitFor();
  await p.getByRole('button', { name: 'Hold this thread' }).click();
  await p.locator('#legal-hold [role="alert"]', { hasText: 'Say why' }).waitFor(); // nothing sent without a reason
  await p.getByLabel('Reason').fill('A-to-z claim 4711');
  await p.getByRole('button', { name: 'Hold this thread' }).click();
  await p.locator('#hold-state', { hasText: 'A-to-z claim 4711' }).waitFor();
  const held = await p.evaluate(async (t) => (await fetch(`/v1/threads/${t}/legal-hold`)).json(), T1);
  assert.equal(held.legal_hold.reason, 'A-to-z claim 4711');
  await p.getByRole('button', { name: 'Release the hold' }).click();
  await p.locator('#hold-state', { hasText: 'Not held' }).waitFor();
  await p.getByRole('link', { name: 'Back to the thread' }).click();
  await p.getByRole('button', { name: 'Export evidence (JSON)' }).waitFor();

  // The operator's other pages show the server's data (no placeholders).
  for (const [link, title] of [['Review queue', 'Review queue'], ['Violations', 'Violations'], ['Sellers by risk', 'Sellers by risk'], ['Restrictions and quotas', 'Restrictions and quotas']]) {
    await p.getByRole('link', { name: link }).click();
    await p.locator('h1', { hasText: title }).waitFor();
    assert.equal(await p.locator('[data-testid="not-available"]').count(), 0, `${title} is a real page`);
  }
  await p.locator('section.seller-measures[data-seller="S2"]').waitFor();
  await shot(p, 'journey4', 'restrictions');
  o.check();
  await o.close();
});
