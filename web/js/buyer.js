// buyer.js - the buyer's pages: orders, contacting the seller about an order, asking about a product, preferences.
import { h, replace, uniqueId, announce } from './dom.js';
import { errorBox } from './errors.js';
import { get, post, api, qs } from './api.js';
import { orderPanel } from './thread.js';
import { orderStatusLabel, formatDate, formatPrice, codePoints } from './format.js';
import { topics, limits } from './meta.js';

const ORDER_ID = /^\d{3}-\d{7}-\d{7}$/;

/** The buyer's threads (first 100), to link orders and products to conversations that exist. */
async function myThreads() {
  try {
    const data = await get(`/v1/threads${qs({ filter: 'all', limit: 100 })}`);
    return data.threads || [];
  } catch (e) {
    if (e.status === 401) throw e;
    return [];
  }
}

function topicPicker(topics, name) {
  const legendId = uniqueId('topic');
  return h('fieldset', { class: 'topics', 'aria-describedby': `${legendId}-help` },
    h('legend', null, 'What is it about?'),
    h('p', { class: 'help', id: `${legendId}-help` }, 'Pick the topic that fits best: it helps the seller answer quickly.'),
    h('div', { class: 'topic-options' }, topics.map(([value, label], i) => {
      const id = `${name}-${value}`;
      return h('div', { class: 'topic-option' },
        h('input', { type: 'radio', name, id, value, required: i === 0 }),
        h('label', { for: id }, label));
    })));
}

function messageField() {
  const id = uniqueId('msg');
  const counter = h('p', { class: 'help counter', id: `${id}-count` }, `0 / ${limits().text_chars.toLocaleString()} characters`);
  const ta = h('textarea', { id, name: 'text', rows: '5', class: 'editor-text plain-input', required: true, 'aria-describedby': `${id}-count` });
  ta.addEventListener('input', () => {
    const n = codePoints(ta.value);
    counter.textContent = `${n.toLocaleString()} / ${limits().text_chars.toLocaleString()} characters`;
    counter.classList.toggle('over', n > limits().text_chars);
  });
  return { el: h('div', { class: 'field' }, h('label', { for: id }, 'Your message'), ta, counter), ta };
}

function threadIdFrom(message) {
  const m = /\bT[0-9a-z]{12}\b/.exec(message || '');
  return m ? m[0] : null;
}

/** "Your orders": each order with its items and a way to contact the seller. */
export async function renderOrders(el, ctx) {
  let orders = null;
  let unavailable = null;
  try {
    // A buyer's orders fit in a few pages; follow the cursor up to 500.
    orders = [];
    let cursor;
    do {
      const page = await get(`/v1/orders${qs({ limit: 100, cursor })}`);
      orders.push(...(page.orders || []));
      cursor = page.next_cursor;
    } while (cursor && orders.length < 500);
  } catch (e) {
    if (e.status === 401) throw e;
    unavailable = e;
  }
  const threads = await myThreads();
  const byOrder = new Map(threads.filter((t) => t.order_id).map((t) => [t.order_id, t]));
  const sellerNames = new Map(threads.map((t) => [t.seller_id, t.seller_name]));

  const lookupInput = h('input', { id: 'order-lookup', name: 'order_id', inputmode: 'numeric', autocomplete: 'off', placeholder: '112-1234567-1234567', 'aria-describedby': 'order-lookup-help' });
  const lookupError = errorBox({ tag: 'p', class: 'field-error', id: 'order-lookup-error', invalid: true });
  const lookup = h('form', { class: 'card lookup', 'aria-labelledby': 'lookup-h', onSubmit: (ev) => {
    ev.preventDefault();
    const v = lookupInput.value.trim();
    if (!ORDER_ID.test(v)) return lookupError.show('An order ID has 17 digits, like 112-1234567-1234567.', lookupInput);
    ctx.navigate(`#/contact/${encodeURIComponent(v)}`);
  } },
  h('h2', { id: 'lookup-h' }, 'Contact the seller about an order'),
  h('div', { class: 'field' }, h('label', { for: 'order-lookup' }, 'Order ID'), lookupInput,
    h('p', { class: 'help', id: 'order-lookup-help' }, 'You find it in your order confirmation.'), lookupError.el),
  h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn' }, 'Continue')));

  const cards = (orders || []).map((o) => {
    const t = byOrder.get(o.id);
    const canceled = o.status === 'canceled';
    const seller = sellerNames.get(o.seller) || `Seller ${o.seller}`;
    let action;
    const about = h('span', { class: 'sr-only' }, ` about order ${o.id}`);
    if (t) action = h('a', { class: 'btn', href: `#/thread/${t.id}` }, 'Open the conversation', about);
    else if (canceled) action = h('p', { class: 'muted' }, 'Messaging is unavailable for canceled orders.');
    else action = h('a', { class: 'btn btn-primary', href: `#/contact/${encodeURIComponent(o.id)}`, 'data-order': o.id }, 'Contact the seller', about);
    return h('li', { class: 'card order-card', 'data-order': o.id },
      h('div', { class: 'order-card-head' },
        h('h2', null, h('span', { class: 'sr-only' }, 'Order '), h('span', { class: 'mono' }, o.id)),
        h('span', { class: ['badge', `order-${o.status}`] }, orderStatusLabel(o.status))),
      h('p', { class: 'muted' }, [seller, o.purchased_at && `ordered ${formatDate(o.purchased_at)}`,
        o.delivered_at && `delivered ${formatDate(o.delivered_at)}`].filter(Boolean).join(' · ')),
      h('ul', { class: 'items' }, (o.items || []).map((it) => h('li', { class: 'item' },
        h('span', { class: 'item-title' }, it.title || it.asin),
        h('span', { class: 'item-meta' }, [it.asin, `qty ${it.quantity}`, formatPrice(it.price, it.currency)].filter(Boolean).join(' · ')),
        it.asin ? h('a', { class: 'btn-link', href: `#/ask${qs({ asin: it.asin, seller: o.seller })}` }, 'Ask a question about this product', h('span', { class: 'sr-only' }, `: ${it.title || it.asin}`)) : null))),
      h('div', { class: 'actions' }, action));
  });

  replace(el,
    h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, 'Your orders')),
    unavailable
      ? h('p', { class: 'alert alert-info' }, 'Your order list is not available yet. Enter an order ID below to contact its seller.')
      : cards.length ? h('ul', { class: 'order-list', id: 'order-list' }, cards) : h('p', { class: 'list-status' }, 'You have no orders yet.'),
    lookup);
}

