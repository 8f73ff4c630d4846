// webhooks.js - the Webhooks page of a seller's owner and of the operator: add a URL for events (its secret shown once), send a test event, read each webhook's delivery log and deliver again, turn it off or on, delete it (docs/webhooks.md).
import { h, replace, uniqueId, announce } from './dom.js';
import { errorBox } from './errors.js';
import { get, post, api } from './api.js';
import { formatDateTime } from './format.js';

/** The events a webhook may hear of, in the words of the page. */
export const WEBHOOK_EVENTS = [
  ['message.received', 'A buyer wrote'],
  ['message.delivered', 'A reply reached the buyer'],
  ['message.held', 'A reply was held for the marketplace\'s review'],
  ['message.rejected', 'A reply broke the policy'],
  ['message.failed', 'A message could not be delivered'],
  ['review_request.sent', 'A review request went to the buyer'],
  ['policy.violation', 'A violation was recorded'],
  ['enforcement.changed', 'The seller\'s measures changed'],
  ['thread.deadline_approaching', 'A response is due soon'],
  ['thread.overdue', 'A response is overdue'],
  ['seller.at_risk', 'A seller\'s response time fell to at risk', 'operator'],
];
const eventLabel = (e) => (WEBHOOK_EVENTS.find(([id]) => id === e) || [e, e])[1];

const STATE_WORDS = { pending: 'Waiting to be retried', delivered: 'Delivered', failed: 'Failed' };

