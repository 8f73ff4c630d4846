// settings.test.js - journeys of the seller's settings and the agents' notifications: the owner keeps the seller's notice language and fulfilment setting, and a new customer-service address waits for the link mailed to it (a wrong link is refused, the mailed one confirms it); an agent chooses an hourly digest of their assigned threads, registers an address and asks for a digest; deadline alerts show, linked to their thread, to the agents the thread's assignment and their choices name.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { startServer, launch, newPage, shot, signIn } from '../lib/harness.js';

/**
 * The mailbox: a small SMTP server on loopback that takes every mail parley sends
 * (--smtp-relay) and keeps it as {rcpt: [...], data}.
 */
const mails = [];
function mailbox() {
  return createServer((sock) => {
    let buf = '';
    let cur = null;
    let inData = false;
    const say = (line) => sock.write(`${line}\r\n`);
    sock.on('error', () => { /* parley hung up */ });
    say('220 mailbox.test ESMTP');
    sock.on('data', (chunk) => {
      buf += chunk.toString('latin1');
      for (;;) {
        if (inData) {
          const end = buf.indexOf('\r\n.\r\n');
          if (end < 0) return;
          cur.data = Buffer.from(`\r\n${buf.slice(0, end + 2)}`.replace(/\r\n\.\./g, '\r\n.').slice(2), 'latin1').toString('utf8');
          buf = buf.slice(end + 5);
          mails.push(cur);
          cur = null;
          inData = false;
          say('250 2.0.0 kept');
          continue;
        }
        const nl = buf.indexOf('\r\n');
        if (nl < 0) return;
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO' || verb === 'HELO') say('250 mailbox.test');
        else if (verb === 'MAIL') { cur = { rcpt: [], data: '' }; say('250 2.1.0 ok'); }
        else if (verb === 'RCPT' && cur) { cur.rcpt.push(((/<([^>]*)>/.exec(line) || [])[1] || '').toLowerCase()); say('250 2.1.5 ok'); }
        else if (verb === 'DATA' && cur) { inData = true; say('354 end with <CRLF>.<CRLF>'); }
        else if (verb === 'RSET') { cur = null; say('250 2.0.0 ok'); }
        else if (verb === 'NOOP') say('250 2.0.0 ok');
        else if (verb === 'QUIT') { say('221 2.0.0 bye'); sock.end(); return; }
        else say('502 5.5.2 not here');
      }
    });
  });
}

/** A mail's text with quoted-printable undone (soft line breaks, =XX). */
const unQP = (s) => s.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, x) => String.fromCharCode(parseInt(x, 16)));

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

const mailTo = (addr, pattern) => until(() => mails.find((m) => m.rcpt.includes(addr) && pattern.test(unQP(m.data))),
  `a mail to ${addr} matching ${pattern}`);

let server, chrome, smtp;
let maya, sam; // the demo's owner and agent of seller S1
before(async () => {
  smtp = mailbox();
  await new Promise((ok) => smtp.listen(0, '127.0.0.1', ok));
  server = await startServer(['--smtp-relay', `smtp://127.0.0.1:${smtp.address().port}`]);
  maya = server.tokens.agents['Maya Lopez'];
  sam = server.tokens.agents['Sam Chen'];
  chrome = await launch();
});
after(async () => {
  if (chrome) await chrome.close();
  if (server) await server.stop();
  if (smtp) smtp.close();
});