/** "Contact the seller" about one order, with the post-purchase topic picker. */
export async function renderContact(el, ctx) {
  const orderId = ctx.path[1];
  const { order } = await get(`/v1/orders/${encodeURIComponent(orderId)}`);
  const threads = await myThreads();
  const existing = threads.find((t) => t.order_id === order.id);
  const head = h('div', { class: 'page-head' }, h('a', { class: 'back', href: '#/orders' }, 'Back to your orders'), h('h1', { tabindex: '-1' }, 'Contact the seller'));
  const panel = orderPanel(order, { asin: null });
  if (existing || order.status === 'canceled') {
    replace(el, head, h('div', { class: 'thread-layout' },
      h('div', { class: 'conversation' }, existing
        ? h('p', { class: 'alert alert-info' }, 'You already have a conversation about this order. ', h('a', { href: `#/thread/${existing.id}` }, 'Open it and write there'), '.')
        : h('p', { class: 'alert alert-info' }, 'Messaging is unavailable: this order was canceled.')),
      h('div', { class: 'thread-side' }, panel)));
    return;
  }
  const msg = messageField();
  const error = errorBox();
  const button = h('button', { type: 'submit', class: 'btn btn-primary', id: 'send' }, 'Send to the seller');
  const form = h('form', { class: 'card compose', novalidate: true, 'aria-label': 'Message to the seller', onSubmit: async (ev) => {
    ev.preventDefault();
    const topic = form.querySelector('input[name="topic"]:checked');
    const text = msg.ta.value;
    if (!topic) return error.show('Pick a topic first.', form.querySelector('input[name="topic"]'));
    if (!text.trim()) return error.show('Write your message first.', msg.ta);
    if (codePoints(text) > limits().text_chars) return error.show(`The message is longer than ${limits().text_chars.toLocaleString()} characters.`, msg.ta);
    button.disabled = true;
    await error.run(async () => {
      const res = await post('/v1/threads', { order_id: order.id, topic: topic.value, text });
      ctx.navigate(`#/thread/${res.thread.id}`);
    }, (e) => {
      const tid = e.code === 'already_exists' ? threadIdFrom(e.message) : null;
      if (!tid) return e.message;
      ctx.navigate(`#/thread/${tid}`);
      return null;
    });
    button.disabled = false;
  } },
  topicPicker(topics('post_purchase'), 'topic'),
  msg.el,
  error.el,
  h('div', { class: 'actions' }, button));
  form.addEventListener('input', () => { error.hide(); });
  replace(el, head, h('div', { class: 'thread-layout' }, h('div', { class: 'conversation' }, form), h('div', { class: 'thread-side' }, panel)));
}

