// bulk.js - the Bulk notices page (docs/rules.md "Bulk notices"): the seller's notices (the operator: every seller's) with each one's status and counts; one notice's orders, refreshed while it runs, and Cancel; the form that sends one order-related text (a recall, a delay) to many orders at once.
import { h, replace, append, uniqueId, announce, scrollBox } from './dom.js';
import { errorBox } from './errors.js';
import { get, post, qs } from './api.js';
import { formatDateTime, codePoints } from './format.js';
import { locate } from './policy.js';
import { findingsList } from './compose.js';

/** A running notice's view asks for it again this often, until it is done or the page is left. */
const POLL_MS = 2000;
const PAGE = 25;

const STATUS_WORDS = { running: 'Running', done: 'Done', canceled: 'Canceled' };
const STATUS_CLASS = { running: 'order-shipped', done: 'status-delivered', canceled: 'badge-na' };
/** The counts of a notice, in the order the page shows them. */
const COUNTS = [['delivered', 'Delivered'], ['not_delivered', 'Not delivered'], ['failed', 'Failed'], ['canceled', 'Canceled'], ['pending', 'Pending']];
const STATE_WORDS = Object.fromEntries(COUNTS);
const STATE_CLASS = { delivered: 'status-delivered', not_delivered: 'status-held_for_review', failed: 'status-failed', canceled: 'badge-na', pending: 'order-pending' };

/** The message actions that can carry a notice, per seller: read once (the operation is rate-limited). */
let textActions = null;

/** "unexpectedProblem" → "Unexpected problem": the words of an action whose title the page has not read. */
function actionTitle(name) {
  const known = textActions && textActions.list.find((a) => a.name === name);
  if (known) return known.title;
  const words = String(name || '').replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
  return words ? `${words[0].toUpperCase()}${words.slice(1)}` : '';
}

/**
 * The actions a notice may use, as the server describes them (GET /v1/orders/{id}/actions of
 * the seller's newest order: the names, titles and text limits are the same for every order):
 * those that take a text and need no file. Warranty is left out: it needs its coverage dates
 * (actions.js asks for them by the same name), which a notice does not carry, and the server
 * refuses it for a notice.
 */
async function loadTextActions(me) {
  if (textActions && textActions.seller === me.seller_id) return textActions.list;
  const { orders } = await get('/v1/orders?limit=1');
  if (!orders || !orders.length) return [];
  const { actions } = await get(`/v1/orders/${encodeURIComponent(orders[0].id)}/actions`);
  const list = (actions || []).filter((a) => a.max_text > 0 && !a.attachment_required && !a.coverage_required);
  textActions = { seller: me.seller_id, list };
  return list;
}

/** The first words of a text, about 80 characters, cut at a word. */
function firstWords(text) {
  const t = (text || '').replace(/\s+/g, ' ').trim();
  if (t.length <= 80) return t;
  const cut = t.slice(0, 80);
  const at = cut.lastIndexOf(' ');
  return `${cut.slice(0, at > 40 ? at : 80)}…`;
}

function sentence(msg) {
  const t = (msg || '').trim();
  if (!t) return '';
  return `${t[0].toUpperCase()}${t.slice(1)}${/[.!?]$/.test(t) ? '' : '.'}`;
}

function statusBadge(status) {
  return h('span', { class: ['badge', STATUS_CLASS[status]], 'data-testid': 'bulk-status' }, STATUS_WORDS[status] || status);
}

/** The counts as a description list: Delivered 3, Not delivered 0, Failed 1, Canceled 0, Pending 0. */
function countsList(counts, total) {
  const c = counts || {};
  return h('dl', { class: 'bulk-counts', 'aria-label': `Outcome of the ${total} order${total === 1 ? '' : 's'}` },
    COUNTS.map(([k, label]) => h('div', { class: ['bulk-count', `bulk-count-${k}`], 'data-count': k },
      h('dt', null, label), h('dd', null, String(c[k] || 0)))));
}

/** Order ids typed one a line or separated by commas (or semicolons, spaces), each once. */
export function parseOrderIds(raw) {
  return [...new Set(String(raw || '').split(/[\s,;]+/).map((s) => s.trim()).filter(Boolean))];
}