test('the owner keeps the seller\'s settings; a new customer-service address counts once its mailed link is confirmed', async () => {
  const owner = await newPage(chrome.browser, server.url, { name: 'settings-maya' });
  const p = owner.page;
  await signIn(p, maya.token, '#/inbox');
  await p.getByRole('link', { name: 'Settings' }).click();
  await p.locator('h1', { hasText: 'Settings' }).waitFor();
  const address = p.getByLabel('Customer-service e-mail address');
  const language = p.getByLabel('Language of parley\'s notices');
  const fulfilled = p.getByLabel('Message buyers about orders the marketplace fulfils');
  await until(async () => (await address.inputValue()) === 'support@acme.test', 'the address shown');
  assert.equal(await p.getByRole('link', { name: 'Settings' }).getAttribute('aria-current'), 'page');
  assert.equal(await language.inputValue(), 'en');
  assert.match(await language.locator('option:checked').textContent(), /English/);
  const wasFulfilled = await fulfilled.isChecked();
  assert.equal(wasFulfilled, true, 'messaging about orders the marketplace fulfils is on at first');

  // the notice language and the fulfilment setting, kept across a reload
  await language.selectOption('de');
  await fulfilled.setChecked(false);
  await p.getByRole('button', { name: 'Save', exact: true }).click();
  await p.locator('#settings-saved', { hasText: 'Saved.' }).waitFor();
  await p.reload();
  await p.locator('h1', { hasText: 'Settings' }).waitFor();
  await until(async () => (await language.inputValue()) === 'de', 'German kept after the reload');
  assert.equal(await fulfilled.isChecked(), false);
  assert.match(await language.locator('option:checked').textContent(), /German/);
  const kept = (await server.api(maya.token, 'GET', '/v1/sellers/S1/settings')).body.settings;
  assert.equal(kept.notice_language, 'de');
  assert.equal(kept.marketplace_fulfilled_messaging, false);
  await shot(p, 'settings', 'kept');

  // not an address: said in the page, nothing sent
  await address.fill('help at acme');
  await p.getByRole('button', { name: 'Save', exact: true }).click();
  await p.getByRole('alert').filter({ hasText: 'not an e-mail address' }).waitFor();

  // a new address waits for its confirmation; the old one stays in use
  await address.fill('help@acme.test');
  await p.getByRole('button', { name: 'Save', exact: true }).click();
  await p.locator('#settings-saved', { hasText: 'A confirmation link went to help@acme.test' }).waitFor();
  const pending = p.getByTestId('pending-address');
  await pending.filter({ hasText: 'Waiting for confirmation: help@acme.test' }).waitFor();
  assert.match(await pending.textContent(), /support@acme\.test stays in use/);
  assert.equal(await address.inputValue(), 'support@acme.test');
  await p.reload();
  await pending.filter({ hasText: 'help@acme.test' }).waitFor();
  await shot(p, 'settings', 'pending');

  // the link reaches the new address, and only it
  const mail = await mailTo('help@acme.test', /confirm-address\?seller=S1&token=[0-9a-f]{64}/);
  const link = /#\/confirm-address\?seller=S1&token=([0-9a-f]{64})/.exec(unQP(mail.data));
  assert.ok(link, 'the mail holds the link');
  assert.equal(mails.filter((m) => /confirm-address/.test(unQP(m.data)) && !m.rcpt.includes('help@acme.test')).length, 0,
    'the link goes to the new address alone');

  // someone who is not signed in opens a link with a wrong token: explained, nothing changes
  const stranger = await newPage(chrome.browser, server.url, { name: 'settings-confirm' });
  const sp = stranger.page;
  const refused = stranger.allow(/\/v1\/sellers\/S1\/settings\/confirm$/, 400);
  await sp.goto(`/#/confirm-address?seller=S1&token=${'0'.repeat(64)}`);
  await sp.locator('h1', { hasText: 'Confirm the customer-service address' }).waitFor();
  assert.equal(await sp.getByLabel('Access token').count(), 0, 'no sign-in asked for');
  await sp.getByRole('button', { name: 'Confirm this address' }).click();
  await sp.getByRole('alert').filter({ hasText: 'This link is not valid, or has expired' }).waitFor();
  assert.equal(refused.seen, 1);
  await shot(sp, 'settings', 'confirm-refused');

  // the mailed link: opening the page changes nothing, the button confirms
  await sp.goto(`/#/confirm-address?seller=S1&token=${link[1]}`);
  await sp.getByRole('button', { name: 'Confirm this address' }).waitFor();
  assert.equal(await sp.getByRole('alert').filter({ hasText: 'not valid' }).count(), 0);
  let now = (await server.api(maya.token, 'GET', '/v1/sellers/S1/settings')).body.settings;
  assert.equal(now.customer_service_email, 'support@acme.test', 'opening the link changed nothing');
  assert.equal(now.customer_service_email_pending, 'help@acme.test');
  await sp.getByRole('button', { name: 'Confirm this address' }).click();
  await sp.locator('#confirm-result', { hasText: 'Confirmed: this address is now the customer-service address of Acme Tools.' }).waitFor();
  assert.equal(await sp.getByRole('button', { name: 'Confirm this address' }).count(), 0);
  await shot(sp, 'settings', 'confirmed');
  now = (await server.api(maya.token, 'GET', '/v1/sellers/S1/settings')).body.settings;
  assert.equal(now.customer_service_email, 'help@acme.test');
  assert.equal(now.customer_service_email_pending, null);
  await p.reload();
  await until(async () => (await address.inputValue()) === 'help@acme.test', 'the confirmed address in Settings');
  assert.equal(await pending.isHidden(), true);

  // the operator picks a seller and sees the same settings
  const ops = await newPage(chrome.browser, server.url, { name: 'settings-operator' });
  await signIn(ops.page, server.tokens.operator, '#/threads');
  await ops.page.getByRole('link', { name: 'Seller settings' }).click();
  await ops.page.locator('h1', { hasText: 'Seller settings' }).waitFor();
  await ops.page.getByLabel('Seller', { exact: true }).selectOption('S1');
  await ops.page.getByRole('button', { name: 'Show the settings' }).click();
  await ops.page.waitForURL((u) => u.hash === '#/settings?seller=S1');
  await until(async () => (await ops.page.getByLabel('Customer-service e-mail address').inputValue()) === 'help@acme.test', 'the operator sees S1\'s address');
  assert.equal(await ops.page.getByLabel('Language of parley\'s notices').inputValue(), 'de');

  // an agent who is not the owner is not offered the page
  const agent = await newPage(chrome.browser, server.url, { name: 'settings-sam' });
  await signIn(agent.page, sam.token, '#/inbox');
  await agent.page.getByRole('link', { name: 'Notifications' }).waitFor();
  assert.equal(await agent.page.getByRole('link', { name: 'Settings' }).count(), 0);

  for (const x of [owner, stranger, ops, agent]) {
    x.check();
    await x.close();
  }
});

