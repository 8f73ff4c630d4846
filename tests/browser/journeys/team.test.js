// team.test.js - journeys of a seller's team: templates in the buyer's language, attachments, two agents on one thread, the approval queue.
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

const agent = (name) => server.tokens.agents[name].token;

async function noSidewaysScroll(p) {
  const overflow = await p.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `no sideways scroll at phone width (${overflow}px)`);
}

test('10. the seller installs the starter set and answers in the buyer\'s language with a template', async () => {
  const seller = await newPage(chrome.browser, server.url, { name: 'jonas' });
  const buyer = await newPage(chrome.browser, server.url, { name: 'anna' });
  const sp = seller.page;
  const bp = buyer.page;

  // Nordlicht has no templates in the demo (Acme Tools has the starter set): Jonas Weber
  // (owner of S2) installs it on the Templates page.
  await signIn(sp, agent('Jonas Weber'), '#/inbox');
  // the top bar names who is signed in, for which seller
  assert.match(await sp.getByTestId('role').textContent(), /^Jonas Weber · .+ \(owner\)$/);
  await sp.getByRole('link', { name: 'Templates' }).click();
  await sp.locator('h1', { hasText: 'Templates' }).waitFor();
  await sp.locator('.list-status', { hasText: 'No templates yet' }).waitFor();
  // A template whose German text has a web address is refused when saved (422): the language is
  // named, its text focused, and the address marked in what was typed.
  const refusedTpl = seller.allow(/\/v1\/templates$/, 422);
  await sp.getByRole('button', { name: 'New template' }).click();
  await sp.getByLabel('Name').fill('Care tips');
  await sp.getByLabel('German text').fill('Hallo [BUYER_NAME], Pflegetipps finden Sie auf www.leuchten-pflege.de zu [ORDER_ID].');
  await sp.getByRole('button', { name: 'Create template' }).click();
  await sp.locator('.tpl-form .alert-error', { hasText: 'The German text breaks the communication policy' }).waitFor();
  // Every finding is marked (here the link, and "auf www..." as an invitation off the
  // marketplace): together the marks cover the address, and a link mark holds its end.
  const marks = await sp.locator('.tpl-form mark').allTextContents();
  assert.ok(marks.join('').includes('www.leuchten-pflege.de'), marks.join('|'));
  assert.match(await sp.locator('.tpl-form mark.hl-link').last().textContent(), /pflege\.de$/);
  assert.equal(await sp.evaluate(() => document.activeElement.name), 'de');
  assert.equal(refusedTpl.seen, 1);
  await shot(sp, 'journey10', 'template-policy-refused');
  await sp.getByRole('button', { name: 'Cancel' }).click();
  await sp.getByRole('button', { name: 'Install the starter set' }).click();
  await sp.locator('.list-status', { hasText: '7 templates' }).waitFor();
  const names = await sp.locator('.tpl-card h2').allTextContents();
  assert.deepEqual(names.sort(), ['Custom order confirmation', 'Damaged item', 'Order shipped', 'Product question',
    'Refund processed', 'Return authorised', 'Shipping delay']);
  assert.match(await sp.locator('.tpl-card', { hasText: 'Order shipped' }).locator('.tpl-langs').textContent(), /English.*German|German.*English/);
  await shot(sp, 'journey10', 'templates-installed');
  // Deleting asks first: the template is gone for the whole team.
  const made = await server.api(agent('Jonas Weber'), 'POST', '/v1/templates',
    { name: 'Old greeting', purpose: 'other', variants: { en: 'Hello [BUYER_NAME].' } });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  await sp.reload();
  await sp.locator('.list-status', { hasText: '8 templates' }).waitFor();
  await sp.getByRole('button', { name: 'Delete Old greeting' }).click();
  await sp.getByRole('button', { name: 'Confirm: delete Old greeting for the whole team' }).waitFor();
  assert.equal(await sp.locator('.tpl-card', { hasText: 'Old greeting' }).count(), 1, 'not deleted before it is confirmed');
  await sp.getByRole('button', { name: 'Confirm: delete Old greeting for the whole team' }).click();
  await sp.locator('.list-status', { hasText: '7 templates' }).waitFor();
  assert.equal(await sp.locator('.tpl-card', { hasText: 'Old greeting' }).count(), 0);

  // The German buyer's thread (B3, de-DE): pick "Order shipped"; the tracking number is required.
  await sp.goto(`/#/thread/${T4}`);
  await sp.locator('.msg-buyer', { hasText: 'Die Leuchte flackert' }).waitFor();
  const picker = sp.getByLabel('Template');
  await sp.locator('select[name="template"] option', { hasText: 'Order shipped' }).waitFor({ state: 'attached' });
  await picker.selectOption({ label: 'Order shipped' });
  await sp.getByLabel('Tracking number').waitFor();
  assert.equal(await sp.getByLabel('Your message to the buyer').isVisible(), false, 'the template replaces the free text');
  await sp.locator('.tpl-preview', { hasText: 'Fill in Tracking number' }).waitFor();
  await sp.getByRole('button', { name: 'Send', exact: true }).click();
  const err = sp.locator('.tpl-error');
  await err.waitFor();
  assert.match(await err.textContent(), /Fill in Tracking number: the template has the placeholder \[TRACKING\]/);
  assert.equal(await sp.getByLabel('Tracking number').getAttribute('aria-invalid'), 'true');
  assert.equal(await sp.evaluate(() => document.activeElement.name), 'TRACKING', 'focus moves to the missing field');
  await shot(sp, 'journey10', 'template-missing-placeholder');

  await sp.getByLabel('Tracking number').fill('1Z999AA10123456784');
  const expected = 'Hallo Anna, Ihre Bestellung 302-5567120-9981734 wurde versandt. Die Sendungsnummer lautet 1Z999AA10123456784. Vielen Dank für Ihre Bestellung.';
  await sp.locator('.tpl-preview-text', { hasText: expected }).waitFor();
  assert.match(await sp.locator('.tpl-preview-title').textContent(), /German/);
  await shot(sp, 'journey10', 'template-preview-german');
  await sp.getByRole('button', { name: 'Send', exact: true }).click();
  await sp.locator('.msg-seller .msg-text', { hasText: expected }).waitFor();
  assert.equal(await sp.locator('select[name="template"]').inputValue(), '', 'the picker is cleared after sending');

  // Finding a template by a word of its name or text, and putting one in the reply box to edit.
  await sp.getByLabel('Narrow the list').fill('refund');
  await sp.locator('.tpl-picker .help', { hasText: /of 7 templates match/ }).waitFor();
  assert.equal(await sp.locator('select[name="template"] option', { hasText: 'Refund processed' }).evaluate((o) => o.hidden), false);
  assert.equal(await sp.locator('select[name="template"] option', { hasText: 'Order shipped' }).evaluate((o) => o.hidden), true);
  await sp.getByLabel('Narrow the list').fill('');
  await picker.selectOption({ label: 'Product question' });
  const filled = 'Hallo Anna, vielen Dank für Ihre Frage zu Tischleuchte Aurora (Bestellung 302-5567120-9981734).';
  await sp.locator('.tpl-preview-text', { hasText: filled }).waitFor();
  await sp.getByRole('button', { name: 'Insert to edit' }).click();
  assert.equal(await sp.getByLabel('Your message to the buyer').inputValue(), filled, 'the filled-in text, to edit');
  assert.equal(await sp.locator('select[name="template"]').inputValue(), '', 'no template chosen any more: the text is the message');
  await sp.getByLabel('Your message to the buyer').fill('');

  // Anna Schmidt sees the filled German text.
  await signIn(bp, server.tokens.buyers.B3, '#/messages');
  await bp.locator(`[data-thread="${T4}"] a`).click();
  await bp.locator('.msg-seller .msg-text', { hasText: expected }).waitFor();
  await shot(bp, 'journey10', 'buyer-sees-template');

  seller.check();
  buyer.check();
  await seller.close();
  await buyer.close();
});

