// inbox.test.js - journeys in the seller's inbox: filters, search, urgency colours, load more, no-response-needed, archive.
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

/** The thread ids in the list, top to bottom, once it has loaded. */
async function rows(page) {
  await page.locator('#thread-list[aria-busy="false"]').waitFor();
  return page.locator('#thread-list > li').evaluateAll((els) => els.map((e) => e.dataset.thread));
}

async function pick(page, label) {
  await page.locator('.tab', { hasText: label }).click();
  await page.locator(`.tab[aria-pressed="true"]`, { hasText: label }).waitFor();
  return rows(page);
}

async function search(page, by, term) {
  await page.getByLabel('Search in').selectOption({ label: by });
  await page.getByLabel('Search', { exact: true }).fill(term);
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await page.waitForFunction(() => !document.querySelector('#thread-list[aria-busy="true"]'));
  return rows(page);
}

test('filters, search and urgency in the inbox', async () => {
  const s = await newPage(chrome.browser, server.url, { name: 'seller' });
  const p = s.page;
  await signIn(p, server.tokens.agents['Maya Lopez'].token, '#/inbox');

  // Response needed (the default): the two waiting threads, the least time left first, coloured.
  assert.deepEqual(await rows(p), [T2, T3]);
  await p.locator('#rn-count', { hasText: '2 threads need a response' }).waitFor();
  // the count is in the tab title and on the Inbox link too, wherever the agent is
  assert.equal(await p.title(), '(2) Inbox · parley');
  assert.equal(await p.locator('#nav-rn').textContent(), '2 need a response');
  assert.match(await p.locator(`[data-thread="${T2}"] .due`).getAttribute('class'), /due-urgent/, 'under 4 h left is urgent');
  assert.match(await p.locator(`[data-thread="${T3}"] .due`).getAttribute('class'), /due-ok/);
  assert.match(await p.locator(`[data-thread="${T2}"] .due`).textContent(), /^3 h \d+ min left/);
  for (const id of [T2, T3]) assert.match(await p.locator(`[data-thread="${id}"]`).getAttribute('class'), /is-unread/);
  await shot(p, 'journey2', 'response-needed');

  assert.deepEqual(await pick(p, 'Unanswered'), [T3, T2, T1]);
  assert.deepEqual(await pick(p, 'Sent'), [T1]);
  assert.match(await p.locator(`[data-thread="${T1}"] .badge`).textContent(), /No response needed/);
  assert.deepEqual(await pick(p, 'Archived'), []);
  await p.locator('.list-status', { hasText: 'No threads in Archived.' }).waitFor();
  assert.deepEqual(await pick(p, 'All'), [T3, T2, T1]);
  assert.match(p.url(), /#\/inbox\?filter=all$/, 'the filter is kept in the address');
  await shot(p, 'journey2', 'all');

  // Search: order ID, ASIN, full text, alias; "Anything" recognises an order ID by its form.
  assert.deepEqual(await search(p, 'Order ID', '112-7730155-0184426'), [T2]);
  assert.deepEqual(await search(p, 'Anything', '112-7730155-0184426'), [T2]);
  const asin = await search(p, 'ASIN', 'B0C1234567');
  assert.ok(asin.includes(T3), `ASIN search finds the product question (got ${asin})`);
  assert.deepEqual(await search(p, 'Message text', 'torque'), [T3]);
  await shot(p, 'journey2', 'search-text');
  assert.deepEqual(await search(p, 'Message text', 'no-such-word-anywhere'), []);
  await p.locator('.list-status', { hasText: 'No threads match' }).waitFor();
  await p.getByRole('button', { name: 'Clear' }).click();
  assert.deepEqual(await rows(p), [T3, T2, T1]);
  const alias = (await p.locator(`[data-thread="${T1}"] .row-alias`).textContent()).trim();
  assert.deepEqual(await search(p, 'Buyer alias', alias), [T1]);

  // Keyboard only: Tab reaches the filters and Enter switches them.
  await p.getByRole('button', { name: 'Clear' }).click();
  await rows(p);
  await p.locator('.tab', { hasText: 'Sent' }).focus();
  await p.keyboard.press('Enter');
  await p.locator('.tab[aria-pressed="true"]', { hasText: 'Sent' }).waitFor();
  assert.deepEqual(await rows(p), [T1]);

  s.check();
  await s.close();
});

test('an overdue thread is shown as late', async () => {
  const s = await newPage(chrome.browser, server.url, { name: 'seller-de' });
  const p = s.page;
  await signIn(p, server.tokens.agents['Jonas Weber'].token, '#/inbox');
  assert.deepEqual(await rows(p), [T4]);
  const due = p.locator(`[data-thread="${T4}"] .due`);
  assert.match(await due.getAttribute('class'), /due-late/);
  assert.match(await due.textContent(), /^Overdue 6 h/);
  await shot(p, 'journey2', 'late');
  s.check();
  await s.close();
});

test('no response needed takes a thread out of Response needed; archive and back', async () => {
  const s = await newPage(chrome.browser, server.url, { name: 'seller' });
  const p = s.page;
  await signIn(p, server.tokens.agents['Maya Lopez'].token, '#/inbox');
  assert.deepEqual(await rows(p), [T2, T3]);
  await p.locator(`[data-thread="${T2}"] a`).click();
  await p.locator('#thread-state', { hasText: 'Response needed' }).waitFor();
  const flag = p.getByLabel('No response needed');
  assert.equal(await flag.isChecked(), false);
  await flag.check();
  await p.locator('#thread-state', { hasText: 'No response needed' }).waitFor();
  assert.equal(await p.getByLabel('No response needed').isChecked(), true);
  await shot(p, 'journey3', 'flagged');

  await p.getByRole('link', { name: 'Back to the inbox' }).click();
  assert.deepEqual(await rows(p), [T3]);
  await p.locator('#rn-count', { hasText: '1 thread needs a response' }).waitFor();
  await shot(p, 'journey3', 'inbox-after-flag');

  // Unflagging puts it back.
  await p.locator('.tab', { hasText: 'All' }).click();
  await p.locator(`[data-thread="${T2}"] a`).click();
  await p.getByLabel('No response needed').uncheck();
  await p.locator('#thread-state', { hasText: 'Response needed' }).waitFor();

  // Archive moves it to Archived; "Move back to inbox" restores it.
  await p.getByRole('button', { name: 'Archive' }).click();
  await p.locator('#thread-state', { hasText: 'Archived' }).waitFor();
  await p.getByRole('link', { name: 'Back to the inbox' }).click();
  assert.deepEqual(await rows(p), [T3]);
  assert.deepEqual(await pick(p, 'Archived'), [T2]);
  await p.locator(`[data-thread="${T2}"] a`).click();
  await p.getByRole('button', { name: 'Move back to inbox' }).click();
  await p.locator('#thread-state', { hasText: 'Response needed' }).waitFor();
  s.check();
  await s.close();
});

test('load more follows the cursor', async () => {
  // 26 more product questions from a buyer make the inbox longer than one page (25).
  for (let i = 1; i <= 26; i++) {
    const asin = `B0LOAD${String(i).padStart(4, '0')}`;
    const r = await server.api(server.tokens.buyers.B1, 'POST', '/v1/threads', { asin, seller_id: 'S1', topic: 'product_specifications', text: `Question ${i} about ${asin}` });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
  const s = await newPage(chrome.browser, server.url, { name: 'seller' });
  const p = s.page;
  await signIn(p, server.tokens.agents['Maya Lopez'].token, '#/inbox');
  assert.equal((await rows(p)).length, 25);
  const more = p.getByRole('button', { name: 'Load more' });
  await more.click();
  await p.locator('#thread-list > li').nth(27).waitFor();
  const all = await rows(p);
  assert.equal(all.length, 28);
  assert.equal(new Set(all).size, 28, 'no thread twice');
  assert.equal(await more.isHidden(), true);
  await p.locator('.list-status', { hasText: '28 threads in Response needed.' }).waitFor();
  await shot(p, 'journey2', 'load-more');
  s.check();
  await s.close();
});

test('a message the policy blocked shows its findings in the thread', async () => {
  const r = await server.api(server.tokens.agents['Sam Chen'].token, 'POST', `/v1/threads/${T3}/messages`,
    { text: 'Grüße! Full specs at www.my-shop-deals.com or call 555-123-4567' });
  assert.equal(r.status, 422);
  assert.equal(r.body.error.code, 'policy_violation');
  const s = await newPage(chrome.browser, server.url, { name: 'seller' });
  const p = s.page;
  await signIn(p, server.tokens.agents['Maya Lopez'].token, '#/inbox');
  await p.locator(`[data-thread="${T3}"] a`).click();
  const blocked = p.locator('.msg-seller.msg-rejected');
  await blocked.waitFor();
  assert.equal(await blocked.locator('.badge.status-rejected').textContent(), 'Blocked by policy');
  assert.match(await blocked.locator('.msg-who').textContent(), /agent 2/, 'another agent of the team wrote it');
  // Offsets are UTF-8 bytes: the marks cover exactly the address and the number after "Grüße!".
  assert.deepEqual(await blocked.locator('.msg-text mark').allTextContents(), ['www.my-shop-deals.com', '555-123-4567']);
  const cats = await blocked.locator('.finding').evaluateAll((els) => els.map((e) => e.dataset.category));
  assert.ok(cats.includes('link') && cats.includes('phone'), `link and phone findings (got ${cats})`);
  await shot(p, 'journey2', 'blocked-message');
  s.check();
  await s.close();
});

test('a long thread shows its newest page and loads older messages on demand', async () => {
  const b1 = server.tokens.buyers.B1;
  const r = await server.api(b1, 'POST', '/v1/threads', { asin: 'B0OLDER001', seller_id: 'S1', topic: 'product_specifications', text: 'Message 1' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const tid = r.body.thread.id;
  for (let i = 2; i <= 56; i++) {
    const m = await server.api(b1, 'POST', `/v1/threads/${tid}/messages`, { text: `Message ${i}` });
    assert.equal(m.status, 201, JSON.stringify(m.body));
  }
  const s = await newPage(chrome.browser, server.url, { name: 'seller' });
  const p = s.page;
  // the newest thread: first among all threads (in Response needed it has the most time left)
  await signIn(p, server.tokens.agents['Maya Lopez'].token, '#/inbox');
  await p.goto('/#/inbox?filter=all');
  await p.locator(`[data-thread="${tid}"] a`).click();
  await p.locator('#messages > li').nth(49).waitFor();
  assert.equal(await p.locator('#messages > li').count(), 50, 'the newest page: 50 messages');
  assert.equal(await p.locator('#messages > li').last().locator('.msg-text').textContent(), 'Message 56');
  const older = p.getByRole('button', { name: 'Show older messages' });
  await older.click();
  await p.locator('#messages > li').nth(55).waitFor();
  assert.equal(await p.locator('#messages > li').count(), 56);
  assert.equal(await p.locator('#messages > li').first().locator('.msg-text').textContent(), 'Message 1');
  await older.waitFor({ state: 'hidden' });
  await shot(p, 'thread', 'older-messages');
  s.check();
  await s.close();
});

test('send and go to next: a reply opens the thread with the least time left', async () => {
  const s = await newPage(chrome.browser, server.url, { name: 'seller' });
  const p = s.page;
  const maya = server.tokens.agents['Maya Lopez'].token;
  await signIn(p, maya, '#/inbox');
  const [first, second] = await rows(p);
  assert.ok(first && second, 'two threads need a response');
  await p.locator(`[data-thread="${first}"] a`).click();
  await p.getByLabel('Your message to the buyer').fill('Thanks, we are checking and will write again today.');
  await p.getByRole('button', { name: 'Send and go to next' }).click();
  await p.waitForURL(`**/#/thread/${second}`);
  await p.locator('#messages > li').first().waitFor();
  // the first one was answered: it no longer needs a response
  const rn = await server.api(maya, 'GET', '/v1/threads?filter=response_needed&limit=100');
  assert.ok(!rn.body.threads.some((t) => t.id === first), 'the answered thread left Response needed');
  assert.equal(rn.body.threads[0].id, second);
  // In the list, the answered thread's line is the reply, and the next one's the buyer's words.
  await p.goto('/#/inbox?filter=all');
  await p.locator(`[data-thread="${first}"] .row-preview`, { hasText: 'Your team: Thanks, we are checking and will write again today.' }).waitFor();
  const next = rn.body.threads[0].preview;
  assert.equal(next.from, 'buyer');
  assert.equal(await p.locator(`[data-thread="${second}"] .row-preview`).textContent(), next.text);
  s.check();
  await s.close();
});

test('keyboard shortcuts: j/k, /, ?, Enter, r and Ctrl+Enter', async () => {
  const s = await newPage(chrome.browser, server.url, { name: 'seller' });
  const p = s.page;
  await signIn(p, server.tokens.agents['Maya Lopez'].token, '#/inbox');
  const ids = await rows(p);
  assert.ok(ids.length >= 2);
  const focused = () => p.evaluate(() => document.activeElement.closest('[data-thread]')?.dataset.thread || document.activeElement.id);
  await p.keyboard.press('j');
  assert.equal(await focused(), ids[0]);
  await p.keyboard.press('j');
  assert.equal(await focused(), ids[1]);
  await p.keyboard.press('k');
  assert.equal(await focused(), ids[0]);
  await p.keyboard.press('/');
  assert.equal(await focused(), 'search-term');
  await p.keyboard.type('jk'); // letters in a field are text, not shortcuts
  assert.equal(await p.locator('#search-term').inputValue(), 'jk');
  await p.locator('#search-term').fill('');
  await p.locator('h1').click();
  await p.keyboard.press('?');
  await p.locator('#shortcuts[open]', { hasText: 'Keyboard shortcuts' }).waitFor();
  await p.keyboard.press('Escape');
  await p.locator('#shortcuts[open]').waitFor({ state: 'detached' });
  await p.keyboard.press('j');
  await p.keyboard.press('Enter');
  await p.waitForURL(`**/#/thread/${ids[0]}`);
  await p.locator('#messages > li').first().waitFor();
  await p.keyboard.press('r');
  assert.equal(await p.evaluate(() => document.activeElement.name), 'text');
  await p.keyboard.type('Sent with the keyboard.');
  await p.keyboard.press('Control+Enter');
  await p.locator('.msg-seller .msg-text', { hasText: 'Sent with the keyboard.' }).waitFor();
  s.check();
  await s.close();
});

test('bulk actions: tick threads, add a tag, assign and archive them together', async () => {
  const s = await newPage(chrome.browser, server.url, { name: 'seller' });
  const p = s.page;
  const maya = server.tokens.agents['Maya Lopez'].token;
  await signIn(p, maya, '#/inbox');
  const listed = await rows(p);
  assert.ok(listed.length >= 4, 'enough threads to choose from');
  const picked = listed.slice(0, 3);
  assert.equal(await p.locator('#bulk-bar').isHidden(), true, 'no bar before anything is ticked');
  for (const id of picked) await p.locator(`[data-thread="${id}"] .row-select`).check();
  await p.locator('#bulk-count', { hasText: '3 selected' }).waitFor();

  // A live reload of the list (a buyer writes elsewhere) keeps what is ticked.
  const other = listed[3];
  await p.evaluate(() => { for (const li of document.querySelectorAll('#thread-list > li')) li.dataset.stale = '1'; });
  const asked = await server.api(server.tokens.buyers.B1, 'POST', '/v1/threads', { asin: 'B0BULK0001', seller_id: 'S1', topic: 'product_specifications', text: 'Is it waterproof?' });
  assert.equal(asked.status, 201);
  // the list was drawn again: none of the rows marked before is left
  await p.waitForFunction(() => !document.querySelector('#thread-list > li[data-stale]') &&
    !document.querySelector('#thread-list[aria-busy="true"]') && document.querySelector('#thread-list > li'));
  for (const id of picked) assert.equal(await p.locator(`[data-thread="${id}"] .row-select`).isChecked(), true);
  assert.equal(await p.locator(`[data-thread="${other}"] .row-select`).isChecked(), false);
  await p.locator('#bulk-count', { hasText: '3 selected' }).waitFor();
  await shot(p, 'journey2', 'bulk-selected');

  // one of them already has a tag of its own, which adding another must keep
  const own = await server.api(maya, 'PUT', `/v1/threads/${picked[1]}/tags`, { tags: ['vip'] });
  assert.equal(own.status, 200, JSON.stringify(own.body));
  const before = {};
  for (const id of picked) before[id] = (await server.api(maya, 'GET', `/v1/threads/${id}`)).body.thread.tags || [];
  await p.getByLabel('Tag to add to the selected threads').fill('wholesale');
  await p.getByRole('button', { name: 'Add tag' }).click();
  await p.locator('.bulk-msg', { hasText: 'Tagged 3 of 3 threads.' }).waitFor();
  for (const id of picked) {
    const t = (await server.api(maya, 'GET', `/v1/threads/${id}`)).body.thread;
    assert.deepEqual([...t.tags].sort(), [...new Set([...before[id], 'wholesale'])].sort(), 'the tag is added, the others kept');
  }

  // The tag filter finds them; tick them all there and assign them to Sam Chen.
  await p.getByLabel('Tag', { exact: true }).fill('wholesale');
  await p.getByRole('button', { name: 'Search', exact: true }).click();
  await p.waitForFunction(() => !document.querySelector('#thread-list[aria-busy="true"]'));
  assert.deepEqual((await rows(p)).sort(), [...picked].sort());
  for (const id of picked) await p.locator(`[data-thread="${id}"] .row-select`).check();
  const sam = server.tokens.agents['Sam Chen'];
  await p.getByLabel('Assign the selected threads to').selectOption({ label: 'Sam Chen' });
  await p.getByRole('button', { name: 'Assign', exact: true }).click();
  await p.locator('.bulk-msg', { hasText: 'Assigned 3 of 3 threads.' }).waitFor();
  for (const id of picked) {
    const t = (await server.api(maya, 'GET', `/v1/threads/${id}`)).body.thread;
    assert.equal(t.assignee_id, sam.agent_id, 'assigned to Sam Chen');
  }

  // Archive them: they leave the list and are in Archived.
  for (const id of picked) await p.locator(`[data-thread="${id}"] .row-select`).check();
  await p.locator('#bulk-archive').click();
  await p.locator('.bulk-msg', { hasText: 'Archived 3 of 3 threads.' }).waitFor();
  await p.locator('.list-status', { hasText: 'No threads in Response needed tagged wholesale.' }).waitFor();
  assert.deepEqual((await pick(p, 'Archived')).sort(), [...picked].sort());
  for (const id of picked) assert.equal((await server.api(maya, 'GET', `/v1/threads/${id}`)).body.thread.archived, true);
  s.check();
  await s.close();
});
