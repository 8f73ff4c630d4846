// thread.js - one conversation: order details, messages with status, findings and attachments, notes, reply (with suggested replies), team panel, locks, flags, archive, export.
import { h, replace, reconcile, announce } from './dom.js';
import { get, post } from './api.js';
import { onLive } from './live.js';
import { createComposer, highlighted, findingsList, textFindings } from './compose.js';
import { attachmentLinks, fileFindings } from './attachments.js';
import { teamPanel, replyingNotice, compositionLock, agents, agentName } from './team.js';
import { locate } from './policy.js';
import { topicLabel, stateLabel, statusLabel, orderStatusLabel, formatDateTime, formatDate, formatPrice } from './format.js';
import { dueBadge, refreshDueBadges } from './threads.js';
import { sellerActions } from './actions.js';

function backLink(kind) {
  if (kind === 'agent') return h('a', { class: 'back', href: '#/inbox' }, 'Back to the inbox');
  if (kind === 'buyer') return h('a', { class: 'back', href: '#/messages' }, 'Back to your messages');
  return h('a', { class: 'back', href: '#/threads' }, 'Back to all threads');
}

let teamNames = [];
function who(m, thread, me) {
  const kind = me.kind;
  if (m.from === 'buyer') return kind === 'buyer' ? 'You' : `${thread.buyer_name || 'Buyer'} (buyer)`;
  if (kind === 'agent') {
    if (m.agent_id && m.agent_id === me.agent_id) return 'You';
    if (!m.agent_id) return 'Your team';
    const known = teamNames.find((a) => a.id === m.agent_id);
    return known ? `${known.name} (agent ${m.agent_id})` : `Your team (agent ${m.agent_id})`;
  }
  return `${thread.seller_name || 'Seller'} (seller)`;
}

const RETURN_STATES = {
  requested: 'Return requested', in_transit: 'Return on its way back', received: 'Return received',
  refunded: 'Refunded', partially_refunded: 'Partly refunded',
};

/** A code's name in the reader's language (Intl.DisplayNames), or the code. */
function displayName(type, code) {
  try {
    return new Intl.DisplayNames(undefined, { type }).of(code) || code;
  } catch {
    return code;
  }
}

/** The items' total when they share one currency, else null. */
function itemsTotal(items) {
  const currencies = new Set(items.map((it) => it.currency));
  if (currencies.size !== 1 || items.some((it) => !Number.isFinite(Number(it.price)))) return null;
  const cents = items.reduce((sum, it) => sum + Math.round(Number(it.price) * 100) * (it.quantity || 1), 0);
  return formatPrice((cents / 100).toFixed(2), items[0].currency);
}

/** The order (or product) a thread is about, as the seller reads it in Seller Central: status and dates, where it ships, how, by when, the return, the buyer's language, the items and their total. */
export function orderPanel(order, thread) {
  const rows = [];
  if (order) {
    rows.push(h('dt', null, 'Order'), h('dd', { class: 'mono' }, order.id));
    rows.push(h('dt', null, 'Status'), h('dd', null, h('span', { class: ['badge', `order-${order.status}`] }, orderStatusLabel(order.status))));
    if (order.purchased_at) rows.push(h('dt', null, 'Purchased'), h('dd', null, formatDate(order.purchased_at)));
    if (order.shipped_at) rows.push(h('dt', null, 'Shipped'), h('dd', null, formatDate(order.shipped_at)));
    if (order.promised_delivery_at) rows.push(h('dt', null, 'Promised by'), h('dd', null, formatDate(order.promised_delivery_at)));
    if (order.delivered_at) rows.push(h('dt', null, 'Delivered'), h('dd', null, formatDate(order.delivered_at)));
    if (order.ship_country) rows.push(h('dt', null, 'Ships to'), h('dd', { 'data-field': 'ship-country' }, displayName('region', order.ship_country)));
    if (order.carrier || order.tracking_number) {
      rows.push(h('dt', null, 'Carrier'), h('dd', { 'data-field': 'tracking' }, [order.carrier, order.tracking_number && h('span', { class: 'mono' }, order.tracking_number)]
        .filter(Boolean).flatMap((x, i) => (i ? [' · ', x] : [x]))));
    }
    if (order.return_state) rows.push(h('dt', null, 'Return'), h('dd', { 'data-field': 'return' }, RETURN_STATES[order.return_state] || order.return_state));
    if (order.fulfillment === 'marketplace') rows.push(h('dt', null, 'Fulfilled by'), h('dd', null, 'the marketplace'));
  } else if (thread.asin) {
    rows.push(h('dt', null, 'Product'), h('dd', { class: 'mono' }, thread.asin));
    rows.push(h('dt', null, 'Kind'), h('dd', null, 'Question before purchase'));
  }
  if (thread.buyer_locale) {
    const lang = thread.buyer_locale.split('-')[0];
    rows.push(h('dt', null, "Buyer's language"), h('dd', { 'data-field': 'buyer-language' }, displayName('language', lang)));
  }
  const total = order && order.items && order.items.length ? itemsTotal(order.items) : null;
  const items = order && order.items && order.items.length
    ? h('ul', { class: 'items' }, order.items.map((it) => h('li', { class: 'item' },
      h('span', { class: 'item-title' }, it.title || it.asin || 'Item'),
      h('span', { class: 'item-meta' }, [it.asin, `qty ${it.quantity}`, formatPrice(it.price, it.currency)].filter(Boolean).join(' · ')))))
    : null;
  return h('aside', { class: 'card order-panel', 'aria-labelledby': 'order-h' },
    h('h2', { id: 'order-h' }, order ? 'Order' : 'Product'),
    h('dl', { class: 'facts' }, rows),
    items ? h('h3', null, 'Items') : null,
    items,
    total ? h('p', { class: 'items-total', 'data-field': 'total' }, `Total ${total}`) : null);
}