test('11. the seller attaches a file the buyer downloads; a file with a web address is refused by name', async () => {
  const seller = await newPage(chrome.browser, server.url, { name: 'maya' });
  const buyer = await newPage(chrome.browser, server.url, { name: 'carlos' });
  const sp = seller.page;
  const bp = buyer.page;
  const refused = seller.allow(new RegExp(`/v1/threads/${T2}/messages$`), 422);
  const unsupported = seller.allow(/\/v1\/attachments\?name=/, 415);

  await signIn(sp, agent('Maya Lopez'), '#/inbox');
  await sp.goto(`/#/thread/${T2}`);
  await sp.locator('.msg-buyer', { hasText: 'tracking has not moved' }).waitFor();

  // A program is refused in plain words (415).
  await sp.getByLabel('Add files to the reply').setInputFiles({ name: 'setup.exe', mimeType: 'application/octet-stream', buffer: Buffer.from([0x4d, 0x5a, 0x90, 0, 3, 0, 0, 0, 4, 0xff, 0xff, 0]) });
  await sp.locator('.attach-field .field-error', { hasText: 'setup.exe cannot be attached: only Word' }).waitFor();
  assert.equal(unsupported.seen, 1);

  // A clean text file: uploaded at once, shown as a chip with name, kind and size.
  const guide = 'Tracking updates can pause for up to three days while the parcel crosses the border.\n';
  await sp.getByLabel('Add files to the reply').setInputFiles({ name: 'delivery-info.txt', mimeType: 'text/plain', buffer: Buffer.from(guide) });
  const chip = sp.locator('.chip', { hasText: 'delivery-info.txt' });
  await chip.locator('.chip-meta', { hasText: `Text · ${guide.length} bytes` }).waitFor();
  assert.equal(await sp.locator('.compose .attach-field .field-error').isVisible(), false, 'the earlier refusal is gone');
  const reply = 'Hello Carlos, the parcel is on its way. The attached note explains the pause in tracking.';
  await sp.getByLabel('Your message to the buyer').fill(reply);
  await shot(sp, 'journey11', 'seller-attachment-chip');
  await sp.getByRole('button', { name: 'Send', exact: true }).click();
  const sent = sp.locator('.msg-seller', { hasText: reply });
  await sent.locator('.att-link', { hasText: 'delivery-info.txt' }).waitFor();
  assert.equal(await sp.locator('.chip').count(), 0, 'the chips are cleared after sending');

  // The buyer sees the file under the reply and downloads it.
  await signIn(bp, server.tokens.buyers.B2, '#/messages');
  await bp.locator(`[data-thread="${T2}"] a`).click();
  const link = bp.locator('.msg-seller', { hasText: reply }).locator('.att-link');
  await link.waitFor();
  assert.match(await bp.locator('.msg-seller', { hasText: reply }).locator('.att-meta').textContent(), new RegExp(`Text · ${guide.length} bytes`));
  await shot(bp, 'journey11', 'buyer-sees-attachment');
  const [download] = await Promise.all([bp.waitForEvent('download'), link.click()]);
  assert.equal(download.suggestedFilename(), 'delivery-info.txt');
  const chunks = [];
  for await (const c of await download.createReadStream()) chunks.push(c);
  assert.equal(Buffer.concat(chunks).toString('utf8'), guide);

  // The buyer answers with a file of their own; the seller's open thread shows its link.
  await bp.getByLabel('Add files to the reply').setInputFiles({ name: 'label-text.txt', mimeType: 'text/plain', buffer: Buffer.from('Parcel label: 1Z999 / Zone 4\n') });
  await bp.locator('.chip', { hasText: 'label-text.txt' }).locator('.chip-meta', { hasText: 'Text' }).waitFor();
  assert.doesNotMatch(await bp.locator('.attach-field .help').textContent(), /checked/, 'buyers\' files are not policy-checked');
  await bp.getByLabel('Your message').fill('Thanks. This is what the label says.');
  await bp.getByRole('button', { name: 'Send', exact: true }).click();
  await bp.locator('.msg-buyer', { hasText: 'what the label says' }).locator('.att-link', { hasText: 'label-text.txt' }).waitFor();
  await sp.locator('.msg-buyer', { hasText: 'what the label says' }).locator('.att-link', { hasText: 'label-text.txt' }).waitFor();

  // A flyer with a web address in it: the message is refused and the finding names the file.
  await sp.getByLabel('Add files to the reply').setInputFiles({ name: 'flyer.txt', mimeType: 'text/plain', buffer: Buffer.from('Assembly guide: see www.my-shop-deals.com for the video.\n') });
  await sp.locator('.chip', { hasText: 'flyer.txt' }).locator('.chip-meta', { hasText: 'Text' }).waitFor();
  await sp.getByLabel('Your message to the buyer').fill('Here is some more information.');
  await sp.getByRole('button', { name: 'Send', exact: true }).click();
  const finding = sp.locator('.compose .file-findings .finding');
  await finding.waitFor();
  assert.equal(await finding.getAttribute('data-file'), 'flyer.txt');
  assert.match(await finding.textContent(), /^Link in flyer\.txt: www\.my-shop-deals\.com/);
  await sp.locator('.compose .alert-error', { hasText: 'The marketplace blocked this message because of the attached file flyer.txt.' }).waitFor();
  assert.match(await sp.locator('#policy-feedback .policy-summary').textContent(), /an attached file breaks the policy: flyer\.txt/);
  assert.equal(await sp.locator('.editor-backdrop mark').count(), 0, 'nothing is marked in the message text');
  assert.equal(refused.seen, 1);
  // The thread keeps the refused message with the finding under it, naming the file.
  await sp.locator('.msg-rejected .file-findings .finding-file', { hasText: 'flyer.txt' }).waitFor();
  await shot(sp, 'journey11', 'seller-file-finding');

  seller.check();
  buyer.check();
  await seller.close();
  await buyer.close();
});

