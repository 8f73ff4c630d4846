// app.js - the message center's shell: session, role-based navigation, hash routes and views.
import { h, replace, announce } from './dom.js';
import { errorBox } from './errors.js';
import { get, signIn, signInWithPassword, signOut, hasSession, onUnauthorized } from './api.js';
import { loadMeta } from './meta.js';
import { startLive, stopLive, onLive, notify, notificationsState, askNotifications } from './live.js';
import { renderThreadList } from './threads.js';
import { renderThread } from './thread.js';
import { renderEvidence } from './evidence.js';
import { renderOrders, renderContact, renderAsk, renderPreferences } from './buyer.js';
import { renderReviewQueue, renderSellers, renderViolations, renderRestrictions } from './operator.js';
import { renderPerformance } from './performance.js';
import { renderTemplates } from './templates.js';
import { renderProposals, renderRules } from './automation.js';
import { installShortcuts } from './keys.js';
import { renderWebhooks } from './webhooks.js';
import { renderSettings, renderConfirmAddress } from './settings.js';
import { renderNotifications } from './notifications.js';
import { renderBulkNotices } from './bulk.js';
import { onDeadline, dropDeadlineAlert, clearDeadlineAlerts } from './alerts.js';
import { renderForgotPassword, renderResetPassword, renderAcceptInvitation, renderConfirmAccount, renderSecurity, renderTeam } from './account.js';

const main = () => document.getElementById('main');
let me = null;
/* Threads that need a response (the inbox's response_needed_count), in the tab title and on
 * the Inbox link; null before the inbox was read. */
let attention = null;
let cleanup = null;
let liveState = 'off';

/**
 * Every page, per kind of user: #/<page> (or #/<page>/<id> when id is set) shows view.
 * Rows with a label are the header's navigation, in this order; the first is the kind's
 * home page. A page without a label marks the navigation item `under` as current. A row
 * with roles is in the navigation of those agents' roles only.
 */
const ROUTES = [
  { kind: 'agent', page: 'inbox', label: 'Inbox', view: renderThreadList },
  { kind: 'agent', page: 'proposals', label: 'Approval queue', view: renderProposals },
  { kind: 'agent', page: 'templates', label: 'Templates', view: renderTemplates },
  { kind: 'agent', page: 'rules', label: 'Rules', view: renderRules },
  { kind: 'agent', page: 'performance', label: 'Performance', view: renderPerformance },
  { kind: 'agent', page: 'bulk-notices', label: 'Bulk notices', view: renderBulkNotices },
  { kind: 'agent', page: 'bulk-notices', id: true, view: renderBulkNotices },
  { kind: 'agent', page: 'webhooks', label: 'Webhooks', roles: ['owner'], view: renderWebhooks },
  { kind: 'agent', page: 'settings', label: 'Settings', roles: ['owner'], view: renderSettings },
  { kind: 'agent', page: 'notifications', label: 'Notifications', view: renderNotifications },
  { kind: 'agent', page: 'team', label: 'Team', roles: ['owner'], view: renderTeam },
  { kind: 'agent', page: 'security', label: 'Security', view: renderSecurity },
  { kind: 'agent', page: 'thread', id: true, under: 'inbox', view: renderThread },

  { kind: 'buyer', page: 'messages', label: 'Your messages', view: renderThreadList },
  { kind: 'buyer', page: 'orders', label: 'Your orders', view: renderOrders },
  { kind: 'buyer', page: 'ask', label: 'Ask about a product', view: renderAsk },
  { kind: 'buyer', page: 'preferences', label: 'Preferences', view: renderPreferences },
  { kind: 'buyer', page: 'security', label: 'Security', view: renderSecurity },
  { kind: 'buyer', page: 'thread', id: true, under: 'messages', view: renderThread },
  { kind: 'buyer', page: 'contact', id: true, under: 'orders', view: renderContact },

  { kind: 'operator', page: 'threads', label: 'All threads', view: renderThreadList },
  { kind: 'operator', page: 'review', label: 'Review queue', view: renderReviewQueue },
  { kind: 'operator', page: 'violations', label: 'Violations', view: renderViolations },
  { kind: 'operator', page: 'sellers', label: 'Sellers by risk', view: renderSellers },
  { kind: 'operator', page: 'sellers', id: true, view: renderPerformance },
  { kind: 'operator', page: 'restrictions', label: 'Restrictions and quotas', view: renderRestrictions },
  { kind: 'operator', page: 'bulk-notices', label: 'Bulk notices', view: renderBulkNotices },
  { kind: 'operator', page: 'bulk-notices', id: true, view: renderBulkNotices },
  { kind: 'operator', page: 'webhooks', label: 'Webhooks', view: renderWebhooks },
  { kind: 'operator', page: 'settings', label: 'Seller settings', view: renderSettings },
  { kind: 'operator', page: 'security', label: 'Security', view: renderSecurity },
  { kind: 'operator', page: 'thread', id: true, under: 'threads', view: renderThread },
  { kind: 'operator', page: 'evidence', id: true, under: 'threads', view: renderEvidence },
];