/** "Ask about a product": a pre-purchase question to the seller of an ASIN. */
export async function renderAsk(el, ctx) {
  const asin = h('input', { id: 'ask-asin', name: 'asin', value: ctx.query.get('asin') || '', autocomplete: 'off', autocapitalize: 'characters', placeholder: 'B0C1234567', 'aria-describedby': 'ask-asin-help' });
  const seller = h('input', { id: 'ask-seller', name: 'seller_id', value: ctx.query.get('seller') || '', autocomplete: 'off', 'aria-describedby': 'ask-seller-help' });
  const msg = messageField();
  const error = errorBox();
  const button = h('button', { type: 'submit', class: 'btn btn-primary', id: 'send' }, 'Send the question');
  const form = h('form', { class: 'card compose', novalidate: true, 'aria-label': 'Question about a product', onSubmit: async (ev) => {
    ev.preventDefault();
    const a = asin.value.trim().toUpperCase();
    const s = seller.value.trim();
    const topic = form.querySelector('input[name="ask-topic"]:checked');
    const text = msg.ta.value;
    if (!/^[A-Z0-9]{10}$/.test(a)) return error.show('An ASIN has 10 letters and digits, like B0C1234567.', asin);
    if (!s) return error.show('Enter the seller of the product.', seller);
    if (!topic) return error.show('Pick a topic first.', form.querySelector('input[name="ask-topic"]'));
    if (!text.trim()) return error.show('Write your question first.', msg.ta);
    if (codePoints(text) > limits().text_chars) return error.show(`The message is longer than ${limits().text_chars.toLocaleString()} characters.`, msg.ta);
    button.disabled = true;
    await error.run(async () => {
      // One conversation per product and seller: a further question goes into it.
      const { threads } = await get(`/v1/threads${qs({ filter: 'all', asin: a })}`);
      const existing = (threads || []).find((t) => t.asin === a && t.seller_id === s);
      if (existing) {
        await post(`/v1/threads/${existing.id}/messages`, { text });
        ctx.navigate(`#/thread/${existing.id}`);
        return;
      }
      const res = await post('/v1/threads', { asin: a, seller_id: s, topic: topic.value, text });
      ctx.navigate(`#/thread/${res.thread.id}`);
    }, (e) => {
      if (e.status !== 404) return e.message;
      return error.show('No such product or seller. Check the ASIN and the seller.', asin);
    });
    button.disabled = false;
  } },
  h('div', { class: 'field-row' },
    h('div', { class: 'field' }, h('label', { for: 'ask-asin' }, 'Product (ASIN)'), asin,
      h('p', { class: 'help', id: 'ask-asin-help' }, 'Shown on the product page.')),
    h('div', { class: 'field' }, h('label', { for: 'ask-seller' }, 'Seller ID'), seller,
      h('p', { class: 'help', id: 'ask-seller-help' }, 'The seller offering it, as shown on the product page.'))),
  topicPicker(topics('pre_purchase'), 'ask-topic'),
  msg.el,
  error.el,
  h('div', { class: 'actions' }, button));
  form.addEventListener('input', () => { error.hide(); });
  // The products of the buyer's orders, to pick instead of typing an ASIN and a seller.
  const known = [];
  try {
    const { orders } = await get('/v1/orders');
    for (const o of orders || []) {
      for (const it of o.items || []) {
        if (it.asin && !known.some((k) => k.asin === it.asin && k.seller === o.seller)) known.push({ asin: it.asin, seller: o.seller, title: it.title || it.asin });
      }
    }
  } catch (e) {
    if (e.status === 401) return;
  }
  const pick = known.length ? h('select', { id: 'ask-product', onChange: () => {
    const k = known[Number(pick.value)];
    if (!k) return;
    asin.value = k.asin;
    seller.value = k.seller;
    error.hide();
  } }, h('option', { value: '' }, 'Choose one, or type its ASIN below'),
  known.map((k, i) => h('option', { value: String(i) }, `${k.title} (${k.asin})`))) : null;
  if (pick) {
    const at = known.findIndex((k) => k.asin === asin.value && k.seller === seller.value);
    if (at >= 0) pick.value = String(at);
    form.prepend(h('div', { class: 'field' }, h('label', { for: 'ask-product' }, 'A product you ordered'), pick));
  }
  replace(el,
    h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, 'Ask about a product'),
      h('p', { class: 'muted' }, 'Questions before you buy go straight to the seller; the answer appears in your messages.')),
    form);
}