/** "Canceled order …" from the server's "order_canceled: order … was canceled": the words, and the code apart. */
function reasonOf(error) {
  const m = /^([a-z_]+): (.*)$/s.exec(error || '');
  if (!m) return h('span', null, sentence(error) || 'Not sent.');
  return h('span', null, sentence(m[2]), ' ', h('span', { class: 'muted mono' }, `(${m[1]})`));
}

/** #/bulk-notices (the list, and the form for agents who may write) or #/bulk-notices/<id>. */
export async function renderBulkNotices(el, ctx) {
  if (ctx.path[1]) return renderNotice(el, ctx, ctx.path[1]);
  return renderList(el, ctx);
}

async function renderList(el, ctx) {
  const { me } = ctx;
  const operator = me.kind === 'operator';
  const canWrite = me.kind === 'agent' && me.role !== 'read_only';
  const list = h('ul', { class: 'bulk-list', id: 'bulk-list', 'aria-labelledby': 'bulk-list-h', 'aria-busy': 'true' });
  const status = h('p', { class: 'list-status', role: 'status' });
  const listError = errorBox();
  let next = null;
  const more = h('button', { type: 'button', class: 'btn', id: 'bulk-more', hidden: true,
    onClick: () => listError.run(() => load(true), (e) => `Could not read more notices: ${e.message}`) }, 'Load more');

  function card(n) {
    return h('li', { class: 'card bulk-card', 'data-notice': n.id, 'data-status': n.status },
      h('div', { class: 'tpl-card-head' },
        h('h3', null, h('a', { href: `#/bulk-notices/${encodeURIComponent(n.id)}` },
          h('time', { datetime: n.created_at }, formatDateTime(n.created_at)), ` · ${actionTitle(n.action)}`)),
        statusBadge(n.status),
        operator ? h('span', { class: 'muted', 'data-testid': 'bulk-seller' }, `Seller ${n.seller_id}`) : null),
      h('p', { class: 'bulk-words' }, firstWords(n.text)),
      countsList(n.counts, n.total));
  }

  async function load(append) {
    list.setAttribute('aria-busy', 'true');
    more.disabled = true;
    try {
      const res = await get(`/v1/bulk-notices${qs({ limit: PAGE, before: append ? next : '' })}`);
      const rows = (res.bulk_notices || []).map(card);
      if (append) list.append(...rows);
      else replace(list, rows);
      next = res.next || null;
      more.hidden = !next;
      const shown = list.children.length;
      status.textContent = shown ? `${shown} notice${shown === 1 ? '' : 's'}${next ? ' (more below)' : ''}.` : 'No bulk notices yet.';
    } finally {
      list.removeAttribute('aria-busy');
      more.disabled = false;
    }
  }

  const intro = operator
    ? 'Every seller\'s bulk notices, newest first: one order-related text (a recall, a delay) sent to many orders at once. Open one for each order\'s outcome.'
    : 'One order-related text (a product recall, a delay) sent to many of your orders at once. Open a notice for each order\'s outcome.';
  const formBox = h('div', { class: 'bulk-form-box' });
  replace(el,
    h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, 'Bulk notices')),
    h('p', { class: 'help' }, intro),
    me.kind === 'agent' && !canWrite
      ? h('p', { class: 'alert alert-info', id: 'bulk-read-only' }, 'Your role reads the notices. Sending or canceling one needs an agent who may write.')
      : null,
    formBox,
    h('h2', { id: 'bulk-list-h' }, operator ? 'Notices of every seller' : 'Notices sent'),
    listError.el, status, list,
    h('div', { class: 'list-more' }, more));
  await Promise.all([
    canWrite ? sendForm(formBox, ctx) : null,
    listError.run(() => load(false), (e) => `Could not read the notices: ${e.message}`),
  ]);
}