/**
 * Pages anyone may open, signed in or not: the pages of links that parley e-mails
 * (#/confirm-address?seller=S1&token=…, a password reset, an invitation) and the one that
 * asks for a reset link. Opening one changes nothing by itself.
 */
const PUBLIC_ROUTES = [
  { page: 'confirm-address', view: renderConfirmAddress },
  { page: 'forgot-password', view: renderForgotPassword },
  { page: 'reset-password', view: renderResetPassword },
  { page: 'accept-invitation', view: renderAcceptInvitation },
  { page: 'confirm-account', view: renderConfirmAccount },
];

const navRows = (kind, role) => ROUTES.filter((r) => r.kind === kind && r.label && (!r.roles || r.roles.includes(role)));

/** The kind's home page ('#/inbox' for agents), or undefined for a kind with no pages. */
function home(kind) {
  const first = navRows(kind)[0];
  return first && `#/${first.page}`;
}

/** The row that shows path: #/sellers/S1 is the row with an id, #/sellers the one without. */
function findRoute(kind, path) {
  const rows = ROUTES.filter((r) => r.kind === kind && r.page === path[0]);
  return (path[1] && rows.find((r) => r.id)) || rows.find((r) => !r.id);
}

function roleLabel(m) {
  if (m.kind === 'agent') return `${m.name || 'Agent'} · ${m.seller_name || `Seller ${m.seller_id}`}${m.role ? ` (${m.role.replace('_', ' ')})` : ''}`;
  if (m.kind === 'buyer') return m.name || 'Buyer';
  return 'Marketplace operator';
}

/** Parses '#/thread/T1?x=1' into {path: ['thread','T1'], query}. */
function parseHash() {
  const raw = location.hash.startsWith('#/') ? location.hash.slice(2) : '';
  const [p, q] = raw.split('?');
  return { path: p.split('/').filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(q || '') };
}

export function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function renderHeader() {
  const bar = document.getElementById('topbar');
  if (!me) {
    replace(bar, h('span', { class: 'brand' }, 'parley'), h('span', { class: 'brand-sub' }, 'message center'));
    return;
  }
  const page = parseHash().path[0];
  const row = ROUTES.find((r) => r.kind === me.kind && r.page === page);
  const current = row ? row.under || row.page : page;
  const links = navRows(me.kind, me.role).map((r) => h('li', null,
    h('a', { href: `#/${r.page}`, 'aria-current': r.page === current ? 'page' : null }, r.label,
      r.page === 'inbox' ? h('span', { class: 'nav-count', id: 'nav-rn', hidden: !attention },
        h('span', { class: 'nav-count-n' }, String(attention || 0)), h('span', { class: 'sr-only' }, ' need a response')) : null)));
  const notif = notificationsState();
  replace(
    bar,
    h('a', { class: 'brand', href: home(me.kind) || '#/' }, 'parley'),
    h('nav', { class: 'mainnav', 'aria-label': 'Main' }, h('ul', null, links)),
    h('div', { class: 'userbox' },
      h('span', { class: ['live', liveState === 'on' ? 'is-on' : 'is-off'], id: 'live-status',
        title: liveState === 'on' ? 'Live updates on: new messages appear by themselves' : 'Live updates off: reload to see new messages' },
      liveState === 'on' ? 'Live' : 'Offline'),
      notif === 'default' && me.kind !== 'operator'
        ? h('button', { type: 'button', class: 'btn btn-small btn-quiet', id: 'notify', 'aria-label': 'Turn on browser notifications for new messages',
          onClick: async () => { await askNotifications(); renderHeader(); } }, 'Notifications')
        : null,
      h('span', { class: 'role', 'data-testid': 'role' }, roleLabel(me)),
      h('button', { type: 'button', class: 'btn btn-small', id: 'signout', onClick: doSignOut }, 'Sign out')),
  );
}

