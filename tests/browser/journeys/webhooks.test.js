// webhooks.test.js - a seller's owner connects their helpdesk: adds a webhook (its secret shown once), sends a test event to a receiver on loopback, reads the delivery log, turns the webhook off and deletes it; an agent who is not the owner is not offered the page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createHmac } from 'node:crypto';
import { startServer, launch, newPage, shot, signIn } from '../lib/harness.js';

let server, chrome, receiver;
const got = [];
before(async () => {
  // the helpdesk: plain http on loopback, which the operator allows (--webhook-allow)
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      got.push({ path: req.url, headers: req.headers, body });
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('thanks');
    });
  });
  await new Promise((ok) => receiver.listen(0, '127.0.0.1', ok));
  const port = receiver.address().port;
  server = await startServer(['--webhook-allow', `127.0.0.1:${port}`, '--webhook-retry', '1']);
  server.hookUrl = `http://127.0.0.1:${port}/helpdesk`;
  chrome = await launch();
});
after(async () => {
  if (chrome) await chrome.close();
  if (server) await server.stop();
  if (receiver) receiver.close();
});

test('15. the owner connects a helpdesk with a webhook, tests it and reads its log', async () => {
  const owner = await newPage(chrome.browser, server.url, { name: 'maya' });
  const p = owner.page;
  await signIn(p, server.tokens.agents['Maya Lopez'].token, '#/inbox');
  await p.getByRole('link', { name: 'Webhooks' }).click();
  await p.locator('h1', { hasText: 'Webhooks' }).waitFor();
  await p.locator('.list-status', { hasText: 'No webhooks yet' }).waitFor();
  // nothing chosen: the form says what is missing
  await p.getByRole('button', { name: 'Add the webhook' }).click();
  await p.getByRole('alert').filter({ hasText: 'Give the URL' }).waitFor();
  await p.getByLabel('URL').fill(server.hookUrl);
  await p.getByRole('button', { name: 'Add the webhook' }).click();
  await p.getByRole('alert').filter({ hasText: 'Choose at least one event' }).waitFor();
  // a private address that is not allowed is refused with the server's reason (a 400 on purpose)
  const refused = owner.allow(/\/v1\/webhooks$/, 400);
  await p.getByLabel('URL').fill('https://10.1.2.3/hook');
  await p.getByLabel('A buyer wrote').check();
  await p.getByRole('button', { name: 'Add the webhook' }).click();
  await p.getByRole('alert').filter({ hasText: 'private, loopback or link-local' }).waitFor();
  assert.equal(refused.seen, 1);
  await p.getByLabel('URL').fill(server.hookUrl);
  await p.getByLabel('A response is due soon').check();
  await p.getByRole('button', { name: 'Add the webhook' }).click();
  // the secret, this once
  const secret = await p.locator('#webhook-secret-value').textContent();
  assert.match(secret, /^whsec_[0-9a-f]{64}$/);
  const card = p.locator('.webhook', { hasText: server.hookUrl });
  await card.waitFor();
  assert.match(await card.textContent(), /A buyer wrote · A response is due soon/);
  await shot(p, 'webhooks', 'added');
  // a test event reaches the helpdesk, signed with that secret
  await card.getByRole('button', { name: /^Send a test event/ }).click();
  for (let i = 0; !got.length; i++) {
    assert.ok(i < 600, 'the test event never arrived');
    await new Promise((r) => setTimeout(r, 100));
  }
  const ev = got[0];
  assert.equal(ev.path, '/helpdesk');
  assert.equal(JSON.parse(ev.body).type, 'webhook.test');
  const sig = Object.fromEntries(ev.headers['parley-signature'].split(',').map((x) => x.split('=')));
  assert.equal(createHmac('sha256', secret).update(`${sig.t}.${ev.body}`).digest('hex'), sig.v1);
  // the log says it was delivered (refreshed until it does)
  for (let i = 0; ; i++) {
    await card.getByRole('button', { name: 'Refresh the log' }).click();
    if (await card.locator('.delivery-delivered').count()) break;
    assert.ok(i < 100, 'the log never showed the delivery');
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.match(await card.locator('.webhook-log tbody').textContent(), /Delivered.*200 in \d+ ms/);
  await shot(p, 'webhooks', 'delivered');
  // off, then deleted
  await card.getByRole('button', { name: /^Turn off/ }).click();
  await p.locator('.webhook .badge', { hasText: 'Off' }).waitFor();
  p.once('dialog', (d) => d.accept());
  await p.locator('.webhook').getByRole('button', { name: /^Delete/ }).click();
  await p.locator('.list-status', { hasText: 'No webhooks yet' }).waitFor();
  // an agent who is not the owner is not offered the page
  const agent = await newPage(chrome.browser, server.url, { name: 'sam' });
  await signIn(agent.page, server.tokens.agents['Sam Chen'].token, '#/inbox');
  await agent.page.getByRole('link', { name: 'Inbox' }).waitFor();
  assert.equal(await agent.page.getByRole('link', { name: 'Webhooks' }).count(), 0);
  owner.check();
  agent.check();
  await owner.close();
  await agent.close();
});