export async function renderWebhooks(el, ctx) {
  const list = h('ul', { class: 'webhook-list', id: 'webhook-list', 'aria-label': 'Webhooks' });
  const status = h('p', { class: 'list-status', role: 'status' });
  const secretBox = h('div', { class: 'alert alert-ok', id: 'webhook-secret', role: 'status', hidden: true });
  const pageError = errorBox();

  function log(w, box) {
    const table = h('table', { class: 'data-table webhook-log' },
      h('caption', { class: 'sr-only' }, `Deliveries of ${w.url}`),
      h('thead', null, h('tr', null, ['Event', 'State', 'Attempts', 'Last answer', ''].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody'));
    const err = errorBox();
    async function load() {
      const res = await get(`/v1/webhooks/${encodeURIComponent(w.id)}/deliveries?limit=20`);
      const rows = (res.deliveries || []).map((d) => {
        const last = d.last_attempt;
        const answer = !last ? '—' : last.error ? `${last.status || 'no answer'}: ${last.error}` : `${last.status} in ${last.duration_ms} ms`;
        return h('tr', { 'data-delivery': d.id },
          h('td', null, eventLabel(d.type), h('br'), h('span', { class: 'muted mono' }, d.event_id)),
          h('td', { class: `delivery-${d.state}` }, STATE_WORDS[d.state] || d.state,
            d.next_attempt_at ? h('span', { class: 'muted' }, ` (next ${formatDateTime(d.next_attempt_at)})`) : null),
          h('td', null, String(d.attempts)),
          h('td', null, answer),
          h('td', null, h('button', { type: 'button', class: 'btn btn-small', 'aria-label': `Deliver ${d.event_id} again`, onClick: async () => {
            await err.run(async () => {
              await post(`/v1/webhooks/${encodeURIComponent(w.id)}/deliveries/${encodeURIComponent(d.id)}/redeliver`);
              announce('Queued again.');
              await load();
            }, (e) => `Could not deliver it again: ${e.message}`);
          } }, 'Deliver again')));
      });
      replace(table.tBodies[0], rows.length ? rows : h('tr', null, h('td', { colspan: '5', class: 'muted' }, 'Nothing sent yet.')));
    }
    replace(box, h('div', { class: 'actions' }, h('button', { type: 'button', class: 'btn btn-small', onClick: () => err.run(load) }, 'Refresh the log')),
      err.el, table);
    return err.run(load, (e) => `Could not read the log: ${e.message}`);
  }

  function card(w) {
    const err = errorBox();
    const logBox = h('div', { class: 'webhook-log-box', hidden: true });
    const act = (label, fn) => h('button', { type: 'button', class: 'btn btn-small', 'aria-label': `${label}: ${w.url}`, onClick: () => err.run(fn, (e) => `Could not do that: ${e.message}`) }, label);
    return h('li', { class: 'card webhook', 'data-webhook': w.id },
      h('div', { class: 'tpl-card-head' }, h('h2', { class: 'mono webhook-url' }, w.url),
        h('span', { class: `badge ${w.active ? 'state-sent' : 'status-rejected'}` }, w.active ? 'On' : 'Off')),
      w.disabled_reason ? h('p', { class: 'rule-failure', role: 'status' }, w.disabled_reason) : null,
      w.failing_since && w.active ? h('p', { class: 'rule-failure' }, `Deliveries failing since ${formatDateTime(w.failing_since)}.`) : null,
      h('p', { class: 'muted' }, (w.events || []).map(eventLabel).join(' · ')),
      h('div', { class: 'actions' },
        act('Send a test event', async () => {
          await post(`/v1/webhooks/${encodeURIComponent(w.id)}/test`);
          announce('Test event queued.');
          logBox.hidden = false;
          await log(w, logBox);
        }),
        act('Show deliveries', async () => {
          logBox.hidden = false;
          await log(w, logBox);
        }),
        act(w.active ? 'Turn off' : 'Turn on', async () => {
          await api('PUT', `/v1/webhooks/${encodeURIComponent(w.id)}`, { active: !w.active });
          announce(w.active ? 'Turned off.' : 'Turned on.');
          await load();
        }),
        act('Delete', async () => {
          if (!window.confirm(`Delete the webhook to ${w.url} and its delivery log?`)) return;
          await api('DELETE', `/v1/webhooks/${encodeURIComponent(w.id)}`);
          announce('Webhook deleted.');
          await load();
        })),
      err.el, logBox);
  }

  async function load() {
    const res = await get('/v1/webhooks');
    const hooks = res.webhooks || [];
    replace(list, hooks.map(card));
    status.textContent = hooks.length ? '' : 'No webhooks yet.';
  }

  const fid = uniqueId('hook');
  const url = h('input', { id: `${fid}-url`, type: 'url', inputmode: 'url', placeholder: 'https://helpdesk.example.com/parley', maxlength: '2048', 'aria-describedby': `${fid}-url-help` });
  const kind = ctx && ctx.me ? ctx.me.kind : 'agent';
  const boxes = WEBHOOK_EVENTS.filter(([, , only]) => !only || only === kind).map(([id, label]) => {
    const cb = h('input', { type: 'checkbox', id: `${fid}-${id.replace('.', '-')}`, value: id });
    return h('div', { class: 'field field-inline' }, cb, h('label', { for: cb.id }, label));
  });
  const formError = errorBox();
  const add = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Add the webhook');
  const form = h('form', { class: 'card webhook-form', novalidate: true, 'aria-labelledby': `${fid}-h`, onSubmit: async (ev) => {
    ev.preventDefault();
    formError.hide();
    const events = boxes.map((b) => b.querySelector('input')).filter((c) => c.checked).map((c) => c.value);
    if (!url.value.trim()) return formError.show('Give the URL that receives the events.', url);
    if (!events.length) return formError.show('Choose at least one event.', boxes[0].querySelector('input'));
    add.disabled = true;
    await formError.run(async () => {
      const res = await post('/v1/webhooks', { url: url.value.trim(), events });
      replace(secretBox, h('p', null, h('strong', null, 'The signing secret, shown this once: '),
        h('code', { class: 'mono', id: 'webhook-secret-value' }, res.webhook.secret)),
      h('p', null, 'Keep it where the receiver checks each delivery\'s Parley-Signature header with it.'));
      secretBox.hidden = false;
      announce('Webhook added. Copy its secret now: it is not shown again.');
      url.value = '';
      for (const b of boxes) b.querySelector('input').checked = false;
      await load();
    }, (e) => (e.status === 403 ? 'Only the seller\'s owner manages webhooks.' : `Could not add it: ${e.message}`), { field: url });
    add.disabled = false;
  } },
  h('h2', { id: `${fid}-h` }, 'Add a webhook'),
  h('div', { class: 'field' }, h('label', { for: url.id }, 'URL'), url,
    h('p', { class: 'help', id: `${fid}-url-help` }, 'An https address of your helpdesk or service; each event is POSTed to it, signed.')),
  h('fieldset', { class: 'topics' }, h('legend', null, 'Events'), boxes),
  formError.el,
  h('div', { class: 'actions' }, add));

  replace(el,
    h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, 'Webhooks')),
    h('p', { class: 'help' }, 'Your tools hear of new buyer messages, replies and deadlines the moment they happen. Failed deliveries are retried for a day; a webhook that fails for three days is turned off.'),
    secretBox, pageError.el, status, list, form);
  await pageError.run(load, (e) => (e.status === 403 ? 'Only the seller\'s owner manages webhooks.' : `Could not read the webhooks: ${e.message}`));
}