test('12. two agents on one thread: who is replying, the conflict and "Send anyway"', async () => {
  const maya = await newPage(chrome.browser, server.url, { name: 'maya' });
  const sam = await newPage(chrome.browser, server.url, { name: 'sam' });
  const mp = maya.page;
  const sp = sam.page;
  const conflict = sam.allow(new RegExp(`/v1/threads/${T3}/messages$`), 409);

  await signIn(mp, agent('Maya Lopez'), '#/inbox');
  await signIn(sp, agent('Sam Chen'), '#/inbox');
  await mp.locator('#live-status.is-on').waitFor();
  await sp.locator('#live-status.is-on').waitFor();

  // Maya opens the product question and starts typing: she takes the composition lock.
  await mp.goto(`/#/thread/${T3}`);
  await mp.locator('.msg-buyer', { hasText: 'maximum torque' }).waitFor();
  const locked = mp.waitForResponse((r) => r.url().endsWith(`/v1/threads/${T3}/lock`) && r.request().method() === 'POST');
  await mp.getByLabel('Your message to the buyer').pressSequentially('Hello, the drill has 60 Nm', { delay: 5 });
  assert.equal((await locked).status(), 200);

  // Sam opens it second and sees that Maya is replying.
  await sp.goto(`/#/thread/${T3}`);
  const banner = sp.locator('#replying');
  await banner.waitFor();
  assert.match(await banner.textContent(), /^Maya Lopez is replying/);
  assert.equal(await mp.locator('#replying').isVisible(), false, 'Maya does not see herself');
  // Sam writes a reply anyway (it starts from the thread as it is now).
  const samText = 'Hi, it has a hammer function as well.';
  await sp.getByLabel('Your message to the buyer').fill(samText);
  await shot(sp, 'journey12', 'sam-sees-maya-replying');

  // Maya sends first; Sam's page shows her reply live.
  await mp.getByLabel('Your message to the buyer').pressSequentially(' of torque and a hammer function.', { delay: 2 });
  await mp.getByRole('button', { name: 'Send', exact: true }).click();
  await mp.locator('.msg-seller .msg-text', { hasText: 'hammer function' }).waitFor();
  await sp.locator('.msg-seller .msg-who', { hasText: 'Maya Lopez' }).waitFor();

  // Sam's reply, written before, gets the conflict; "Send anyway" sends it.
  await sp.getByRole('button', { name: 'Send', exact: true }).click();
  const box = sp.locator('.conflict');
  await box.waitFor();
  assert.match(await box.textContent(), /The conversation changed since you began writing\..*another agent replied/);
  assert.equal(conflict.seen, 1);
  assert.equal(await sp.locator('.msg-seller .msg-text', { hasText: samText }).count(), 0, 'not sent yet');
  assert.equal(await sp.evaluate(() => document.activeElement.id), 'send-anyway');
  await shot(sp, 'journey12', 'sam-conflict');
  const resent = sp.waitForRequest((r) => r.url().endsWith(`/v1/threads/${T3}/messages`) && r.method() === 'POST');
  await sp.getByRole('button', { name: 'Send anyway' }).click();
  assert.equal(JSON.parse((await resent).postData()).confirm, true);
  await sp.locator('.msg-seller .msg-text', { hasText: samText }).waitFor();
  assert.equal(await box.isVisible(), false);
  await mp.locator('.msg-seller', { hasText: samText }).locator('.msg-who', { hasText: 'Sam Chen' }).waitFor();

  // An internal note: shown apart in the thread, never to the buyer.
  await sp.getByLabel('Internal note: only your team sees it').check();
  await sp.getByLabel('Internal note (your team only)').fill('Buyer asked about torque twice; consider adding it to the listing.');
  await sp.getByRole('button', { name: 'Add note' }).click();
  await sp.locator('.msg-note', { hasText: 'consider adding it to the listing' }).locator('.badge-note').waitFor();

  // Team panel: assignment round-robin, tags, priority; the inbox filters by them.
  await sp.getByRole('button', { name: 'Round-robin' }).click();
  await sp.locator('.team-msg', { hasText: 'Assigned by round-robin.' }).waitFor();
  await sp.getByLabel('Tags', { exact: true }).fill('torque, listing');
  await sp.getByRole('button', { name: 'Save tags' }).click();
  await sp.locator('.team-panel .tag-list .tag', { hasText: 'listing' }).waitFor();
  await sp.getByLabel('Priority').selectOption('high');
  await sp.locator('.team-msg', { hasText: 'Priority set to high.' }).waitFor();
  await shot(sp, 'journey12', 'sam-note-team');

  const buyer = await newPage(chrome.browser, server.url, { name: 'carlos' });
  await signIn(buyer.page, server.tokens.buyers.B2, '#/messages');
  await buyer.page.goto(`/#/thread/${T3}`);
  await buyer.page.locator('.msg-seller .msg-text', { hasText: samText }).waitFor();
  assert.equal(await buyer.page.locator('.msg', { hasText: 'consider adding it' }).count(), 0, 'the buyer never sees a note');

  await sp.goto('/#/inbox?filter=all&tag=listing');
  await sp.locator('#thread-list[aria-busy="false"]').waitFor();
  assert.deepEqual(await sp.locator('.thread-row').evaluateAll((rows) => rows.map((r) => r.dataset.thread)), [T3]);
  await sp.getByLabel('Assigned to').selectOption('none');
  await sp.locator('.list-status', { hasText: 'No threads in All assigned to Nobody tagged listing.' }).waitFor();
  await shot(sp, 'journey12', 'inbox-filtered');

  await sp.setViewportSize({ width: 375, height: 800 });
  await sp.goto(`/#/thread/${T3}`);
  // On a phone the conversation comes first, in the first screen below a top bar of two
  // short rows; the team, order and action panels are folded below it.
  await sp.locator('#messages .msg').first().waitFor();
  const bar = await sp.locator('#topbar').boundingBox();
  await shot(sp, 'journey12', 'thread-phone-bar');
  assert.ok(bar.height <= 110, `the top bar takes ${bar.height}px of 800`);
  const first = await sp.locator('#messages .msg').first().boundingBox();
  assert.ok(first.y + 40 < 800, `the first message starts at ${first.y}px, in the first screen`);
  assert.equal(await sp.locator('.team-panel').isVisible(), false, 'the panels are folded');
  await noSidewaysScroll(sp);
  await shot(sp, 'journey12', 'thread-phone');
  await sp.getByText('Team, order and message actions').click();
  await sp.locator('.team-panel').waitFor();
  await noSidewaysScroll(sp);
  await shot(sp, 'journey12', 'thread-phone-panels');

  maya.check();
  sam.check();
  buyer.check();
  await maya.close();
  await sam.close();
  await buyer.close();
});

