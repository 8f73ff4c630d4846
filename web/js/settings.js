// settings.js - a seller's messaging settings (its owner, or the operator for any seller): the customer-service address (a new one counts once confirmed), messaging about orders the marketplace fulfils, the language of parley's notices; and the public page that confirms a new address from its e-mailed link.
import { h, replace, uniqueId, announce } from './dom.js';
import { errorBox } from './errors.js';
import { get, post, api, qs } from './api.js';
import { formatDateTime } from './format.js';

/** "German (de)": a language's name in English, with its code. */
export function languageName(code) {
  let name = null;
  try {
    name = new Intl.DisplayNames(['en'], { type: 'language' }).of(code);
  } catch { /* the code alone */ }
  return name && name !== code ? `${name} (${code})` : code;
}

/** The settings form of one seller, drawn into box. */
async function sellerSettings(box, sellerId, { who }) {
  const base = `/v1/sellers/${encodeURIComponent(sellerId)}/settings`;
  const fid = uniqueId('settings');
  const address = h('input', { type: 'email', id: `${fid}-email`, name: 'customer_service_email', autocomplete: 'off', inputmode: 'email',
    'aria-describedby': `${fid}-email-help ${fid}-pending` });
  const pending = h('div', { class: 'alert alert-info', id: `${fid}-pending`, 'data-testid': 'pending-address', role: 'status', hidden: true });
  const fulfilled = h('input', { type: 'checkbox', id: `${fid}-mfn`, name: 'marketplace_fulfilled_messaging', 'aria-describedby': `${fid}-mfn-help` });
  const language = h('select', { id: `${fid}-lang`, name: 'notice_language', 'aria-describedby': `${fid}-lang-help` });
  const saved = h('p', { class: 'alert alert-ok', id: 'settings-saved', role: 'status', hidden: true });
  const error = errorBox();
  const save = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Save');
  let current = null;

  function show(s) {
    current = s;
    address.value = s.customer_service_email || '';
    address.placeholder = s.customer_service_email ? '' : 'support@example.com';
    fulfilled.checked = Boolean(s.marketplace_fulfilled_messaging);
    const langs = Array.isArray(s.notice_languages) && s.notice_languages.length ? s.notice_languages : [s.notice_language];
    replace(language, langs.map((l) => h('option', { value: l, selected: l === s.notice_language }, languageName(l))));
    language.value = s.notice_language;
    if (s.customer_service_email_pending) {
      replace(pending,
        h('p', null, h('strong', null, 'Waiting for confirmation: '), h('span', { class: 'mono', id: 'pending-address-value' }, s.customer_service_email_pending),
          s.pending_since ? ` (asked ${formatDateTime(s.pending_since)})` : ''),
        h('p', null, `A confirmation link went to that address. ${s.customer_service_email
          ? `Until someone opens it and confirms, ${s.customer_service_email} stays in use.`
          : 'It is used once someone opens the link and confirms.'}`));
      pending.hidden = false;
    } else {
      replace(pending);
      pending.hidden = true;
    }
  }

  const form = h('form', { class: 'card prefs settings-form', novalidate: true, 'aria-labelledby': `${fid}-h`, onSubmit: async (ev) => {
    ev.preventDefault();
    error.hide();
    saved.hidden = true;
    address.removeAttribute('aria-invalid');
    // only what changed: the same address again would mail another confirmation link
    const change = {};
    const typed = address.value.trim();
    if (typed !== (current.customer_service_email || '')) {
      if (!typed) return error.show('Give the customer-service address: buyers\' mail and parley\'s notices to the seller need one.', address);
      if (!/^[^\s@]+@[^\s@]+$/.test(typed)) return error.show('That is not an e-mail address: it looks like support@example.com.', address);
      if (typed !== current.customer_service_email_pending) change.customer_service_email = typed;
    }
    if (fulfilled.checked !== Boolean(current.marketplace_fulfilled_messaging)) change.marketplace_fulfilled_messaging = fulfilled.checked;
    if (language.value !== current.notice_language) change.notice_language = language.value;
    if (!Object.keys(change).length) {
      saved.textContent = 'Nothing changed.';
      saved.hidden = false;
      announce(saved.textContent);
      return undefined;
    }
    save.disabled = true;
    save.textContent = 'Saving…';
    await error.run(async () => {
      const res = await api('PUT', base, change);
      show(res.settings);
      saved.textContent = change.customer_service_email && res.settings.customer_service_email_pending
        ? `Saved. A confirmation link went to ${res.settings.customer_service_email_pending}: the new address is used once it is confirmed.`
        : 'Saved.';
      saved.hidden = false;
      announce(saved.textContent);
    }, (e) => {
      if (e.status === 403) return `Only the seller's owner changes ${who} settings.`;
      return `Could not save: ${e.message}`;
    }, { field: change.customer_service_email ? address : null });
    save.disabled = false;
    save.textContent = 'Save';
    return undefined;
  } },
  h('h2', { id: `${fid}-h`, class: 'sr-only' }, 'Messaging settings'),
  h('div', { class: 'field' },
    h('label', { for: address.id }, 'Customer-service e-mail address'),
    address,
    h('p', { class: 'help', id: `${fid}-email-help` }, 'Buyers\' messages are forwarded to this address, and mail from it to buyers counts as the seller\'s reply. A new address is used only once it is confirmed: parley e-mails it a link.')),
  pending,
  h('div', { class: 'field field-inline pref-option' }, fulfilled,
    h('div', null, h('label', { for: fulfilled.id }, 'Message buyers about orders the marketplace fulfils'),
      h('p', { class: 'help', id: `${fid}-mfn-help` }, 'When this is off, buyers of orders the marketplace ships for you cannot start a conversation about them, and you cannot message them about those orders.'))),
  h('div', { class: 'field' },
    h('label', { for: language.id }, 'Language of parley\'s notices'),
    language,
    h('p', { class: 'help', id: `${fid}-lang-help` }, 'The language of the e-mails parley sends your team: notices, digests and deadline alerts.')),
  error.el,
  h('div', { class: 'actions' }, save));

  replace(box, saved, form);
  form.hidden = true; // until the settings are read
  box.setAttribute('aria-busy', 'true');
  try {
    show((await get(base)).settings);
    form.hidden = false;
  } finally {
    box.removeAttribute('aria-busy');
  }
}

