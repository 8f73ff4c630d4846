// actions.js - the seller's message actions on an order (available or why not; attachments; send) and "Request a review", in the thread's order panel.
import { h, replace, announce, uniqueId } from './dom.js';
import { errorBox } from './errors.js';
import { get, post } from './api.js';
import { locate } from './policy.js';
import { findingsList, textFindings } from './compose.js';
import { createAttachmentPicker, fileFindings } from './attachments.js';
import { codePoints, formatDateTime } from './format.js';

function sentence(msg) {
  const t = (msg || '').trim();
  if (!t) return '';
  return `${t[0].toUpperCase()}${t.slice(1)}${/[.!?]$/.test(t) ? '' : '.'}`;
}

/** A kind explanation of a refused message action or review request. */
export function refusalText(e, what) {
  switch (e.code) {
    case 'already_requested': {
      const when = e.body && e.body.error && e.body.error.at; // when it was requested (docs/api.md, "Errors")
      return `A review was already requested for this order${when ? ` on ${formatDateTime(when)}` : ''}. The marketplace allows one review request per order, so there is nothing more to do.`;
    }
    case 'outside_window':
      return `Not possible right now. ${sentence(e.message)}`;
    case 'action_unavailable':
      return `This ${what} is not available for this order. ${sentence(e.message)}`;
    case 'messaging_restricted':
      return `Proactive messages are restricted on your account. ${sentence(e.message)} Replies to buyers are still allowed.`;
    case 'quota_exceeded':
      return `Today's message quota is used up. ${sentence(e.message)}`;
    case 'rate_limited':
      return 'Too many requests in a short time. Wait a moment and try again.';
    case 'order_canceled':
      return 'This order was canceled, so messaging about it is unavailable.';
    case 'text_too_long':
      return sentence(e.message);
    default:
      return sentence(e.message) || 'Something went wrong. Try again.';
  }
}

/**
 * The message actions and review request of one order, for an agent. Loads the list of
 * actions once (the operation is rate-limited); onSent() reloads the thread after a send.
 * update(messages) notes a review request already in the conversation.
 */