test('13. a rule proposal waits in the approval queue and is sent from it', async () => {
  // Setup through the API: S1's starter set (the demo has it) and a rule that proposes "Order shipped".
  const token = agent('Maya Lopez');
  const listed = await server.api(token, 'GET', '/v1/templates');
  assert.equal(listed.status, 200);
  const shipped = listed.body.templates.find((t) => t.name === 'Order shipped');
  const rule = await server.api(token, 'POST', '/v1/rules', {
    name: 'Where is my parcel', enabled: true, auto_send: false, conditions: { words: ['where'] },
    actions: [{ type: 'tag', tag: 'tracking' }, { type: 'propose', template_id: shipped.id, values: { TRACKING: '1Z42' } }],
  });
  assert.equal(rule.status, 201);
  const asked = await server.api(server.tokens.buyers.B1, 'POST', `/v1/threads/${T1}/messages`, { text: 'Where is the spare battery I ordered?' });
  assert.equal(asked.status, 201);

  const maya = await newPage(chrome.browser, server.url, { name: 'maya' });
  const p = maya.page;
  await signIn(p, token, '#/inbox');
  await p.getByRole('link', { name: 'Approval queue' }).click();
  await p.locator('#proposal-count', { hasText: '1 proposal waits for approval' }).waitFor();
  const card = p.locator('.proposal');
  const text = card.getByLabel('Reply to the buyer');
  assert.equal(await text.inputValue(), 'Hello Jane, your order 112-4839201-5561023 has shipped. The tracking number is 1Z42. Thank you for your order.');
  assert.equal(await text.getAttribute('readonly'), '', 'read-only until Edit');
  await shot(p, 'journey13', 'approval-queue');

  // Nothing was sent yet.
  let thread = await server.api(token, 'GET', `/v1/threads/${T1}`);
  assert.equal(thread.body.messages.filter((m) => m.text.includes('1Z42')).length, 0);

  // Edit and send.
  await card.getByRole('button', { name: 'Edit' }).click();
  await text.fill('Hello Jane, your order 112-4839201-5561023 has shipped with the spare battery. The tracking number is 1Z42.');
  await card.getByRole('button', { name: 'Send edited text' }).click();
  await p.locator('#proposal-count', { hasText: 'Nothing waits for approval' }).waitFor();
  thread = await server.api(token, 'GET', `/v1/threads/${T1}`);
  const sentMsg = thread.body.messages.find((m) => m.text.includes('with the spare battery'));
  assert.ok(sentMsg, 'the edited text was sent');
  assert.equal(sentMsg.status, 'delivered');
  await shot(p, 'journey13', 'approval-queue-empty');

  // The rules page lists the rule and its firing log.
  await p.getByRole('link', { name: 'Rules', exact: true }).click();
  await p.locator('.rule h2', { hasText: 'Where is my parcel' }).waitFor();
  assert.match(await p.locator('.rule').textContent(), /When: words: where.*Then: tag tracking; propose Order shipped/);
  await p.locator('#firings td', { hasText: /proposed PR[0-9a-z]{12}, waiting for approval/ }).waitFor();
  await p.locator('#firings td', { hasText: 'tagged tracking' }).waitFor();
  await shot(p, 'journey13', 'rules');
  await p.setViewportSize({ width: 375, height: 800 });
  await noSidewaysScroll(p);
  await p.goto('/#/templates');
  await p.locator('.tpl-card').first().waitFor();
  await noSidewaysScroll(p);
  await shot(p, 'journey13', 'templates-phone');

  maya.check();
  await maya.close();
});