test('an agent chooses an hourly digest of their assigned threads, registers an address and asks for a digest now', async () => {
  const agent = await newPage(chrome.browser, server.url, { name: 'notifications-sam' });
  const p = agent.page;
  await signIn(p, sam.token, '#/inbox');
  await p.getByRole('link', { name: 'Notifications' }).click();
  await p.locator('h1', { hasText: 'Notifications' }).waitFor();
  // the defaults: deadline alerts about all threads, by e-mail and in the browser; no address yet
  await p.getByLabel('Deadline alerts only').waitFor();
  assert.equal(await p.getByLabel('Deadline alerts only').isChecked(), true);
  assert.equal(await p.getByLabel('All of the seller\'s threads').isChecked(), true);
  assert.equal(await p.getByLabel('By e-mail').isChecked(), true);
  assert.equal(await p.getByLabel('In the browser').isChecked(), true);
  await p.locator('#notif-no-address').waitFor();

  // a digest needs an address: the server's 409 is explained
  const noAddress = agent.allow(/\/v1\/me\/notifications\/digest$/, 409);
  await p.getByRole('button', { name: 'Send me a digest now' }).click();
  await p.getByRole('alert').filter({ hasText: 'register an e-mail address first' }).waitFor();
  assert.equal(noAddress.seen, 1);

  // hourly, assigned threads only: kept across a reload
  await p.getByLabel('An hourly digest').check();
  await p.getByLabel('Only threads assigned to me').check();
  await p.getByRole('button', { name: 'Save', exact: true }).click();
  await p.locator('#notif-saved', { hasText: 'You get an hourly digest, about threads assigned to you, by e-mail and in the browser.' }).waitFor();
  await p.locator('#next-digest', { hasText: 'Next digest:' }).waitFor();
  await p.reload();
  await p.locator('h1', { hasText: 'Notifications' }).waitFor();
  await p.getByLabel('An hourly digest').waitFor();
  assert.equal(await p.getByLabel('An hourly digest').isChecked(), true);
  assert.equal(await p.getByLabel('Only threads assigned to me').isChecked(), true);
  assert.equal(await p.getByLabel('Deadline alerts only').isChecked(), false);
  const kept = (await server.api(sam.token, 'GET', '/v1/me/notifications')).body.notifications;
  assert.equal(kept.mode, 'hourly');
  assert.equal(kept.scope, 'assigned');
  await shot(p, 'notifications', 'hourly-assigned');

  // an address of one's own, then a digest by e-mail to it
  await p.getByLabel('Your e-mail address').fill('sam@acme.test');
  await p.getByRole('button', { name: 'Register the address' }).click();
  await p.locator('#notif-address-value', { hasText: 'sam@acme.test' }).waitFor();
  assert.match(await p.locator('#' + await p.getByLabel('By e-mail').getAttribute('aria-describedby')).textContent(), /To sam@acme\.test/);
  await p.getByRole('button', { name: 'Send me a digest now' }).click();
  await p.locator('#digest-status', { hasText: /^Sent: a digest .*is on its way to sam@acme\.test/ }).waitFor();
  await mailTo('sam@acme.test', /./);
  await shot(p, 'notifications', 'digest-sent');

  // an operator has no notifications page
  const ops = await newPage(chrome.browser, server.url, { name: 'notifications-operator' });
  await signIn(ops.page, server.tokens.operator, '#/threads');
  await ops.page.getByRole('link', { name: 'Seller settings' }).waitFor();
  assert.equal(await ops.page.getByRole('link', { name: 'Notifications' }).count(), 0);

  agent.check();
  ops.check();
  await agent.close();
  await ops.close();
});