export function sellerActions(orderId, { readOnly = false, onSent } = {}) {
  const id = uniqueId('act');
  const body = h('div', { class: 'seller-actions-body' }, h('p', { class: 'loading', role: 'status' }, 'Loading the message actions…'));
  const reviewNote = h('p', { class: 'help', id: `${id}-review-note`, hidden: true });
  const reviewStatus = h('div', { class: 'alert', role: 'status', hidden: true, 'data-testid': 'review-status' });
  const reviewButton = h('button', { type: 'button', class: 'btn', id: 'request-review', disabled: readOnly, 'aria-describedby': `${id}-review-help ${id}-review-note` }, 'Request a review');
  reviewButton.addEventListener('click', async () => {
    reviewButton.disabled = true;
    reviewStatus.hidden = true;
    try {
      await post(`/v1/orders/${encodeURIComponent(orderId)}/review-request`);
      reviewStatus.className = 'alert alert-ok';
      reviewStatus.textContent = 'Review requested. The marketplace sent its own message to the buyer, in the buyer\'s language.';
      announce('Review requested.');
      if (onSent) await onSent();
    } catch (e) {
      if (e.status === 401) return;
      reviewStatus.className = `alert ${e.code === 'already_requested' ? 'alert-info' : 'alert-warn'}`;
      reviewStatus.textContent = refusalText(e, 'review request');
    } finally {
      reviewStatus.hidden = false;
      reviewButton.disabled = readOnly;
    }
  });

  // One send form in sight: the reply box answers the buyer; a message action (the
  // marketplace's own forms) is opened on purpose.
  const fold = h('details', { class: 'action-fold', 'data-testid': 'action-fold' },
    h('summary', { class: 'btn' }, 'Send a message action'),
    body);
  const el = h('section', { class: 'card seller-actions', 'aria-labelledby': `${id}-h`, 'data-testid': 'seller-actions' },
    h('h2', { id: `${id}-h` }, 'Message the buyer'),
    fold,
    h('h3', null, 'Review'),
    h('p', { class: 'help', id: `${id}-review-help` }, 'The marketplace sends its own review request (once per order, from day 5 to day 30 after delivery). Never ask for reviews in your own words.'),
    reviewNote,
    h('div', { class: 'actions' }, reviewButton),
    reviewStatus);

  function actionForm(actions) {
    const available = actions.filter((a) => a.available);
    const unavailable = actions.filter((a) => !a.available);
    const select = h('select', { id: `${id}-name`, name: 'action' }, available.map((a) => h('option', { value: a.name }, `${a.title}${a.critical ? '' : ' (non-critical)'}`)));
    const text = h('textarea', { id: `${id}-text`, name: 'text', rows: '4', class: 'editor-text plain-input', 'aria-describedby': `${id}-count ${id}-text-help` });
    const counter = h('p', { class: 'help counter', id: `${id}-count` });
    const textHelp = h('p', { class: 'help', id: `${id}-text-help` });
    const textField = h('div', { class: 'field' }, h('label', { for: text.id }, 'Message'), text, counter, textHelp);
    const start = h('input', { id: `${id}-start`, type: 'date', name: 'coverage_start' });
    const end = h('input', { id: `${id}-end`, type: 'date', name: 'coverage_end' });
    const coverage = h('fieldset', { class: 'coverage' }, h('legend', null, 'Warranty coverage'),
      h('div', { class: 'field-row' },
        h('div', { class: 'field' }, h('label', { for: start.id }, 'From'), start),
        h('div', { class: 'field' }, h('label', { for: end.id }, 'Until'), end)));
    const noText = h('p', { class: 'help' }, 'No text to write: the marketplace sends its own wording in the buyer\'s language.');
    const files = createAttachmentPicker({ label: 'Attach files' });
    const error = errorBox();
    const findings = h('div', { class: 'policy-findings' });
    const done = h('div', { class: 'alert alert-ok', role: 'status', hidden: true, 'data-testid': 'action-status' });
    const send = h('button', { type: 'submit', class: 'btn btn-primary', disabled: readOnly }, 'Send action');
    const current = () => available.find((a) => a.name === select.value);
    const count = () => {
      const a = current();
      const n = codePoints(text.value);
      counter.textContent = `${n.toLocaleString()} / ${a.max_text.toLocaleString()} characters`;
      counter.classList.toggle('over', n > a.max_text);
    };
    const sync = () => {
      const a = current();
      if (!a) return;
      const warranty = a.name === 'warranty';
      textField.hidden = !a.max_text;
      noText.hidden = Boolean(a.max_text);
      coverage.hidden = !warranty;
      files.el.querySelector('label').textContent = a.attachment_required ? 'Attach the file (required)' : 'Attach files (optional)';
      textHelp.textContent = `${warranty ? 'Optional. ' : ''}${a.critical ? 'Always delivered, also to buyers who opted out.' : 'Not delivered to buyers who opted out of non-critical messages.'}`;
      if (a.max_text) count();
      error.hide();
      replace(findings);
    };
    select.addEventListener('change', sync);
    text.addEventListener('input', () => { count(); error.hide(); });

    const form = h('form', { class: 'action-form', novalidate: true, 'aria-label': 'Send a message action', onSubmit: async (ev) => {
      ev.preventDefault();
      const a = current();
      error.hide();
      done.hidden = true;
      replace(findings);
      const payload = {};
      if (a.max_text) {
        const t = text.value;
        const required = a.name !== 'warranty';
        if (required && !t.trim()) return error.show('Write the message first.', text);
        if (codePoints(t) > a.max_text) return error.show(`The message is longer than ${a.max_text.toLocaleString()} characters.`, text);
        if (t.trim()) payload.text = t;
      }
      if (files.busy()) return error.show('Wait until the files are uploaded.');
      if (a.attachment_required && !files.ids().length) return error.show(`${a.title} needs a file: attach it first.`, files.input);
      if (files.ids().length) payload.attachments = files.ids();
      if (a.name === 'warranty') {
        if (!start.value) return error.show('Enter the date the warranty starts.', start);
        if (!end.value) return error.show('Enter the date the warranty ends.', end);
        if (end.value < start.value) return error.show('The warranty cannot end before it starts.', end);
        payload.coverage_start = `${start.value}T00:00:00Z`;
        payload.coverage_end = `${end.value}T23:59:59Z`;
      }
      send.disabled = true;
      send.textContent = 'Sending…';
      await error.run(async () => {
        const res = await post(`/v1/orders/${encodeURIComponent(orderId)}/actions/${encodeURIComponent(a.name)}`, payload);
        const st = res && res.message && res.message.status;
        done.textContent = st === 'held_for_review'
          ? `${a.title}: held for review by the marketplace; it is delivered once approved.`
          : st === 'not_delivered' ? `${a.title}: stored, but not delivered to the buyer.` : `${a.title}: sent to the buyer.`;
        done.hidden = false;
        announce(done.textContent);
        text.value = '';
        start.value = '';
        end.value = '';
        files.clear();
        sync();
        if (onSent) await onSent();
      }, (e) => {
        if (e.code !== 'policy_violation') return refusalText(e, 'message action');
        const located = locate(text.value, textFindings(e.findings));
        replace(findings, located.length ? findingsList(located) : null, fileFindings(e.findings));
        return 'The marketplace blocked this message. Fix the parts it names and send again.';
      });
      send.disabled = readOnly;
      send.textContent = 'Send action';
    } },
    available.length ? [
      h('div', { class: 'field' }, h('label', { for: select.id }, 'Message action'), select),
      textField, noText, coverage, files.el, error.el, findings,
      h('div', { class: 'actions' }, send),
      done,
    ] : h('p', { class: 'muted', 'data-testid': 'no-actions' }, 'No message action is available for this order now.'));
    sync();
    const why = unavailable.length ? h('details', { class: 'unavailable' },
      h('summary', null, `Not available now (${unavailable.length})`),
      h('ul', { class: 'unavailable-list' }, unavailable.map((a) => h('li', { 'data-action': a.name },
        h('span', { class: 'unavailable-title' }, a.title), ': ', h('span', { class: 'muted' }, a.reason || 'not available'))))) : null;
    return [
      h('p', { class: 'help' }, 'Messages about this order in the marketplace\'s own forms, also when the buyer has not written.'),
      form, why,
    ];
  }

  (async () => {
    try {
      const res = await get(`/v1/orders/${encodeURIComponent(orderId)}/actions`);
      replace(body, actionForm(res.actions || []));
    } catch (e) {
      if (e.status === 401) return;
      replace(body, h('p', { class: 'alert alert-warn' }, `The message actions could not be loaded. ${refusalText(e, 'list')}`));
    }
  })();

  return {
    el,
    update(messages) {
      const rr = (messages || []).filter((m) => m.kind === 'review_request');
      reviewNote.hidden = !rr.length;
      if (rr.length) reviewNote.textContent = `A review was requested on ${formatDateTime(rr[rr.length - 1].at)}.`;
    },
  };
}