test('14. a repaint leaves what the agent is doing alone: half-typed tags keep their text and focus', async () => {
  const maya = await newPage(chrome.browser, server.url, { name: 'maya14' });
  const p = maya.page;
  await signIn(p, agent('Maya Lopez'), '#/inbox');
  await p.goto(`/#/thread/${T1}`);
  await p.locator('#messages .msg').first().waitFor();
  // The first message's item is marked: a repaint that rebuilds it would lose the mark.
  await p.evaluate(() => { document.querySelector('#messages .msg').dataset.kept = 'yes'; });
  const tags = p.getByLabel('Tags', { exact: true });
  await tags.fill('vip, fragi');
  assert.equal(await p.evaluate(() => document.activeElement.name), 'tags');

  // The buyer writes: the live event repaints the page while Maya is still typing.
  const asked = await server.api(server.tokens.buyers.B1, 'POST', `/v1/threads/${T1}/messages`, { text: 'One more thing: gift wrap, please.' });
  assert.equal(asked.status, 201);
  await p.locator('#messages .msg-buyer', { hasText: 'gift wrap, please' }).waitFor();
  assert.equal(await tags.inputValue(), 'vip, fragi', 'the half-typed tags are kept');
  assert.equal(await p.evaluate(() => document.activeElement.name), 'tags', 'the field keeps its focus');
  assert.equal(await p.evaluate(() => document.querySelector('#messages .msg').dataset.kept), 'yes',
    'a message that did not change is not rebuilt');

  // Saved, the field follows the server again.
  await tags.fill('vip, fragile');
  await p.getByRole('button', { name: 'Save tags' }).click();
  await p.locator('.tag-list .tag', { hasText: 'fragile' }).waitFor();
  assert.equal(await tags.inputValue(), 'vip, fragile');
  maya.check();
  await maya.close();
});