test('deadline alerts link to their thread and go to the assigned agent, or to those who follow all threads', async () => {
  // The buyer's messages are imported with their times (as history is) so that each one's
  // alert mark (20 hours after it, 4 hours before its deadline) falls a few seconds later:
  // the server's tick, about every 15 s, publishes the "deadline" events; the test waits for
  // what the pages show, never for time.
  const AHEAD = 10; // seconds from the import to the alert mark: more than an import takes
  let imported = 0;
  const importLines = (rows) => {
    const file = join(dirname(server.db), `alerts-${++imported}.jsonl`);
    writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    execFileSync(process.env.PARLEY_BIN, ['import', file, '--db', server.db], { stdio: ['ignore', 'ignore', 'inherit'] });
  };
  const at = (secondsAgo) => new Date((Math.floor(Date.now() / 1000) - secondsAgo) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const DUE_SOON = 20 * 3600 - AHEAD; // a buyer message this old reaches its alert mark AHEAD seconds from now
  const msg = (id, asin, from, secondsAgo, text) => ({ type: 'message', id, asin, seller: 'S1', buyer: 'B2', from, at: at(secondsAgo),
    topic: 'product_specifications', text });
  const threadOf = async (asin) => {
    const r = await server.api(maya.token, 'GET', `/v1/threads?asin=${asin}&filter=all`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.threads.length, 1, `one thread about ${asin}`);
    return r.body.threads[0].id;
  };

  // Maya follows all threads (the defaults); Sam follows his own. Both want alerts in the
  // browser, whose desktop notifications Maya's allows and Sam's refuses.
  assert.equal((await server.api(maya.token, 'PUT', '/v1/me/notifications', { mode: 'deadlines', scope: 'all', browser: true })).status, 200);
  assert.equal((await server.api(sam.token, 'PUT', '/v1/me/notifications', { mode: 'hourly', scope: 'assigned', browser: true })).status, 200);

  // a recording stand-in for the browser's notifications shows what the pages raise
  const record = (permission) => {
    window.recordedNotifications = [];
    window.Notification = class extends EventTarget {
      static permission = permission;
      static requestPermission() { return Promise.resolve(permission); }
      constructor(title, options) { super(); window.recordedNotifications.push({ title, body: options && options.body, tag: options && options.tag }); }
      close() {}
    };
  };
  const owner = await newPage(chrome.browser, server.url, { name: 'alerts-maya' });
  const agent = await newPage(chrome.browser, server.url, { name: 'alerts-sam' });
  const mp = owner.page;
  const sp = agent.page;
  await mp.addInitScript(record, 'granted');
  await sp.addInitScript(record, 'denied');
  await signIn(mp, maya.token, '#/inbox');
  await signIn(sp, sam.token, '#/inbox');
  await mp.locator('#live-status.is-on').waitFor();
  await sp.locator('#live-status.is-on').waitFor();
  const deadlineNotes = (page) => page.evaluate(() => window.recordedNotifications.filter((n) => n.title === 'Response due soon'));
  const alertOf = (page, id) => page.locator(`#alerts .deadline-alert[data-thread="${id}"]`);

  // A: a question answered yesterday, assigned to Sam. B: nobody's, its alert mark due now.
  importLines([
    msg('alert-a1', 'B0ALERT00A', 'buyer', 26 * 3600, 'Is the battery included?'),
    msg('alert-a2', 'B0ALERT00A', 'seller', 25 * 3600, 'Yes, one battery and the charger are in the box.'),
    msg('alert-b1', 'B0ALERT00B', 'buyer', DUE_SOON, 'Does the case fit the 18V drill?'),
  ]);
  const A = await threadOf('B0ALERT00A');
  const B = await threadOf('B0ALERT00B');
  const assigned = await server.api(maya.token, 'POST', `/v1/threads/${A}/assign`, { agent_id: sam.agent_id });
  assert.equal(assigned.status, 200, JSON.stringify(assigned.body));
  assert.equal((await server.api(maya.token, 'GET', `/v1/threads/${A}?limit=1`)).body.thread.response_due_at, null, 'A is answered');

  // Maya, who follows all threads, is alerted about B on the page and on the desktop.
  const alertB = alertOf(mp, B);
  await alertB.waitFor({ timeout: 90000 });
  assert.match(await alertB.textContent(), /Response due soon: Carlos Ruiz · Product B0ALERT00B — \d+ h \d+ min left/);
  assert.equal(await mp.locator('#alerts').getAttribute('role'), 'status');
  const dueB = (await server.api(maya.token, 'GET', `/v1/threads/${B}?limit=1`)).body.thread.response_due_at;
  assert.equal(await alertB.getAttribute('data-due-at'), dueB);
  await until(async () => (await deadlineNotes(mp)).length === 1, 'Maya\'s desktop notification');
  assert.deepEqual(await deadlineNotes(mp), [{ title: 'Response due soon', body: `Carlos Ruiz · Product B0ALERT00B: ${/\d+ h \d+ min left/.exec(await alertB.textContent())[0]}`, tag: `parley-deadline-${B}` }]);
  await shot(mp, 'alerts', 'maya-alerted');

  // The buyer writes again in A, Sam's, and begins C, nobody's, both due as B was: Sam hears
  // of A alone, Maya of C alone. (A's event comes first, A being the older thread; each page
  // handles the events in their order, so what came before the alert shown was decided.)
  importLines([
    msg('alert-a3', 'B0ALERT00A', 'buyer', DUE_SOON, 'And is a second battery sold separately?'),
    msg('alert-c1', 'B0ALERT00C', 'buyer', DUE_SOON, 'Which bits come with it?'),
  ]);
  const C = await threadOf('B0ALERT00C');
  const alertA = alertOf(sp, A);
  await alertA.waitFor({ timeout: 90000 });
  assert.match(await alertA.textContent(), /Response due soon: Carlos Ruiz · Product B0ALERT00A/);
  assert.equal(await alertOf(sp, B).count(), 0, 'Sam, who follows his own threads, is not alerted about nobody\'s thread');
  assert.deepEqual(await deadlineNotes(sp), [], 'Sam\'s browser allows no desktop notifications');
  await alertOf(mp, C).waitFor({ timeout: 90000 });
  assert.equal(await alertOf(mp, A).count(), 0, 'a thread assigned to Sam alerts Sam alone');
  assert.equal(await alertOf(sp, C).count(), 0);
  await shot(sp, 'alerts', 'sam-alerted');

  // the alert's link opens the thread and the alert goes; Dismiss removes one
  await alertB.getByRole('link', { name: 'Carlos Ruiz · Product B0ALERT00B' }).click();
  await mp.waitForURL((u) => u.hash === `#/thread/${B}`);
  await mp.locator('.msg-buyer .msg-text', { hasText: 'Does the case fit the 18V drill?' }).waitFor();
  assert.equal(await alertOf(mp, B).count(), 0);
  await sp.getByRole('button', { name: 'Dismiss the alert about Carlos Ruiz · Product B0ALERT00A' }).click();
  assert.equal(await alertOf(sp, A).count(), 0);

  // the rule itself, as both pages apply it
  const rule = await mp.evaluate(async () => {
    const { wantsDeadlineAlert: wants } = await import('/js/alerts.js');
    const all = { mode: 'each', scope: 'all', browser: true }, mine = { mode: 'daily', scope: 'assigned', browser: true };
    const none = { mode: 'none', scope: 'all', browser: true }, mailOnly = { mode: 'deadlines', scope: 'all', browser: false };
    return [wants(all, { assignee_id: null }, 1), wants(all, { assignee_id: 2 }, 1), wants(mine, { assignee_id: 1 }, 1),
      wants(mine, { assignee_id: null }, 1), wants(none, { assignee_id: 1 }, 1), wants(mailOnly, { assignee_id: null }, 1),
      wants(null, { assignee_id: null }, 1)];
  });
  assert.deepEqual(rule, [true, false, true, false, false, false, true]);

  owner.check();
  agent.check();
  await owner.close();
  await agent.close();
});