async function doSignOut() {
  stopLive();
  clearDeadlineAlerts();
  try { await signOut(); } catch { /* the cookies expire anyway */ }
  me = null;
  attention = null;
  announce('Signed out');
  navigate('#/signin');
}

/** Signed in (by any means): the caller read, live updates on, the home page shown. */
async function adoptSession() {
  if (me) stopLive();
  me = await get('/v1/me');
  startSession();
  navigate(home(me.kind) || '#/');
}

/** The session ended here (signed out on the Security page): back to the sign-in page. */
function sessionEnded() {
  stopLive();
  clearDeadlineAlerts();
  me = null;
  attention = null;
  announce('Signed out');
  navigate('#/signin');
}

function renderSignIn(el, reason) {
  const error = errorBox({ text: reason });
  const email = h('input', { id: 'email', name: 'email', type: 'email', autocomplete: 'username', inputmode: 'email', spellcheck: 'false', required: true });
  const password = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const code = h('input', { id: 'code', name: 'code', autocomplete: 'one-time-code', maxlength: '24', spellcheck: 'false', 'aria-describedby': 'code-help' });
  const codeField = h('div', { class: 'field', hidden: true },
    h('label', { for: 'code' }, 'Code from your authenticator app'), code,
    h('p', { id: 'code-help', class: 'help' }, 'Two-step sign-in is on for this account: enter the 6 digits the app shows now. Lost your phone? Enter one of your recovery codes instead.'));
  const button = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Sign in');
  const form = h('form', { novalidate: true, 'aria-labelledby': 'signin-head', onSubmit: async (ev) => {
    ev.preventDefault();
    error.hide();
    if (!email.value.trim()) return error.show('Enter your e-mail address.', email);
    if (!password.value) return error.show('Enter your password.', password);
    const withCode = !codeField.hidden;
    const typed = code.value.trim();
    if (withCode && !/^\d{6}$/.test(typed) && typed.replace(/[\s-]/g, '').length !== 16) return error.show('Enter the 6 digits your authenticator app shows now, or a recovery code.', code);
    button.disabled = true;
    button.textContent = 'Signing in…';
    await error.run(async () => {
      await signInWithPassword(email.value.trim(), password.value, withCode ? code.value.trim() : undefined);
      password.value = '';
      code.value = '';
      await adoptSession();
    }, (e) => {
      if (e.code === 'totp_required') {
        codeField.hidden = false;
        return error.show('Your password is right. Now enter the code of your authenticator app.', code);
      }
      if (e.code === 'totp_invalid') {
        code.value = '';
        return error.show(e.message.startsWith('the recovery code') ? 'That recovery code is not right, or was used already.' : 'That code is not right, or was used already. Enter the code the app shows now.', code);
      }
      if (e.code === 'sign_in_failed') return error.show('The e-mail address or the password is not right.', password);
      if (e.code === 'address_unverified') return 'Confirm your address first: open the link parley mailed to it when you set your password.';
      if (e.code === 'too_many_attempts') return `Too many attempts. ${e.message.replace(/^./, (c) => c.toUpperCase())}.`;
      return e.message;
    }, { field: password, signingIn: true });
    button.disabled = false;
    button.textContent = 'Sign in';
  } },
  h('h1', { tabindex: '-1', id: 'signin-head' }, 'Sign in'),
  h('p', null, 'Sellers\' teams, buyers and the marketplace operator sign in with their e-mail address and password.'),
  error.el,
  h('div', { class: 'field' }, h('label', { for: 'email' }, 'E-mail address'), email),
  h('div', { class: 'field' }, h('label', { for: 'password' }, 'Password'), password),
  codeField,
  h('div', { class: 'actions' }, button),
  h('p', { class: 'signin-links' }, h('a', { href: '#/forgot-password' }, 'Forgot your password?')));

  // API tokens still sign in, for those who have one rather than an account
  const tokenError = errorBox();
  const input = h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'off', spellcheck: 'false', required: true, 'aria-describedby': 'token-help' });
  const show = h('input', { id: 'show-token', type: 'checkbox', onChange: () => { input.type = show.checked ? 'text' : 'password'; } });
  const tokenButton = h('button', { type: 'submit', class: 'btn' }, 'Sign in with the token');
  const tokenForm = h('form', { novalidate: true, 'aria-label': 'Token sign-in', onSubmit: async (ev) => {
    ev.preventDefault();
    tokenError.hide();
    const token = input.value.trim();
    if (!token) return tokenError.show('Paste your access token first.', input);
    tokenButton.disabled = true;
    await tokenError.run(async () => {
      await signIn(token);
      input.value = '';
      await adoptSession();
    }, (e) => (e.status === 401 ? 'This token is not valid (unknown, revoked or expired). Check it and try again.' : e.message),
    { field: input, signingIn: true });
    tokenButton.disabled = false;
  } },
  tokenError.el,
  h('div', { class: 'field' },
    h('label', { for: 'token' }, 'Access token'),
    input,
    h('p', { id: 'token-help', class: 'help' }, 'For the demo, ', h('code', null, 'make run'), ' prints the demo accounts and writes tokens to ', h('code', null, 'parley-demo.db.tokens.json'), '.')),
  h('div', { class: 'field field-inline' }, show, h('label', { for: 'show-token' }, 'Show token')),
  h('div', { class: 'actions' }, tokenButton));
  const useToken = h('details', { class: 'signin-token', id: 'use-token' }, h('summary', null, 'Use an access token'), tokenForm);
  replace(el, h('div', { class: 'signin-wrap' }, h('div', { class: 'card signin' }, form, useToken)));
  document.title = 'Sign in · parley';
  email.focus();
}