/**
 * Settings: the owner's own seller; the operator picks a seller (#/settings?seller=S1).
 */
export async function renderSettings(el, ctx) {
  const { me, query } = ctx;
  const box = h('div', { id: 'settings-box' });
  const pageError = errorBox();
  const explain = (e) => (e.status === 403 ? 'Only the seller\'s owner, or the marketplace operator, sees these settings.'
    : e.status === 404 ? 'There is no such seller.' : `Could not read the settings: ${e.message}`);
  if (me.kind !== 'operator') {
    replace(el,
      h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, 'Settings')),
      h('p', { class: 'help' }, `How ${me.seller_name || 'your shop'} is reached and told about buyers' messages. Each agent chooses their own notices under Notifications.`),
      pageError.el, box);
    await pageError.run(() => sellerSettings(box, me.seller_id, { who: 'the' }), explain);
    return;
  }
  const picked = query.get('seller') || '';
  const fid = uniqueId('seller');
  const select = h('select', { id: `${fid}-pick`, name: 'seller' }, h('option', { value: '' }, 'Choose a seller'));
  const pick = h('form', { class: 'card prefs settings-pick', novalidate: true, 'aria-label': 'Which seller', onSubmit: (ev) => {
    ev.preventDefault();
    ctx.navigate(`#/settings${qs({ seller: select.value })}`);
  } },
  h('div', { class: 'field' }, h('label', { for: select.id }, 'Seller'), select),
  h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn' }, 'Show the settings')));
  replace(el,
    h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, 'Seller settings')),
    h('p', { class: 'help' }, 'A seller\'s customer-service address, messaging about orders the marketplace fulfils, and the language of parley\'s notices to its team.'),
    pageError.el, pick, box);
  await pageError.run(async () => {
    const { sellers } = await get('/v1/sellers');
    const list = [...(sellers || [])].sort((a, b) => String(a.name || a.seller_id).localeCompare(String(b.name || b.seller_id)));
    if (picked && !list.some((x) => x.seller_id === picked)) list.push({ seller_id: picked });
    select.append(...list.map((x) => h('option', { value: x.seller_id, selected: x.seller_id === picked },
      x.name ? `${x.name} (${x.seller_id})` : x.seller_id)));
  }, (e) => `Could not read the sellers: ${e.message}`);
  if (picked) await pageError.run(() => sellerSettings(box, picked, { who: 'its' }), explain);
}

/**
 * The page of the link e-mailed to a new customer-service address
 * (#/confirm-address?seller=S1&token=…), shown with or without a session. Opening it
 * changes nothing (mail scanners follow links): only the button confirms.
 */
export async function renderConfirmAddress(el, ctx) {
  const seller = ctx.query.get('seller') || '';
  const token = ctx.query.get('token') || '';
  const result = h('div', { class: 'alert alert-ok', id: 'confirm-result', role: 'status', hidden: true });
  const error = errorBox({ id: 'confirm-error' });
  const head = h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, 'Confirm the customer-service address'));
  if (!seller || !token) {
    replace(el, h('div', { class: 'signin-wrap' }, h('div', { class: 'card signin confirm-card' }, head,
      h('div', { class: 'alert alert-error', role: 'alert' }, 'This link is not complete. Open the link from the e-mail again, or copy all of it into the address bar.'))));
    return;
  }
  const button = h('button', { type: 'button', class: 'btn btn-primary', id: 'confirm-address', onClick: async () => {
    error.hide();
    button.disabled = true;
    button.textContent = 'Confirming…';
    let done = false;
    await error.run(async () => {
      const res = await post(`/v1/sellers/${encodeURIComponent(seller)}/settings/confirm`, { token });
      result.textContent = `Confirmed: this address is now the customer-service address of ${res.seller || `seller ${seller}`}.`;
      result.hidden = false;
      announce(result.textContent);
      done = true;
    }, (e) => (e.code === 'invalid_token' || e.status === 400 || e.status === 404
      ? 'This link is not valid, or has expired. The seller\'s owner can enter the address again under Settings to get a new link.'
      : `Could not confirm it: ${e.message}`));
    button.textContent = 'Confirm this address';
    button.disabled = done;
    if (done) button.hidden = true;
  } }, 'Confirm this address');
  replace(el, h('div', { class: 'signin-wrap' }, h('div', { class: 'card signin confirm-card' },
    head,
    h('p', null, 'Someone asked to make the address this e-mail reached the customer-service address of a seller on parley (seller ', h('span', { class: 'mono' }, seller), '). parley then forwards buyers\' messages to that seller here, and mail from this address to buyers counts as the seller\'s reply.'),
    h('p', null, 'If that is right, confirm it. If you did not expect this, close the page: nothing changes until the address is confirmed.'),
    error.el, result,
    h('div', { class: 'actions' }, button))));
}
