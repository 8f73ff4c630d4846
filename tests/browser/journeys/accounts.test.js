// accounts.test.js - journeys of accounts: the demo's owner signs in with the e-mail address and password `make run` prints, and on the Team page sees the agents, sets one away and invites a new agent; the invited person opens the mailed link signed out, chooses a name and a password and lands in the inbox; on the Security page they turn on two-step sign-in with an authenticator code and are shown ten recovery codes, sign out, and sign in again with the password and then a recovery code; the sessions list names this browser, and "sign out everywhere" ends it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { createHmac } from 'node:crypto';
import { startServer, launch, newPage, shot } from '../lib/harness.js';

/** A small SMTP server on loopback that keeps every mail parley sends: {rcpt: [...], data}. */
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
          cur.data = buf.slice(0, end + 2).replace(/\r\n\.\./g, '\r\n.');
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
        if (verb === 'MAIL') { cur = { rcpt: [], data: '' }; say('250 2.1.0 ok'); }
        else if (verb === 'RCPT' && cur) { cur.rcpt.push(((/<([^>]*)>/.exec(line) || [])[1] || '').toLowerCase()); say('250 2.1.5 ok'); }
        else if (verb === 'DATA' && cur) { inData = true; say('354 end with <CRLF>.<CRLF>'); }
        else if (verb === 'QUIT') { say('221 2.0.0 bye'); sock.end(); return; }
        else say('250 mailbox.test');
      }
    });
  });
}

const unQP = (s) => s.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, x) => String.fromCharCode(parseInt(x, 16)));

async function until(fn, what, ms = 60000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    assert.ok(Date.now() < end, `${what} never happened`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** RFC 6238's code (SHA-1, 6 digits) of a time step, as an authenticator app makes it. */
function totp(secret, step) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of secret.replace(/=+$/, '')) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', key).update(msg).digest();
  const off = mac[mac.length - 1] & 15;
  return String((mac.readUInt32BE(off) & 0x7fffffff) % 1000000).padStart(6, '0');
}

let server, chrome, smtp;
before(async () => {
  smtp = mailbox();
  await new Promise((ok) => smtp.listen(0, '127.0.0.1', ok));
  server = await startServer(['--smtp-relay', `smtp://127.0.0.1:${smtp.address().port}`]);
  chrome = await launch();
});
after(async () => {
  if (chrome) await chrome.close();
  if (server) await server.stop();
  if (smtp) smtp.close();
});

/** Signs in on the sign-in page with an address and a password (and, when asked, a code). */
async function signInWithPassword(p, email, password) {
  await p.goto('/');
  await p.getByLabel('E-mail address').fill(email);
  await p.getByLabel('Password', { exact: true }).fill(password);
  await p.getByRole('button', { name: 'Sign in', exact: true }).click();
}