/** The form that sends a notice; drawn into box. */
async function sendForm(box, ctx) {
  const fid = uniqueId('bulk');
  const radio = (value, label, checked) => {
    const input = h('input', { type: 'radio', name: `${fid}-to`, id: `${fid}-to-${value}`, value, checked });
    return { input, el: h('div', { class: 'topic-option' }, input, h('label', { for: input.id }, label)) };
  };
  const toOrders = radio('orders', 'These orders', true);
  const toProduct = radio('asin', 'Every order of a product', false);
  const ids = h('textarea', { id: `${fid}-orders`, name: 'order_ids', rows: '5', class: 'plain-input bulk-ids', autocomplete: 'off', spellcheck: 'false',
    placeholder: '112-1234567-1234567', 'aria-describedby': `${fid}-orders-help ${fid}-orders-count` });
  const idsCount = h('p', { class: 'help', id: `${fid}-orders-count`, 'aria-live': 'polite' });
  const asin = h('input', { id: `${fid}-asin`, name: 'asin', autocomplete: 'off', spellcheck: 'false', maxlength: '20',
    placeholder: 'B0C1234567', 'aria-describedby': `${fid}-asin-help` });
  const idsField = h('div', { class: 'field' }, h('label', { for: ids.id }, 'Order IDs'), ids,
    h('p', { class: 'help', id: `${fid}-orders-help` }, 'One a line, or separated by commas; each of your orders once, at most 1,000.'), idsCount);
  const asinField = h('div', { class: 'field', hidden: true }, h('label', { for: asin.id }, 'Product (ASIN)'), asin,
    h('p', { class: 'help', id: `${fid}-asin-help` }, 'Every one of your orders with this product gets the notice.'));
  const action = h('select', { id: `${fid}-action`, name: 'action', 'aria-describedby': `${fid}-action-help` });
  const text = h('textarea', { id: `${fid}-text`, name: 'text', rows: '6', class: 'plain-input', 'aria-describedby': `${fid}-count ${fid}-text-help` });
  const counter = h('p', { class: 'help counter', id: `${fid}-count` });
  const error = errorBox({ id: 'bulk-error' });
  const findings = h('div', { class: 'policy-findings', id: 'bulk-findings' });
  const send = h('button', { type: 'submit', class: 'btn btn-primary', id: 'bulk-send' }, 'Send the notice');
  let actions = [];

  const chosen = () => actions.find((a) => a.name === action.value);
  const byProduct = () => toProduct.input.checked;
  function count() {
    const a = chosen();
    const n = codePoints(text.value);
    counter.textContent = a ? `${n.toLocaleString()} / ${a.max_text.toLocaleString()} characters` : `${n.toLocaleString()} characters`;
    counter.classList.toggle('over', Boolean(a && n > a.max_text));
  }
  function countIds() {
    const n = parseOrderIds(ids.value).length;
    idsCount.textContent = n ? `${n} order${n === 1 ? '' : 's'}.` : '';
  }
  function syncTo() {
    idsField.hidden = byProduct();
    asinField.hidden = !byProduct();
  }
  const clear = (field) => () => {
    field.removeAttribute('aria-invalid');
    error.hide();
  };
  toOrders.input.addEventListener('change', syncTo);
  toProduct.input.addEventListener('change', syncTo);
  ids.addEventListener('input', () => { countIds(); clear(ids)(); });
  asin.addEventListener('input', clear(asin));
  text.addEventListener('input', () => { count(); clear(text)(); replace(findings); });
  action.addEventListener('change', count);

  /** Marks field as the one to fix and shows message next to the form. */
  function refuse(message, field) {
    if (field) {
      field.setAttribute('aria-invalid', 'true');
      field.setAttribute('aria-errormessage', error.el.id);
    }
    error.show(message, field);
  }

  /** A refused text: the server's words, and the findings of the policy check in the page's words. */
  async function policyRefusal(e, typed) {
    refuse([h('p', null, h('strong', null, 'Refused, nothing was sent: '), sentence(e.message)),
      h('p', null, 'A bulk notice must be about the orders (a recall, a delay): no promotion, and no shipping confirmation, thank-you note or offer of help.')], text);
    if (e.code !== 'policy_violation') return;
    try {
      const r = await post('/v1/policy/check', { text: typed });
      if (text.value !== typed) return;
      const located = locate(typed, (r.findings || []).filter((f) => !f.attachment && !f.name));
      replace(findings, located.length ? [h('p', { class: 'msg-findings-title' }, 'What the policy found'), findingsList(located)] : null);
    } catch { /* the server's words are shown already */ }
  }

  const form = h('form', { class: 'card bulk-form', novalidate: true, 'aria-labelledby': `${fid}-h`, onSubmit: async (ev) => {
    ev.preventDefault();
    error.hide();
    replace(findings);
    for (const f of [ids, asin, text, action]) f.removeAttribute('aria-invalid');
    const body = {};
    let target;
    if (byProduct()) {
      const a = asin.value.trim().toUpperCase();
      if (!a) return refuse('Give the product\'s ASIN, or choose "These orders".', asin);
      body.asin = a;
      target = asin;
    } else {
      const list = parseOrderIds(ids.value);
      if (!list.length) return refuse('Give at least one order ID.', ids);
      body.order_ids = list;
      target = ids;
    }
    const a = chosen();
    if (!a) return refuse('Choose the message action.', action);
    body.action = a.name;
    const typed = text.value;
    if (!typed.trim()) return refuse('Write the notice first.', text);
    if (codePoints(typed) > a.max_text) return refuse(`The notice is longer than ${a.max_text.toLocaleString()} characters, the limit of ${a.title}.`, text);
    body.text = typed;
    send.disabled = true;
    send.textContent = 'Sending…';
    await error.run(async () => {
      const res = await post('/v1/bulk-notices', body);
      const n = res.bulk_notice;
      announce(`Bulk notice created for ${n.total} order${n.total === 1 ? '' : 's'}.`);
      ctx.navigate(`#/bulk-notices/${encodeURIComponent(n.id)}`);
    }, (e) => {
      if (e.code === 'policy_violation' || e.code === 'prohibited_purpose') {
        policyRefusal(e, typed);
        return undefined;
      }
      const textCodes = ['text_too_long', 'empty_text', 'control_character', 'invalid_utf8'];
      const field = textCodes.includes(e.code) ? text : e.status === 403 ? null : target;
      const what = e.code === 'not_found' ? 'Not sent: ' : e.code === 'too_many' ? 'Too many orders: ' : e.status === 403 ? 'Not allowed: ' : 'Not sent: ';
      refuse(`${what}${sentence(e.message)}`, field);
      return undefined;
    });
    send.disabled = false;
    send.textContent = 'Send the notice';
    return undefined;
  } },
  h('h2', { id: `${fid}-h` }, 'Send a bulk notice'),
  h('div', { class: 'bulk-explain', id: 'bulk-explain' },
    h('p', null, 'For a notice about orders that concerns many of them at once: a product recall, a delay. Each order gets the text in its conversation as a ',
      h('strong', null, 'critical message'), ', so it also reaches buyers who opted out of non-critical messages or blocked your shop.'),
    h('p', null, h('strong', null, 'Promotions are refused'), ', and so are shipping confirmations, thank-you notes and offers of help: the text is checked once, before anything is sent.'),
    h('p', null, 'It is sent within your shop\'s rate limit, a few orders at a time, and each order\'s outcome shows on the notice. The action\'s rules still hold for each order: a canceled order, or one past its messaging window, fails with the reason.')),
  h('fieldset', { class: 'topics' }, h('legend', null, 'Send to'),
    h('div', { class: 'topic-options' }, toOrders.el, toProduct.el)),
  idsField, asinField,
  h('div', { class: 'field' }, h('label', { for: action.id }, 'Message action'), action,
    h('p', { class: 'help', id: `${fid}-action-help` }, 'The actions that take a text, as the marketplace offers them.')),
  h('div', { class: 'field' }, h('label', { for: text.id }, 'Notice'), text, counter,
    h('p', { class: 'help', id: `${fid}-text-help` }, 'The same text to every order, in your words.')),
  error.el, findings,
  h('div', { class: 'actions' }, send));

  replace(box, form);
  box.setAttribute('aria-busy', 'true');
  try {
    actions = await loadTextActions(ctx.me);
  } catch (e) {
    if (e.status === 401) return;
    actions = [];
    error.show(`Could not read the message actions: ${sentence(e.message)} Reload the page to try again.`);
  } finally {
    box.removeAttribute('aria-busy');
  }
  replace(action, actions.map((a) => h('option', { value: a.name }, `${a.title} (up to ${a.max_text.toLocaleString()} characters)`)));
  // the action the marketplace names for a problem with the order, when it offers it
  if (actions.some((a) => a.name === 'unexpectedProblem')) action.value = 'unexpectedProblem';
  if (!actions.length) {
    send.disabled = true;
    if (error.el.hidden) error.show('There is no order to send a notice about yet.');
  }
  count();
  countIds();
}