function messageItem(m, thread, me, onFlag) {
  const kind = me.kind;
  const seller = m.from === 'seller';
  const policy = m.policy || null;
  const showFindings = kind !== 'buyer' && seller && policy && policy.findings && policy.findings.length &&
    (m.status === 'rejected' || m.status === 'held_for_review');
  const located = showFindings ? locate(m.text, textFindings(policy.findings)) : [];
  const inFiles = showFindings ? fileFindings(policy.findings) : null;
  const note = m.kind === 'note';
  const text = h('div', { class: 'msg-text' });
  if (located.length) highlighted(m.text, located, text);
  else text.textContent = m.text;
  const badges = [];
  if (m.kind === 'auto_reply') badges.push(h('span', { class: 'badge badge-kind' }, 'Auto-reply'));
  if (note) badges.push(h('span', { class: 'badge badge-note' }, 'Internal note: not sent to the buyer'));
  if (m.kind === 'review_request') badges.push(h('span', { class: 'badge badge-kind' }, 'Review request'));
  if (seller && m.status && kind !== 'buyer' && !note) badges.push(h('span', { class: ['badge', `status-${m.status}`] }, statusLabel(m.status)));
  if (!seller && m.no_response_needed && kind === 'operator') badges.push(h('span', { class: 'badge state-no_response_needed' }, 'No response needed'));
  let flag = null;
  if (kind === 'agent' && !seller) {
    const box = h('input', { type: 'checkbox', id: `nrn-${m.id}`, checked: Boolean(m.no_response_needed), 'data-message': m.id,
      onChange: () => onFlag(m, box) });
    flag = h('div', { class: 'field-inline msg-flag' }, box, h('label', { for: box.id }, 'No response needed'));
  }
  return h('li', { class: ['msg', seller ? 'msg-seller' : 'msg-buyer', note && 'msg-note', m.status && !note && `msg-${m.status}`], id: `msg-${m.id}`, 'data-message': m.id },
    h('div', { class: 'msg-head' },
      h('span', { class: 'msg-who' }, who(m, thread, me)),
      h('time', { datetime: m.at }, formatDateTime(m.at)),
      badges),
    text,
    attachmentLinks(m.attachments),
    located.length || inFiles ? h('div', { class: 'msg-findings' },
      h('p', { class: 'msg-findings-title' }, m.status === 'rejected' ? 'Not delivered: the content policy found' : 'Held for review: the content policy found'),
      located.length ? findingsList(located) : null,
      inFiles) : null,
    flag);
}