function startSession() {
  renderHeader();
  startLive((state) => {
    if (state === liveState) return;
    liveState = state;
    const el = document.getElementById('live-status');
    if (el) {
      el.className = `live ${state === 'on' ? 'is-on' : 'is-off'}`;
      el.textContent = state === 'on' ? 'Live' : 'Offline';
      el.title = state === 'on' ? 'Live updates on: new messages appear by themselves' : 'Live updates off: reload to see new messages';
    }
  });
}

/** The first words of a text, at most about 80 characters, cut at a word. */
function firstWords(text) {
  const t = (text || '').replace(/\s+/g, ' ').trim();
  if (t.length <= 80) return t;
  const cut = t.slice(0, 80);
  return `${cut.slice(0, cut.lastIndexOf(' ') > 40 ? cut.lastIndexOf(' ') : 80)}…`;
}

/**
 * A notification that says who wrote, about which order or product, and how the message
 * begins: the thread's newest message as the signed-in party sees it (a seller sees a
 * buyer's contact details masked, as everywhere). Without it, the plain words.
 */
async function notifyMessage(ev, fallbackTitle, fallbackBody) {
  let title = fallbackTitle, body = fallbackBody;
  try {
    const v = await get(`/v1/threads/${encodeURIComponent(ev.thread_id)}?limit=1`);
    const t = v.thread;
    const last = (v.messages || [])[v.messages.length - 1];
    const who = me.kind === 'agent' ? t.buyer_name : t.seller_name;
    const about = t.order_id ? `Order ${t.order_id}` : t.asin ? `Product ${t.asin}` : '';
    if (who) title = me.kind === 'agent' ? `New message from ${who}` : `Reply from ${who}`;
    if (last && last.text) body = `${about ? `${about}: ` : ''}${firstWords(last.text)}`;
  } catch { /* the plain words */ }
  notify(title, body, ev.thread_id);
}

// Deadline alerts of the seller's agents (alerts.js), whatever page is open.
onLive('deadline', (ev) => onDeadline(ev, () => me));

// Notifications for the other side's new messages, whatever page is open.
onLive('message', (ev) => {
  if (!me) return;
  const viewing = document.visibilityState === 'visible' && location.hash === `#/thread/${ev.thread_id}`;
  if (viewing) return;
  if (me.kind === 'agent' && ev.from === 'buyer') notifyMessage(ev, 'New buyer message', 'A buyer wrote.');
  if (me.kind === 'buyer' && ev.from === 'seller' && ev.status === 'delivered') notifyMessage(ev, 'New reply from the seller', 'The seller answered.');
});