test('an owner invites an agent, who joins by the mailed link and signs in with a password and a second factor', async () => {
  // the demo's owner, with the account make run prints
  const maya = server.tokens.accounts.find((a) => a.who.startsWith('Maya Lopez'));
  assert.ok(maya && maya.email === 'maya@acme.test' && maya.password.length >= 10, 'the demo lists an account for Maya');
  const owner = await newPage(chrome.browser, server.url, { name: 'accounts-maya' });
  let p = owner.page;
  owner.allow(/\/v1\/session$/, 401);
  await p.goto('/');
  assert.equal(await p.evaluate(() => document.activeElement.id), 'email', 'the address field has focus');
  await shot(p, 'accounts', 'signin');
  await signInWithPassword(p, maya.email, 'not the password');
  await p.getByRole('alert').filter({ hasText: 'The e-mail address or the password is not right.' }).waitFor();
  await signInWithPassword(p, maya.email, maya.password);
  await p.waitForURL((u) => u.hash.startsWith('#/inbox'));
  await p.getByTestId('role').filter({ hasText: 'Maya Lopez' }).waitFor();

  // the Team page: the agents with role and status; one set away; an invitation
  await p.getByRole('link', { name: 'Team' }).click();
  await p.locator('h1', { hasText: 'Team' }).waitFor();
  const sam = p.locator('#agent-table tr', { hasText: 'Sam Chen' });
  await sam.getByText('Agent', { exact: true }).waitFor();
  await sam.getByText('Available').waitFor();
  await sam.getByRole('button', { name: 'Set away: Sam Chen' }).click();
  await sam.getByText('Away').waitFor();
  await p.getByLabel('E-mail address').fill('nina@acme.test');
  await p.getByLabel('Role').selectOption('agent');
  await p.getByRole('button', { name: 'Send the invitation' }).click();
  await p.locator('#invite-sent', { hasText: 'nina@acme.test' }).waitFor();
  await p.locator('#invitation-list li', { hasText: 'nina@acme.test' }).waitFor();
  await shot(p, 'accounts', 'team');
  owner.check();

  // the invited person opens the mailed link, signed out, in another browser
  const mail = await until(() => mails.find((m) => m.rcpt.includes('nina@acme.test') && /accept-invitation\?token=/.test(unQP(m.data))),
    'the invitation mail');
  const link = /(http:\/\/\S+#\/accept-invitation\?token=\d+-[0-9a-f]{64})/.exec(unQP(mail.data))[1];
  const nina = await newPage(chrome.browser, server.url, { name: 'accounts-nina' });
  p = nina.page;
  nina.allow(/\/v1\/session$/, 401);
  await p.goto(new URL(link).hash ? `/${new URL(link).hash}` : link);
  await p.locator('h1', { hasText: 'Accept the invitation' }).waitFor();
  await p.getByLabel('Your name').fill('Nina Novak');
  await p.getByLabel('Password', { exact: true }).fill('nina has a long password');
  await p.getByLabel('The same password again').fill('nina has a long passwort');
  await p.getByRole('button', { name: 'Accept and sign in' }).click();
  await p.getByRole('alert').filter({ hasText: 'The two passwords differ' }).waitFor();
  await p.getByLabel('The same password again').fill('nina has a long password');
  await p.getByRole('button', { name: 'Accept and sign in' }).click();
  await p.waitForURL((u) => u.hash.startsWith('#/inbox'));
  await p.getByTestId('role').filter({ hasText: 'Nina Novak' }).waitFor();

  // two-step sign-in on the Security page
  await p.getByRole('link', { name: 'Security' }).click();
  await p.locator('h1', { hasText: 'Security' }).waitFor();
  await p.getByText('You sign in as nina@acme.test').waitFor();
  await p.getByRole('button', { name: 'Set up two-step sign-in' }).click();
  const secret = (await p.locator('#totp-secret').textContent()).trim();
  assert.match(await p.locator('#totp-uri').textContent(), /^otpauth:\/\/totp\/parley:nina%40acme\.test\?secret=/);
  await shot(p, 'accounts', 'totp-setup');
  let used = 0;
  const nextCode = () => {
    used = Math.max(Math.floor(Date.now() / 1000 / 30) - 1, used + 1);
    return totp(secret, used);
  };
  await p.getByLabel('Code from the app').fill(nextCode());
  await p.getByRole('button', { name: 'Turn two-step sign-in on' }).click();
  await p.getByText('Signing in asks for your password and a code').waitFor();
  // the recovery codes, shown this once, with focus on them
  const codes = await p.locator('#recovery-codes li').allTextContents();
  assert.equal(codes.length, 10);
  for (const c of codes) assert.match(c, /^[0-9a-z]{4}(-[0-9a-z]{4}){3}$/);
  assert.equal(await p.evaluate(() => document.activeElement.id), 'recovery-section');
  await p.locator('#recovery-left[data-left="10"]', { hasText: '10 recovery codes left' }).waitFor();
  await shot(p, 'accounts', 'recovery-codes');

  // signed out, signing in asks for the code after the password
  await p.getByRole('button', { name: 'Sign out', exact: true }).click();
  await p.locator('h1', { hasText: 'Sign in' }).waitFor();
  await signInWithPassword(p, 'nina@acme.test', 'nina has a long password');
  const code = p.getByLabel('Code from your authenticator app');
  await code.waitFor();
  assert.equal(await p.evaluate(() => document.activeElement.id), 'code', 'the code field has focus');
  await shot(p, 'accounts', 'signin-code');
  // the phone is lost: a recovery code, typed from paper in capitals, lets her in once
  await code.fill(codes[0].toUpperCase());
  await p.getByRole('button', { name: 'Sign in', exact: true }).click();
  await p.waitForURL((u) => u.hash.startsWith('#/inbox'));

  // the sessions: this browser is listed; signing out everywhere ends it
  await p.getByRole('link', { name: 'Security' }).click();
  await p.locator('#recovery-left[data-left="9"]', { hasText: '9 recovery codes left' }).waitFor();
  const mine = p.locator('#session-list tbody tr', { hasText: '(this one)' });
  await mine.waitFor();
  assert.match(await mine.textContent(), /Password/);
  await p.getByLabel('Keep this browser signed in').uncheck();
  await p.getByRole('button', { name: 'Sign out everywhere' }).click();
  await p.locator('h1', { hasText: 'Sign in' }).waitFor();
  await p.goto('/#/inbox');
  await p.locator('h1', { hasText: 'Sign in' }).waitFor();

  // the owner sees the invitation accepted: it is pending no more, Nina is on the team
  p = owner.page;
  await p.reload();
  await p.locator('#agent-table tr', { hasText: 'Nina Novak' }).waitFor();
  await p.locator('#no-invitations').waitFor();
  owner.check();
  nina.check();
  await owner.close();
  await nina.close();
});
