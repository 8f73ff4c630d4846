// evidence.js - the operator's evidence for a dispute as a document to read and print (beside the JSON export of the same records).
import { h, replace, scrollBox } from './dom.js';
import { api, get } from './api.js';
import { errorBox } from './errors.js';
import { topicLabel, statusLabel, orderStatusLabel, formatDateTime, formatPrice } from './format.js';

const short = (hash) => (hash ? `${hash.slice(0, 12)}…` : '');

function facts(rows) {
  return h('dl', { class: 'facts' }, rows.filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
}

function table(caption, head, rows) {
  return scrollBox('table-wrap', caption, h('table', { class: 'table evidence-table' },
    h('caption', null, caption),
    h('thead', null, h('tr', null, head.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, rows.length ? rows.map((r) => h('tr', null, r.map((c) => h('td', null, c))))
      : h('tr', null, h('td', { colspan: String(head.length) }, 'None.')))));
}

/** The thread's legal hold (docs/rules.md "Retention"): kept whatever its marketplace's retention, until released. */
function holdCard(id) {
  const path = `/v1/threads/${encodeURIComponent(id)}/legal-hold`;
  const card = h('section', { class: 'card no-print', id: 'legal-hold', 'aria-labelledby': 'ev-hold' });
  const err = errorBox();
  async function draw() {
    let hold = null;
    await err.run(async () => { hold = (await get(path)).legal_hold; });
    if (hold) {
      replace(card, h('h2', { id: 'ev-hold' }, 'Legal hold'),
        h('p', { id: 'hold-state' }, `Held since ${formatDateTime(hold.set_at)} by ${hold.set_by}: ${hold.reason}. It is kept whatever the marketplace's retention.`),
        err.el,
        h('button', { type: 'button', class: 'btn', onClick: () => err.run(async () => { await api('DELETE', path); await draw(); }) }, 'Release the hold'));
      return;
    }
    const reason = h('input', { id: 'hold-reason', type: 'text', maxlength: '500' });
    const form = h('form', { onSubmit: (ev) => {
      ev.preventDefault();
      if (!reason.value.trim()) return err.show('Say why the thread is kept.', reason);
      return err.run(async () => { await api('PUT', path, { reason: reason.value }); await draw(); }, undefined, { field: reason });
    } },
    h('label', { for: 'hold-reason' }, 'Reason'), reason, h('button', { type: 'submit', class: 'btn' }, 'Hold this thread'));
    replace(card, h('h2', { id: 'ev-hold' }, 'Legal hold'),
      h('p', { id: 'hold-state' }, "Not held: the thread is purged when its marketplace's retention passes."), err.el, form);
  }
  draw();
  return card;
}

/** The printable evidence of one thread (operator): GET /v1/threads/{id}/export, drawn. */
export async function renderEvidence(el, ctx) {
  const id = ctx.path[1];
  const x = await get(`/v1/threads/${encodeURIComponent(id)}/export`);
  const t = x.thread;
  const o = x.order;
  const who = (m) => (m.from === 'buyer' ? `${t.buyer_name || 'Buyer'} (buyer)` : `${t.seller_name || t.seller_id} (seller${m.agent_id ? `, agent ${m.agent_id}` : ''})`);
  replace(el,
    h('div', { class: 'page-head evidence-head' },
      h('a', { class: 'back no-print', href: `#/thread/${encodeURIComponent(id)}` }, 'Back to the thread'),
      h('h1', { tabindex: '-1' }, `Evidence: thread ${t.id}`),
      h('p', { class: 'muted' }, `Exported ${formatDateTime(x.exported_at)} from parley. The JSON export holds the same records; each audit entry carries the hash of the one before it.`),
      h('button', { type: 'button', class: 'btn no-print', id: 'print', onClick: () => window.print() }, 'Print or save as PDF')),
    holdCard(id),
    h('section', { class: 'card evidence-part', 'aria-labelledby': 'ev-thread' },
      h('h2', { id: 'ev-thread' }, 'Thread'),
      facts([['Seller', `${t.seller_name || ''} (${t.seller_id})`], ['Buyer', `${t.buyer_name || 'Buyer'}${t.buyer_alias ? ` · ${t.buyer_alias}` : ''}`],
        ['Subject', t.order_id ? `Order ${t.order_id}` : `Product ${t.asin}`], ['Topic', topicLabel(t.topic)],
        ['Opened', formatDateTime(t.created_at)], ['Last message', formatDateTime(t.last_message_at)]])),
    o ? h('section', { class: 'card evidence-part', 'aria-labelledby': 'ev-order' },
      h('h2', { id: 'ev-order' }, 'Order'),
      facts([['Order', o.id], ['Status', orderStatusLabel(o.status)], ['Purchased', o.purchased_at && formatDateTime(o.purchased_at)],
        ['Shipped', o.shipped_at && formatDateTime(o.shipped_at)], ['Delivered', o.delivered_at && formatDateTime(o.delivered_at)]]),
      (o.items || []).length ? table('Items', ['Item', 'ASIN', 'Quantity', 'Price'],
        o.items.map((it) => [it.title || '', it.asin || '', String(it.quantity), formatPrice(it.price, it.currency) || ''])) : null) : null,
    h('section', { class: 'card evidence-part', 'aria-labelledby': 'ev-messages' },
      h('h2', { id: 'ev-messages' }, `Messages (${x.messages.length})`),
      h('ol', { class: 'evidence-messages', id: 'evidence-messages' }, x.messages.map((m) => h('li', { class: 'evidence-message', 'data-message': m.id },
        h('p', { class: 'evidence-meta' }, `${formatDateTime(m.at)} · ${who(m)} · ${m.kind === 'message' ? '' : `${m.kind} · `}${statusLabel(m.status) || m.status || ''} · ${m.id}`),
        h('p', { class: 'evidence-text' }, m.text),
        (m.attachments || []).length ? h('p', { class: 'muted' }, `Attachments: ${m.attachments.map((a) => a.name).join(', ')}`) : null,
        m.policy && m.policy.findings && m.policy.findings.length
          ? h('p', { class: 'muted' }, `Policy (${m.policy.action}): ${m.policy.findings.map((f) => f.category).join(', ')}`) : null)))),
    table(`Events (${x.events.length})`, ['Time', 'Message', 'Event', 'Value', 'By'],
      x.events.map((e) => [formatDateTime(e.at), e.message, e.type, e.value, e.actor])),
    table(`Audit log (${x.audit.length})`, ['Time', 'By', 'Action', 'Hash', 'Previous'],
      x.audit.map((a) => [formatDateTime(a.at), a.actor, a.action, h('span', { class: 'mono', title: a.hash }, short(a.hash)),
        h('span', { class: 'mono', title: a.prev_hash }, short(a.prev_hash))])));
}
