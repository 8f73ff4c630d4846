// suggest.test.js - suggested replies in the reply box: a buyer asks about a charger, the agent sees a template and the team's earlier reply with their reasons, picks one, edits it and sends.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, newPage, shot, signIn } from '../lib/harness.js';

let server;
let chrome;
const EARLIER = '112-5550002-0000001'; // Carlos's order, asked about and answered before
const NOW = '112-5550002-0000002'; // Jane's order, asked about now
let earlierReply; // the team's reply to Carlos: its message id
let janeThread;

before(async () => {
  server = await startServer();
  chrome = await launch();
  const day = 24 * 3600 * 1000;
  const iso = (ms) => new Date(Date.now() - ms).toISOString().replace(/\.\d+Z$/, 'Z');
  const op = server.tokens.operator;
  const maya = server.tokens.agents['Maya Lopez'].token;
  const sam = server.tokens.agents['Sam Chen'].token;
  for (const [id, buyer] of [[EARLIER, 'B2'], [NOW, 'B1']]) {
    const r = await server.api(op, 'PUT', `/v1/orders/${id}`, {
      marketplace: 'ATVPDKIKX0DER', seller: 'S1', buyer, status: 'delivered',
      purchased_at: iso(3 * day), shipped_at: iso(2 * day), delivered_at: iso(day),
      items: [{ asin: 'B0C9990002', title: 'Cordless drill 18V', quantity: 1, price: '89.99', currency: 'USD' }],
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
  // The seller's template about chargers.
  const t = await server.api(maya, 'POST', '/v1/templates', { name: 'Charger included', purpose: 'product_question',
    variants: { en: 'Hi [BUYER_NAME], the charger and a battery come in the box with order [ORDER_ID].' } });
  assert.equal(t.status, 201, JSON.stringify(t.body));
  // Carlos asked before; Sam answered him by name and order.
  const c = await server.api(server.tokens.buyers.B2, 'POST', '/v1/threads',
    { order_id: EARLIER, topic: 'product_question', text: 'Does the drill come with a charger?' });
  assert.equal(c.status, 201, JSON.stringify(c.body));
  const a = await server.api(sam, 'POST', `/v1/threads/${c.body.thread.id}/messages`,
    { text: `Hi Carlos, yes: the fast charger is in the box of order ${EARLIER}. It fills the battery in an hour.` });
  assert.equal(a.status, 201, JSON.stringify(a.body));
  earlierReply = a.body.message.id;
  // Jane asks now.
  const j = await server.api(server.tokens.buyers.B1, 'POST', '/v1/threads',
    { order_id: NOW, topic: 'product_question', text: 'Hello! Is a charger included with the drill, and how long does the battery take?' });
  assert.equal(j.status, 201, JSON.stringify(j.body));
  janeThread = j.body.thread.id;
});
after(async () => {
  if (chrome) await chrome.close();
  if (server) await server.stop();
});

test('the agent picks a suggested reply, edits it and sends it', async () => {
  const s = await newPage(chrome.browser, server.url, { name: 'sam' });
  const p = s.page;
  await signIn(p, server.tokens.agents['Sam Chen'].token, '#/inbox');
  await p.goto(`/#/thread/${janeThread}`);
  await p.locator('.msg-buyer', { hasText: 'Is a charger included' }).waitFor();
  const box = p.locator('#suggestions');
  await box.waitFor();
  await box.getByRole('heading', { name: 'Suggestions' }).waitFor();
  // a list of buttons, each described by its reason
  const tpl = box.getByRole('button', { name: /Template: Charger included/ });
  const past = box.locator(`button[data-kind="reply"][data-id="${earlierReply}"]`);
  await tpl.waitFor();
  await past.waitFor();
  assert.ok((await box.locator('li').count()) <= 5);
  const tplWhy = await p.locator(`#${await tpl.getAttribute('aria-describedby')}`).textContent();
  assert.match(tplWhy, /^Why: template for the topic "Question about the product" in the buyer's language; shares: .*charger/);
  const pastWhy = await p.locator(`#${await past.getAttribute('aria-describedby')}`).textContent();
  assert.match(pastWhy, /^Why: your team's reply to a similar question.*shares: charger.*replaced/);
  // the template is shown filled in for Jane; the earlier reply with Jane's name and order, never Carlos's
  assert.match(await tpl.textContent(), /Hi Jane, the charger and a battery come in the box with order 112-5550002-0000002\./);
  const pastText = await past.textContent();
  assert.match(pastText, /Hi Jane, yes: the fast charger is in the box of order 112-5550002-0000002\./);
  assert.doesNotMatch(pastText, /Carlos|112-5550002-0000001/);
  await shot(p, 'suggest', 'suggestions-shown');

  // Choosing one puts it in the reply box for editing; nothing is sent.
  const sent = async () => p.locator('.msg-seller').count();
  const before = await sent();
  await past.click();
  const text = p.getByLabel('Your message to the buyer');
  assert.equal(await text.inputValue(), 'Hi Jane, yes: the fast charger is in the box of order 112-5550002-0000002. It fills the battery in an hour.');
  assert.equal(await p.evaluate(() => document.activeElement.name), 'text', 'the reply box has the focus');
  assert.equal(await sent(), before, 'choosing a suggestion sends nothing');
  // The template replaces the draft when chosen instead; then back to the past reply, edited.
  await tpl.click();
  assert.match(await text.inputValue(), /^Hi Jane, the charger and a battery/);
  await past.click();
  await text.press('End');
  await text.type(' Best regards, Sam');
  const final = 'Hi Jane, yes: the fast charger is in the box of order 112-5550002-0000002. It fills the battery in an hour. Best regards, Sam';
  assert.equal(await text.inputValue(), final);
  await p.locator('.policy-summary', { hasText: /./ }).waitFor();
  await shot(p, 'suggest', 'suggestion-edited');
  await p.getByRole('button', { name: 'Send', exact: true }).click();
  await p.locator('.msg-seller .msg-text', { hasText: final }).waitFor();
  assert.equal(await text.inputValue(), '', 'the reply box is cleared after sending');

  // Jane sees the edited reply.
  const b = await newPage(chrome.browser, server.url, { name: 'jane' });
  await signIn(b.page, server.tokens.buyers.B1, '#/messages');
  await b.page.goto(`/#/thread/${janeThread}`);
  await b.page.locator('.msg-seller .msg-text', { hasText: final }).waitFor();
  assert.equal(await b.page.locator('#suggestions').count(), 0, 'a buyer never sees suggestions');
  s.check();
  b.check();
  await s.close();
  await b.close();
});

test('suggestions at phone width: readable, no sideways scroll, chosen by touch', async () => {
  const s = await newPage(chrome.browser, server.url, { name: 'phone', width: 390, height: 844 });
  const p = s.page;
  await signIn(p, server.tokens.agents['Maya Lopez'].token, '#/inbox');
  // Jane writes again: the suggestions are for her newest message
  const j = await server.api(server.tokens.buyers.B1, 'POST', `/v1/threads/${janeThread}/messages`,
    { text: 'Thanks! Does the charger also fit the older battery?' });
  assert.equal(j.status, 201, JSON.stringify(j.body));
  await p.goto(`/#/thread/${janeThread}`);
  const tpl = p.locator('#suggestions').getByRole('button', { name: /Template: Charger included/ });
  await tpl.waitFor();
  const overflow = await p.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `no sideways scroll at phone width (${overflow}px)`);
  const w = await tpl.evaluate((el) => el.getBoundingClientRect().width);
  assert.ok(w <= 390, `the button fits the screen (${w}px)`);
  await tpl.scrollIntoViewIfNeeded();
  await shot(p, 'suggest', 'phone');
  await tpl.click();
  assert.match(await p.getByLabel('Your message to the buyer').inputValue(), /^Hi Jane, the charger/);
  s.check();
  await s.close();
});