/** One notice: its text, counts and each order's state; refreshed every 2 s while it runs. */
async function renderNotice(el, ctx, id) {
  const { me } = ctx;
  const operator = me.kind === 'operator';
  const canWrite = me.kind === 'agent' && me.role !== 'read_only';
  const here = `#/bulk-notices/${encodeURIComponent(id)}`;
  const onPage = () => location.hash.split('?')[0] === here;
  const path = `/v1/bulk-notices/${encodeURIComponent(id)}`;
  let timer = null;
  let stopped = false;
  let last = null;

  const h1 = h('h1', { tabindex: '-1' }, `Bulk notice ${id}`);
  const facts = h('dl', { class: 'facts bulk-facts' });
  const textBox = h('p', { class: 'bulk-text', id: 'bulk-text' });
  const countsBox = h('div', { id: 'bulk-counts' });
  const progress = h('p', { class: 'bulk-progress', id: 'bulk-progress', role: 'status' });
  const pageError = errorBox();
  const cancelError = errorBox();
  const tbody = h('tbody');
  const table = scrollBox('table-wrap', 'Orders of the notice', h('table', { class: 'table', id: 'bulk-items' },
    h('caption', { class: 'sr-only' }, 'Each order of the notice: its state, and its message or why it failed'),
    h('thead', null, h('tr', null, ['Order', 'State', 'Message or reason'].map((c) => h('th', { scope: 'col' }, c)))),
    tbody));
  const cancel = h('button', { type: 'button', class: 'btn', id: 'bulk-cancel', hidden: true, onClick: onCancel }, 'Cancel the notice');
  const summary = h('div', { class: 'card bulk-summary', id: 'bulk-summary' });

  /** A link to the order's conversation: opens its thread, or the list searched for the order. */
  function threadLink(orderId) {
    const fallback = operator ? `#/threads${qs({ by: 'order_id', term: orderId })}` : `#/inbox${qs({ filter: 'all', by: 'order_id', term: orderId })}`;
    return h('a', { href: fallback, class: 'bulk-message', 'aria-label': `Open the message to order ${orderId}`, onClick: async (ev) => {
      if (ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return; // a new tab: the search
      ev.preventDefault();
      try {
        for (const filter of ['all', 'archived']) {
          const r = await get(`/v1/threads${qs({ order_id: orderId, filter, limit: 1 })}`);
          const t = (r.threads || [])[0];
          if (t) { ctx.navigate(`#/thread/${encodeURIComponent(t.id)}`); return; }
        }
      } catch (e) {
        if (e.status === 401) return;
      }
      ctx.navigate(fallback);
    } }, 'Open the message');
  }

  function itemRow(it) {
    let what;
    if (it.message_id && (it.state === 'delivered' || it.state === 'not_delivered')) {
      what = [threadLink(it.order_id), it.state === 'not_delivered' ? h('span', { class: 'muted cell-sub' }, 'Stored in the conversation, but not delivered to the buyer.') : null];
    } else if (it.state === 'failed') what = reasonOf(it.error);
    else if (it.state === 'canceled') what = h('span', { class: 'muted' }, 'Not sent: the notice was canceled.');
    else if (it.state === 'pending') what = h('span', { class: 'muted' }, 'Waiting to be sent.');
    else what = it.error ? reasonOf(it.error) : '';
    return h('tr', { 'data-order': it.order_id, 'data-state': it.state },
      h('th', { scope: 'row', class: 'mono' }, it.order_id),
      h('td', null, h('span', { class: ['badge', STATE_CLASS[it.state]] }, STATE_WORDS[it.state] || it.state)),
      h('td', null, what));
  }

  function show(n) {
    const was = last && last.status;
    last = n;
    summary.dataset.status = n.status;
    replace(facts,
      h('dt', null, 'Created'), h('dd', null, h('time', { datetime: n.created_at }, formatDateTime(n.created_at))),
      operator ? [h('dt', null, 'Seller'), h('dd', { class: 'mono', 'data-testid': 'bulk-seller' }, n.seller_id)] : null,
      h('dt', null, 'Action'), h('dd', null, actionTitle(n.action)),
      h('dt', null, 'Orders'), h('dd', null, String(n.total)),
      h('dt', null, 'Status'), h('dd', null, statusBadge(n.status)));
    textBox.textContent = n.text;
    replace(countsBox, countsList(n.counts, n.total));
    const c = n.counts || {};
    const finished = n.total - (c.pending || 0);
    if (n.status === 'running') {
      progress.textContent = `Sending: ${finished} of ${n.total} order${n.total === 1 ? '' : 's'} done. This page follows it until it is done.`;
    } else {
      const parts = COUNTS.filter(([k]) => c[k]).map(([k, label]) => `${c[k]} ${label.toLowerCase()}`);
      progress.textContent = `${STATUS_WORDS[n.status] || n.status}: ${parts.join(', ') || 'no orders'}.`;
      if (was === 'running') announce(progress.textContent);
    }
    cancel.hidden = !(canWrite && n.status === 'running');
    if (n.items) replace(tbody, n.items.length ? n.items.map(itemRow) : h('tr', { class: 'table-empty' }, h('td', { colspan: '3' }, 'No orders.')));
  }

  /** Reads the notice; while it runs, again in 2 s, for as long as this page shows it. */
  async function tick() {
    timer = null;
    if (stopped || !onPage()) { stopped = true; return; }
    let n = null;
    try {
      n = (await get(path)).bulk_notice;
      pageError.hide();
    } catch (e) {
      if (e.status === 401) { stopped = true; return; }
      pageError.show(e.status === 404 ? 'There is no such bulk notice.' : `Could not read the notice: ${e.message}`);
      if (e.status === 404) { stopped = true; return; }
    }
    if (stopped || !onPage()) { stopped = true; return; }
    if (n) show(n);
    if (!n || n.status === 'running') timer = setTimeout(tick, POLL_MS);
  }

  function resetCancel() {
    delete cancel.dataset.confirm;
    cancel.textContent = 'Cancel the notice';
    cancel.removeAttribute('aria-label');
    cancel.classList.remove('btn-danger');
    cancel.disabled = false;
  }

  async function onCancel() {
    // what is not sent yet is dropped for good: the first press asks, the second cancels
    if (!cancel.dataset.confirm) {
      cancel.dataset.confirm = '1';
      cancel.textContent = 'Cancel the orders not sent yet?';
      cancel.setAttribute('aria-label', 'Confirm: cancel the orders not sent yet');
      cancel.classList.add('btn-danger');
      announce('Press again to cancel the orders the notice has not reached yet.');
      return;
    }
    cancel.disabled = true;
    cancelError.hide();
    await cancelError.run(async () => {
      const r = await post(`${path}/cancel`);
      show(r.bulk_notice);
      announce(`Canceled: ${(r.bulk_notice.counts || {}).canceled || 0} orders will not get it.`);
    }, (e) => {
      if (e.status === 409) {
        if (!timer && !stopped) tick();
        return 'Nothing was left to cancel: the notice had finished.';
      }
      return `Could not cancel it: ${e.message}`;
    });
    resetCancel();
    if (last) cancel.hidden = !(canWrite && last.status === 'running');
  }

  replace(el,
    h('div', { class: 'page-head' }, h('a', { class: 'back', href: '#/bulk-notices' }, 'All bulk notices'), h1),
    pageError.el,
    append(summary, [
      facts,
      h('h2', null, 'Text'), textBox,
      h('h2', null, 'Outcome'), countsBox, progress,
      cancelError.el,
      canWrite ? h('div', { class: 'actions' }, cancel) : null]),
    h('h2', null, 'Orders'),
    table);
  await tick();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