async function route() {
  if (location.hash && !location.hash.startsWith('#/')) return; // in-page anchors (skip link)
  if (cleanup) {
    try { cleanup(); } catch { /* a view's teardown must not stop navigation */ }
    cleanup = null;
  }
  const el = main();
  const { path, query } = parseHash();
  const open = PUBLIC_ROUTES.find((r) => r.page === path[0]);
  if (open) {
    renderHeader();
    replace(el, h('p', { class: 'loading', role: 'status' }, 'Loading…'));
    try {
      cleanup = (await open.view(el, { me, path, query, navigate, adopt: adoptSession })) || null;
    } catch (e) {
      replace(el, h('h1', { tabindex: '-1' }, 'Something went wrong'),
        h('div', { class: 'alert alert-error', role: 'alert' }, (e && e.message) || String(e)));
    }
    focusHeading(el);
    return;
  }
  if (!me && path[0] !== 'signin') {
    if (hasSession()) {
      try {
        me = await get('/v1/me');
        startSession();
      } catch {
        me = null;
      }
    }
    if (!me) {
      if (location.hash !== '#/signin') history.replaceState(null, '', '#/signin');
      renderHeader();
      renderSignIn(el);
      return;
    }
  }
  if (path[0] === 'signin') {
    if (me) { navigate(home(me.kind)); return; }
    renderHeader();
    renderSignIn(el);
    return;
  }
  const homePage = home(me.kind);
  if (!path.length || !homePage) { navigate(homePage || '#/signin'); return; }
  renderHeader();
  if (path[0] === 'thread' && path[1]) dropDeadlineAlert(path[1]); // the agent is on it now
  const ctx = { me, path, query, navigate, signedOut: sessionEnded };
  const row = findRoute(me.kind, path);
  if (!row) {
    replace(el, h('h1', { tabindex: '-1' }, 'Page not found'), h('p', null, h('a', { href: homePage }, 'Go to your home page')));
    focusHeading(el);
    return;
  }
  replace(el, h('p', { class: 'loading', role: 'status' }, 'Loading…'));
  try {
    await loadMeta(me.marketplace_id); // the topics, words and the caller's marketplace's limits every view uses (read once)
    cleanup = (await row.view(el, ctx)) || null;
  } catch (e) {
    if (e && e.status === 401) return; // the unauthorized handler took over
    replace(el, h('h1', { tabindex: '-1' }, 'Something went wrong'),
      h('div', { class: 'alert alert-error', role: 'alert' }, (e && e.message) || String(e)),
      h('p', null, h('a', { href: homePage }, 'Back to your home page')));
  }
  focusHeading(el);
}

let baseTitle = 'parley';

function showTitle() {
  document.title = attention ? `(${attention}) ${baseTitle}` : baseTitle;
}

window.addEventListener('parley:attention', (ev) => {
  attention = ev.detail;
  showTitle();
  const badge = document.getElementById('nav-rn');
  if (badge) {
    badge.hidden = !attention;
    badge.querySelector('.nav-count-n').textContent = String(attention || 0);
  }
});

function focusHeading(el) {
  const h1 = el.querySelector('h1');
  if (h1 && !el.contains(document.activeElement)) {
    if (!h1.hasAttribute('tabindex')) h1.setAttribute('tabindex', '-1');
    h1.focus({ preventScroll: false });
  }
  if (h1) baseTitle = `${h1.dataset.title || h1.textContent} · parley`; // a page may name itself better than its heading
  showTitle();
}

onUnauthorized(() => {
  if (!me) return;
  stopLive();
  clearDeadlineAlerts();
  me = null;
  history.replaceState(null, '', '#/signin');
  renderHeader();
  renderSignIn(main(), 'Your session has ended. Sign in again.');
});

document.addEventListener('click', (ev) => {
  const skip = ev.target.closest && ev.target.closest('.skip-link');
  if (skip) {
    ev.preventDefault();
    main().focus();
  }
});

// the Notifications page asked the browser for notifications: the header's offer goes
window.addEventListener('parley:notifications-permission', () => { if (me) renderHeader(); });

window.addEventListener('hashchange', route);
// the seller's team works all day in the inbox and threads: keyboard shortcuts (? lists them)
installShortcuts(() => Boolean(me && me.kind === 'agent'));
route();