async function download(threadId) {
  const data = await get(`/v1/threads/${encodeURIComponent(threadId)}/export`);
  const blob = new Blob([`${JSON.stringify(data, null, 2)}\n`], { type: 'application/json' });
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: `parley-evidence-${threadId}.json`, class: 'sr-only' }, 'download');
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/** Renders the thread page; returns its teardown. */
export async function renderThread(el, ctx) {
  const kind = ctx.me.kind;
  const id = ctx.path[1];
  let data = await get(`/v1/threads/${encodeURIComponent(id)}`);

  const title = h('h1', { tabindex: '-1' });
  const meta = h('p', { class: 'thread-meta' });
  const actions = h('div', { class: 'thread-actions' });
  const notice = h('div', { class: 'alert', role: 'status', hidden: true });
  const list = h('ol', { class: 'messages', id: 'messages', 'aria-label': 'Messages' });
  // The thread comes a page at a time, newest first (GET /v1/threads/{id}?before=&limit=):
  // older pages are loaded on demand and kept above the newest one.
  let older = [];
  let olderCursor = data.page ? data.page.older : null;
  const olderButton = h('button', { type: 'button', class: 'btn btn-small btn-quiet', id: 'load-older', hidden: true, onClick: async (ev) => {
    ev.target.disabled = true;
    try {
      const page = await get(`/v1/threads/${encodeURIComponent(id)}?before=${encodeURIComponent(olderCursor)}`);
      const shown = new Set(older.concat(data.messages).map((m) => m.id));
      older = page.messages.filter((m) => !shown.has(m.id)).concat(older);
      olderCursor = page.page ? page.page.older : null;
      paint();
    } catch (e) {
      if (e.status !== 401) showNotice(`Could not load older messages: ${e.message}`);
    } finally {
      ev.target.disabled = false;
    }
  } }, 'Show older messages');
  const side = h('div', { class: 'thread-side' });
  // Repainting updates in place (the agents' page repaints every 10 s and at every live
  // event): a message's item is rebuilt only when the message changed, and the side
  // panels stay in the document, so that a field being used keeps its focus and text.
  const orderSlot = h('div', { class: 'order-slot' });
  // Beside the messages on a wide screen; below them on a phone, folded, so that the
  // conversation and the reply box come first.
  const phone = window.matchMedia('(max-width: 760px)').matches;
  const fold = h('details', { class: 'side-fold', open: !phone, id: 'thread-panels' },
    h('summary', { class: 'side-fold-summary' }, kind === 'agent' ? 'Team, order and message actions' : kind === 'buyer' ? 'Order' : 'Order and team'),
    side);
  const items = new Map(); // message id -> { sig, node }
  let composer = null;
  // An agent's message actions and review request on the thread's order (loaded once: rate-limited).
  const orderActions = kind === 'agent' && data.thread.order_id
    ? sellerActions(data.thread.order_id, { readOnly: ctx.me.role === 'read_only', onSent: () => reload() })
    : null;

  const canWrite = (kind === 'agent' || kind === 'buyer') && !(kind === 'agent' && ctx.me.role === 'read_only');
  const replying = h('p', { class: 'replying', id: 'replying', role: 'status', hidden: true });
  let after = null; // the last message the writer saw when the draft began
  const lock = kind === 'agent' && canWrite ? compositionLock(id, { onState: (r, err) => {
    if (r) data.thread.replying = r;
    if (err) showNotice(`${err.message}`);
    paintReplying();
  } }) : null;
  const team = kind === 'agent' ? teamPanel({ threadId: id, readOnly: ctx.me.role === 'read_only', onChanged: () => reload() }) : null;
  if (kind === 'agent') teamNames = await agents();
  if (canWrite) {
    composer = createComposer({
      kind,
      label: kind === 'agent' ? 'Reply to the buyer' : 'Reply to the seller',
      attachments: true,
      templates: kind === 'agent' ? { threadId: id } : null,
      suggestions: kind === 'agent' ? { threadId: id } : null,
      notes: kind === 'agent',
      // "Send and go to next": the thread with the least time left that still needs a response
      next: kind === 'agent' ? async () => {
        const list = await get('/v1/threads?filter=response_needed&limit=2');
        const other = (list.threads || []).find((t) => t.id !== id);
        if (!other) announce('Nothing else needs a response.');
        location.hash = other ? `#/thread/${other.id}` : '#/inbox';
      } : null,
      onStart: () => {
        const last = data.messages[data.messages.length - 1];
        after = last ? last.id : null;
      },
      onTyping: () => {
        if (!lock) return;
        const r = data.thread.replying;
        if (r && r.agent_id !== ctx.me.agent_id && Date.parse(r.expires_at) > Date.now()) return; // someone else holds it
        lock.take();
      },
      send: async (text, autoReply, extra = {}) => {
        if (extra.note) {
          await post(`/v1/threads/${encodeURIComponent(id)}/notes`, { text });
          await reload();
          return;
        }
        const body = extra.templateId ? { template_id: extra.templateId, values: extra.values || {} } : { text };
        if (kind === 'agent' && !extra.templateId) body.auto_reply = autoReply;
        if (extra.attachments && extra.attachments.length) body.attachments = extra.attachments;
        if (kind === 'agent' && after) body.after = after;
        if (extra.confirm) body.confirm = true;
        let res;
        try {
          res = await post(`/v1/threads/${encodeURIComponent(id)}/messages`, body);
        } catch (e) {
          if (e.code === 'conflict') reload().catch(() => {});
          throw e;
        }
        after = null;
        if (lock) lock.forget(); // a reply ends the lock
        await reload();
        const m = res && res.message;
        if (m && m.status && m.status !== 'delivered') {
          showNotice(m.status === 'held_for_review'
            ? 'Your message is held for review by the marketplace and will be delivered once approved.'
            : `Your message was not delivered (${statusLabel(m.status)}).`);
        }
      },
    });
  }
  const closed = h('p', { class: 'alert alert-info', hidden: true }, 'Messaging is unavailable: this order was canceled.');

  function paintReplying() {
    const text = kind === 'agent' ? replyingNotice(data.thread.replying, ctx.me) : null;
    const live = text && Date.parse(data.thread.replying.expires_at) > Date.now();
    replying.hidden = !live;
    replying.textContent = live ? `${text}: they started a reply ${formatDateTime(data.thread.replying.since)}. Wait for it, or coordinate before you send.` : '';
  }

  function showNotice(text) {
    notice.textContent = text;
    notice.hidden = false;
  }

  async function onFlag(m, box) {
    box.disabled = true;
    const value = box.checked;
    try {
      await post(`/v1/messages/${encodeURIComponent(m.id)}/no-response-needed`, { value });
      announce(value ? 'Marked as no response needed.' : 'Response needed again.');
      await reload();
    } catch (e) {
      box.checked = !value;
      box.disabled = false;
      if (e.status !== 401) showNotice(`Could not change the flag: ${e.message}`);
    }
  }

  function paint() {
    const { thread, order } = data;
    const newest = new Set(data.messages.map((m) => m.id));
    const messages = older.filter((m) => !newest.has(m.id)).concat(data.messages);
    olderButton.hidden = !olderCursor;
    title.textContent = topicLabel(thread.topic);
    // the tab names who and what: the buyer (or, for the buyer, the seller) and the order
    const subject = thread.order_id ? `Order ${thread.order_id}` : `Product ${thread.asin}`;
    title.dataset.title = `${kind === 'buyer' ? thread.seller_name || thread.seller_id : thread.buyer_name || 'Buyer'} · ${subject}`;
    const parts = [];
    if (kind === 'buyer') parts.push(h('span', null, thread.seller_name || thread.seller_id));
    else {
      if (kind === 'operator') parts.push(h('span', null, `${thread.seller_name || thread.seller_id} · `));
      parts.push(h('span', null, thread.buyer_name || 'Buyer'));
      if (thread.buyer_alias) parts.push(' ', h('span', { class: 'alias' }, thread.buyer_alias));
    }
    parts.push(' · ', h('span', { class: 'mono' }, thread.order_id ? `Order ${thread.order_id}` : `Product ${thread.asin}`));
    const badges = [];
    if (kind !== 'buyer') badges.push(h('span', { class: ['badge', `state-${thread.state}`], id: 'thread-state' }, stateLabel(thread.state)));
    const due = kind !== 'buyer' ? dueBadge(thread) : null;
    replace(meta, parts, ' ', badges, due ? [' ', due] : null);

    const acts = [];
    if (kind === 'agent' && ctx.me.role !== 'read_only') {
      acts.push(h('button', { type: 'button', class: 'btn', id: 'archive', onClick: async (ev) => {
        ev.target.disabled = true;
        try {
          await post(`/v1/threads/${encodeURIComponent(id)}/${thread.archived ? 'unarchive' : 'archive'}`);
          announce(thread.archived ? 'Moved back to the inbox.' : 'Archived.');
          await reload();
        } catch (e) {
          if (e.status !== 401) showNotice(`Could not change the archive: ${e.message}`);
          ev.target.disabled = false;
        }
      } }, thread.archived ? 'Move back to inbox' : 'Archive'));
    }
    if (kind === 'operator') {
      acts.push(h('button', { type: 'button', class: 'btn', id: 'export', onClick: async (ev) => {
        ev.target.disabled = true;
        try {
          await download(id);
          announce('Evidence exported.');
        } catch (e) {
          if (e.status !== 401) showNotice(`Could not export: ${e.message}`);
        } finally {
          ev.target.disabled = false;
        }
      } }, 'Export evidence (JSON)'));
      acts.push(h('a', { class: 'btn', id: 'evidence', href: `#/evidence/${encodeURIComponent(id)}` }, 'Evidence to print'));
    }
    replace(actions, acts);

    const names = [thread.buyer_name, thread.seller_name];
    const nodes = messages.map((m) => {
      const sig = JSON.stringify([m, names]);
      let it = items.get(m.id);
      if (!it || it.sig !== sig) {
        it = { sig, node: messageItem(m, thread, ctx.me, onFlag) };
        items.set(m.id, it);
      }
      return it.node;
    });
    reconcile(list, nodes.length ? nodes : [h('li', { class: 'msg-empty' }, 'No messages yet.')]);
    const canceled = order && order.status === 'canceled';
    const panel = orderPanel(order, thread);
    if (!orderSlot.firstChild || !orderSlot.firstChild.isEqualNode(panel)) replace(orderSlot, panel);
    if (orderActions) orderActions.el.hidden = canceled;
    reconcile(side, [team ? team.el : null, orderSlot, orderActions ? orderActions.el : null].filter(Boolean));
    if (team) team.update(thread);
    paintReplying();
    if (orderActions) orderActions.update(messages);
    closed.hidden = !canceled;
    if (composer) composer.el.hidden = canceled;
  }

  async function markRead() {
    if (kind === 'operator' || document.visibilityState !== 'visible') return;
    try { await post(`/v1/threads/${encodeURIComponent(id)}/read`); } catch { /* best effort */ }
  }

  async function reload() {
    const before = new Set(data.messages.map((m) => m.id));
    data = await get(`/v1/threads/${encodeURIComponent(id)}`);
    if (!older.length) olderCursor = data.page ? data.page.older : null;
    paint();
    const fresh = data.messages.filter((m) => !before.has(m.id));
    const theirs = fresh.filter((m) => (kind === 'buyer' ? m.from === 'seller' : m.from === 'buyer'));
    if (theirs.length) {
      const m = theirs[theirs.length - 1];
      if (kind === 'agent' && composer) composer.refreshSuggestions(); // the buyer wrote: suggest for that
      announce(`New message from the ${m.from}: ${m.text.slice(0, 140)}`);
      markRead();
    }
  }

  replace(el,
    h('div', { class: 'page-head thread-head' }, backLink(kind), title, meta, actions),
    notice,
    replying,
    h('div', { class: 'thread-layout' },
      h('section', { class: 'conversation', 'aria-labelledby': 'messages-h' },
        h('h2', { id: 'messages-h', class: 'sr-only' }, 'Messages'),
        olderButton,
        list,
        closed,
        composer ? composer.el : null),
      fold));
  paint();
  markRead();

  let pending = null;
  const refresh = () => {
    clearTimeout(pending);
    pending = setTimeout(() => { reload().catch(() => {}); }, 200);
  };
  const offs = [
    onLive('message', (ev) => { if (ev.thread_id === id) refresh(); }),
    onLive('thread', (ev) => { if (ev.thread_id === id) refresh(); }),
    onLive('resync', refresh),
  ];
  const tick = setInterval(() => refreshDueBadges(meta), 30000);
  // Locks and team changes raise no event: look again every 10 s (agents only).
  const poll = kind === 'agent' ? setInterval(() => { if (document.visibilityState === 'visible') reload().catch(() => {}); }, 10000) : null;
  // A draft that is still being written keeps its lock alive (heartbeat).
  const beat = lock ? setInterval(() => { if (lock.held() && composer && composer.drafting()) lock.take(true); }, 30000) : null;
  return () => {
    offs.forEach((off) => off());
    clearTimeout(pending);
    clearInterval(tick);
    if (poll) clearInterval(poll);
    if (beat) clearInterval(beat);
    if (lock) lock.release();
  };
}