/** "Preferences": the current choices (GET /v1/me/preferences): opting out of non-critical messages, and the sellers blocked (PUT). */
export async function renderPreferences(el) {
  const choices = [
    ['in', 'Receive all messages from sellers', 'Order updates, warranty information and other messages sellers send about your orders.'],
    ['out', 'Only messages I need', 'Sellers\' non-critical messages (such as warranty information or feedback-related messages) are not delivered. Answers to your questions and messages about your order itself (delivery, customization, problems) still reach you.'],
  ];
  const current = h('p', { class: 'alert alert-info', id: 'pref-current', role: 'status' });
  const show = (optOut, saved) => {
    current.textContent = `${saved ? 'Saved: y' : 'Now y'}ou receive ${optOut
      ? 'only the messages you need. Sellers\' non-critical messages are not delivered to you.'
      : 'all messages from sellers.'}`;
    current.dataset.optOut = String(optOut);
  };
  const error = errorBox();
  const button = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Save');
  const form = h('form', { class: 'card prefs', novalidate: true, 'aria-labelledby': 'prefs-h', onSubmit: async (ev) => {
    ev.preventDefault();
    error.hide();
    const picked = form.querySelector('input[name="opt_out"]:checked');
    if (!picked) return error.show('Choose one of the two options first.', form.querySelector('input[name="opt_out"]'));
    button.disabled = true;
    button.textContent = 'Saving…';
    await error.run(async () => {
      const res = await api('PUT', '/v1/me/preferences', { opt_out: picked.value === 'out' });
      current.className = 'alert alert-ok';
      show(res.opt_out, true);
      announce(current.textContent);
    }, (e) => `Could not save: ${e.message}`);
    button.disabled = false;
    button.textContent = 'Save';
  } },
  h('fieldset', { class: 'topics' },
    h('legend', { id: 'prefs-h' }, 'Messages from sellers'),
    h('div', { class: 'pref-options' }, choices.map(([value, label, help]) => h('div', { class: 'topic-option pref-option' },
      h('input', { type: 'radio', name: 'opt_out', id: `pref-${value}`, value, 'aria-describedby': `pref-${value}-help` }),
      h('div', null, h('label', { for: `pref-${value}` }, label), h('p', { class: 'help', id: `pref-${value}-help` }, help)))))),
  error.el,
  h('div', { class: 'actions' }, button));
  const blocks = h('form', { class: 'card prefs', id: 'blocks', novalidate: true, 'aria-labelledby': 'blocks-h' });
  replace(el,
    h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, 'Preferences')),
    current,
    form,
    blocks);
  // the choice as the marketplace keeps it, checked in the form
  let now = null;
  try {
    now = await get('/v1/me/preferences');
    show(now.opt_out, false);
    form.querySelector(`#pref-${now.opt_out ? 'out' : 'in'}`).checked = true;
  } catch (e) {
    if (e.status !== 401) current.textContent = `Your current choice could not be read: ${e.message}`;
  }
  if (now) await renderBlocks(blocks, now.blocked_sellers || []);
}

/** "Sellers you blocked": one tick box a seller of the buyer's orders (and any already
 * blocked); saving sends the whole list (PUT /v1/me/preferences {blocked_sellers}). */
async function renderBlocks(form, blocked) {
  const names = new Map();
  try {
    const page = await get(`/v1/orders${qs({ limit: 100 })}`);
    for (const o of page.orders || []) names.set(o.seller, `Seller ${o.seller}`);
    for (const t of await myThreads()) if (t.seller_name) names.set(t.seller_id, t.seller_name);
  } catch (e) {
    if (e.status === 401) throw e;
  }
  for (const id of blocked) if (!names.has(id)) names.set(id, `Seller ${id}`);
  const status = h('p', { class: 'help', id: 'blocks-status', role: 'status' });
  const say = (list, saved) => {
    const n = list.length;
    status.textContent = `${saved ? 'Saved: ' : ''}${n ? `${n} seller${n === 1 ? '' : 's'} blocked.` : 'No seller blocked.'}`;
    status.dataset.blocked = list.join(',');
  };
  say(blocked, false);
  const error = errorBox();
  const button = h('button', { type: 'submit', class: 'btn' }, 'Save blocked sellers');
  const boxes = [...names].map(([id, name]) => h('div', { class: 'topic-option pref-option' },
    h('input', { type: 'checkbox', name: 'block', id: `block-${id}`, value: id, checked: blocked.includes(id) }),
    h('label', { for: `block-${id}` }, `Block messages from ${name}`)));
  replace(form,
    h('fieldset', { class: 'topics' },
      h('legend', { id: 'blocks-h' }, 'Sellers you blocked'),
      h('p', { class: 'help' }, 'A seller you block cannot send you warranty information, feedback requests or other non-critical messages. Answers to your own questions and messages about your order itself (delivery, problems) still reach you. The seller is not told.'),
      boxes.length ? h('div', { class: 'pref-options' }, boxes) : h('p', { class: 'muted' }, 'Sellers of your orders appear here.')),
    status, error.el,
    boxes.length ? h('div', { class: 'actions' }, button) : null);
  form.onsubmit = async (ev) => {
    ev.preventDefault();
    error.hide();
    button.disabled = true;
    await error.run(async () => {
      const list = [...form.querySelectorAll('input[name="block"]:checked')].map((b) => b.value);
      const res = await api('PUT', '/v1/me/preferences', { blocked_sellers: list });
      say(res.blocked_sellers, true);
      announce(status.textContent);
    }, (e) => `Could not save: ${e.message}`);
    button.disabled = false;
  };
}