test('15. an agent keeps a saved reply of their own and answers with it; the owner does not see it', async () => {
  const sam = await newPage(chrome.browser, server.url, { name: 'sam15' });
  const p = sam.page;
  await signIn(p, agent('Sam Chen'), '#/inbox');
  await p.getByRole('link', { name: 'Templates' }).click();
  await p.locator('h1', { hasText: 'Templates' }).waitFor();
  assert.equal(await p.locator('#new-template').count(), 0, 'the team\'s templates are the owner\'s');
  await p.getByRole('button', { name: 'New saved reply' }).click();
  await p.locator('h2', { hasText: 'New saved reply' }).waitFor();
  await p.getByLabel('Name').fill('Sam checks the warehouse');
  await p.getByLabel('English text').fill('Hi [BUYER_NAME], I am checking with our warehouse and will write back today.');
  await p.getByRole('button', { name: 'Create template' }).click();
  const card = p.locator('.tpl-card', { hasText: 'Sam checks the warehouse' });
  await card.locator('.badge', { hasText: 'Your saved reply' }).waitFor();
  // it is in Sam's picker, marked as his, and fills in like any template
  await p.goto(`/#/thread/${T1}`);
  const option = p.locator('select[name="template"] option', { hasText: 'Sam checks the warehouse' });
  await option.waitFor({ state: 'attached' });
  assert.equal(await option.textContent(), 'Sam checks the warehouse (Other), saved by you');
  await p.getByLabel('Template', { exact: true }).selectOption({ label: 'Sam checks the warehouse (Other), saved by you' });
  await p.locator('.tpl-preview-text', { hasText: 'Hi Jane, I am checking with our warehouse' }).waitFor();
  // the owner's list and picker do not have it
  const listed = await server.api(agent('Maya Lopez'), 'GET', '/v1/templates');
  assert.equal(listed.body.templates.some((t) => t.name === 'Sam checks the warehouse'), false);
  sam.check();
  await sam.close();
});
