// a11y.test.js - every page of the three kinds of user, and the public page of a mailed link, checked with axe-core (WCAG 2.1 A and AA rules) at desktop and phone width.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { startServer, launch, newPage as openPage, signIn } from '../lib/harness.js';

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

let server;
let chrome;
let T1, T3;
let BN; // a bulk notice, for its page
before(async () => {
  server = await startServer();
  [T1, , T3] = server.tokens.threads.map((t) => t.id);
  chrome = await launch();
  const r = await server.api(server.tokens.agents['Maya Lopez'].token, 'POST', '/v1/bulk-notices', { order_ids: ['112-4839201-5561023', '112-0093847-3318290'],
    action: 'unexpectedProblem', text: 'Your order is delayed: a storm closed our depot for two days. It will reach you about three days later than planned.' });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  BN = r.body.bulk_notice.id;
});
after(async () => {
  if (chrome) await chrome.close();
  if (server) await server.stop();
});

/** Serious and critical violations of the page as it is now, one line each. */
async function violations(page) {
  await page.addScriptTag({ path: AXE });
  const found = await page.evaluate(async () => {
    const r = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
  });
  return found;
}

/** Opens each of hashes (a page's h1 drawn and nothing loading) and collects what axe finds. */
async function checkPages(p, hashes) {
  const all = [];
  for (const hash of hashes) {
    await p.goto(`/${hash}`);
    await p.locator('main h1').first().waitFor();
    await p.waitForFunction(() => !document.querySelector('[aria-busy="true"]') && !document.querySelector('main .loading'));
    for (const v of await violations(p)) all.push(`${hash}: ${v}`);
  }
  return all;
}

// Two passes: the desktop layout in light colours, the phone layout in dark ones (contrast
// depends on the colours, the layout's rules on the width).
for (const [label, size, scheme] of [['desktop', { width: 1280, height: 900 }, 'light'],
  ['phone, dark mode', { width: 390, height: 844 }, 'dark']]) {
  test(`every page passes axe-core's WCAG 2.1 AA checks without a serious violation (${label})`, async () => {
    const found = [];
    const newPage = async (browser, url, opts) => {
      const x = await openPage(browser, url, opts);
      await x.page.emulateMedia({ colorScheme: scheme });
      return x;
    };
    const agent = await newPage(chrome.browser, server.url, { name: `a11y-agent-${label}`, bypassCSP: true, ...size });
    await signIn(agent.page, server.tokens.agents['Maya Lopez'].token, '#/inbox');
    found.push(...await checkPages(agent.page, ['#/inbox', `#/thread/${T3}`, '#/proposals', '#/templates', '#/rules', '#/performance', '#/bulk-notices', `#/bulk-notices/${BN}`, '#/webhooks', '#/settings', '#/notifications', '#/team', '#/security']));
    agent.check();
    await agent.close();

    const buyer = await newPage(chrome.browser, server.url, { name: `a11y-buyer-${label}`, bypassCSP: true, ...size });
    await signIn(buyer.page, server.tokens.buyers.B1, '#/messages');
    found.push(...await checkPages(buyer.page, ['#/messages', `#/thread/${T1}`, '#/orders', '#/ask', '#/preferences']));
    buyer.check();
    await buyer.close();

    const ops = await newPage(chrome.browser, server.url, { name: `a11y-operator-${label}`, bypassCSP: true, ...size });
    await signIn(ops.page, server.tokens.operator, '#/threads');
    found.push(...await checkPages(ops.page, ['#/threads', `#/thread/${T1}`, '#/review', '#/violations', '#/sellers', '#/sellers/S1', '#/restrictions', '#/bulk-notices', `#/bulk-notices/${BN}`, '#/webhooks', '#/settings', '#/settings?seller=S1', `#/evidence/${T1}`]));
    ops.check();
    await ops.close();

    const signin = await newPage(chrome.browser, server.url, { name: `a11y-signin-${label}`, bypassCSP: true, ...size });
    await signin.page.goto('/');
    await signin.page.getByLabel('E-mail address').waitFor();
    await signin.page.getByText('Use an access token').click();
    await signin.page.getByLabel('Access token').waitFor();
    for (const v of await violations(signin.page)) found.push(`sign-in: ${v}`);
    await signin.close();

    // the page of the link mailed to a new customer-service address, signed out
    const confirm = await newPage(chrome.browser, server.url, { name: `a11y-confirm-${label}`, bypassCSP: true, ...size });
    found.push(...await checkPages(confirm.page, [`#/confirm-address?seller=S1&token=${'0'.repeat(64)}`, '#/forgot-password',
      `#/reset-password?token=1-${'0'.repeat(64)}`, `#/accept-invitation?token=1-${'0'.repeat(64)}`,
      `#/confirm-account?token=1-${'0'.repeat(64)}`]));
    confirm.check();
    await confirm.close();

    assert.deepEqual(found, [], `axe-core found:\n${found.join('\n')}`);
  });
}
