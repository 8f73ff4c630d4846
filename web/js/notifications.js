// notifications.js - the Notifications page of every agent: when parley tells the agent about buyers' messages (each one, a digest, deadlines only, nothing), about which threads, by e-mail and in the message center; a digest on demand.
import { h, replace, uniqueId, announce } from './dom.js';
import { errorBox } from './errors.js';
import { get, post, api } from './api.js';
import { formatDateTime } from './format.js';
import { notificationsState, askNotifications } from './live.js';

/** Each mode the server offers, in the words of the page: [label, help]. */
const MODE_WORDS = {
  each: ['Each new buyer message', 'A notice as soon as a buyer writes.'],
  hourly: ['An hourly digest', 'At the top of each hour, the threads waiting for an answer (none is sent when nothing waits).'],
  daily: ['A daily digest', 'Each day at 08:00 UTC, the threads waiting for an answer (none is sent when nothing waits).'],
  deadlines: ['Deadline alerts only', 'Nothing but the deadline alerts.'],
  none: ['Nothing', 'No notices at all: the inbox still shows everything.'],
};
const SCOPES = [
  ['assigned', 'Only threads assigned to me'],
  ['all', 'All of the seller\'s threads'],
];

/** One sentence that says what the choices mean, for the status line after a save. */
export function describeChoices(n) {
  if (n.mode === 'none') return 'You get no notices.';
  const what = { each: 'a notice for each new buyer message', hourly: 'an hourly digest', daily: 'a daily digest', deadlines: 'deadline alerts only' }[n.mode] || n.mode;
  const which = n.scope === 'assigned' ? 'threads assigned to you' : 'all of the seller\'s threads';
  const how = [n.email ? 'by e-mail' : null, n.browser ? 'in the browser' : null].filter(Boolean);
  return `You get ${what}, about ${which}, ${how.length ? how.join(' and ') : 'by no way at all (choose e-mail or the browser)'}.`;
}

export async function renderNotifications(el, ctx) {
  const fid = uniqueId('notif');
  const pageError = errorBox();
  const saved = h('p', { class: 'alert alert-ok', id: 'notif-saved', role: 'status', hidden: true });
  const formError = errorBox();
  const modeBox = h('div', { class: 'pref-options' });
  const scopeBox = h('div', { class: 'pref-options' }, SCOPES.map(([value, label]) => h('div', { class: 'topic-option pref-option' },
    h('input', { type: 'radio', name: 'scope', id: `${fid}-scope-${value}`, value }),
    h('label', { for: `${fid}-scope-${value}` }, label))));
  const email = h('input', { type: 'checkbox', id: `${fid}-email`, name: 'email', 'aria-describedby': `${fid}-email-help` });
  const emailHelp = h('p', { class: 'help', id: `${fid}-email-help` });
  const browser = h('input', { type: 'checkbox', id: `${fid}-browser`, name: 'browser', 'aria-describedby': `${fid}-browser-help` });
  const browserHelp = h('p', { class: 'help', id: `${fid}-browser-help` });
  const save = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Save');
  const nextDigest = h('p', { class: 'help', id: 'next-digest' });
  let current = null;

  // the agent's own addresses: e-mail needs one
  const addressBox = h('div', { class: 'notif-address', id: 'notif-address' });
  const digestStatus = h('p', { class: 'help', id: 'digest-status', role: 'status' });
  const digestError = errorBox();
  const digest = h('button', { type: 'button', class: 'btn', id: 'digest-now', onClick: async () => {
    digestError.hide();
    digestStatus.textContent = '';
    digest.disabled = true;
    await digestError.run(async () => {
      const res = await post('/v1/me/notifications/digest');
      const n = res.threads;
      const to = current && current.address ? current.address : 'your address';
      digestStatus.textContent = n
        ? `Sent: a digest of the ${n === 1 ? 'thread' : `${n} threads`} waiting for an answer is on its way to ${to}.`
        : `Sent: a digest is on its way to ${to} (no thread waits for an answer now).`;
      announce(digestStatus.textContent);
    }, (e) => {
      if (e.status === 429) return 'You asked for a digest less than a minute ago. Wait a minute, then try again.';
      if (e.code === 'no_address') return 'A digest goes by e-mail: register an e-mail address first (above).';
      return `Could not send the digest: ${e.message}`;
    });
    digest.disabled = false;
  } }, 'Send me a digest now');

  function addressForm() {
    const input = h('input', { type: 'email', id: `${fid}-addr`, name: 'address', autocomplete: 'email', inputmode: 'email', 'aria-describedby': `${fid}-addr-help` });
    const err = errorBox();
    const add = h('button', { type: 'submit', class: 'btn' }, 'Register the address');
    return h('form', { class: 'notif-address-form', novalidate: true, 'aria-label': 'Register an e-mail address', onSubmit: async (ev) => {
      ev.preventDefault();
      err.hide();
      const value = input.value.trim();
      if (!value || !value.includes('@')) return err.show('Give an e-mail address, such as ann@example.com.', input);
      add.disabled = true;
      await err.run(async () => {
        await post(`/v1/agents/${encodeURIComponent(ctx.me.agent_id)}/addresses`, { email: value });
        announce('Address registered.');
        await load();
      }, (e) => (e.code === 'already_exists' ? 'Another agent of the seller registered this address already.' : `Could not register it: ${e.message}`), { field: input });
      add.disabled = false;
    } },
    h('div', { class: 'field' }, h('label', { for: input.id }, 'Your e-mail address'), input,
      h('p', { class: 'help', id: `${fid}-addr-help` }, 'It becomes one of your registered addresses: parley e-mails your notices to it, and you may answer buyers by e-mail from it.')),
    err.el,
    h('div', { class: 'actions' }, add));
  }

  function show(n) {
    current = n;
    for (const part of parts) part.hidden = false;
    const modes = Array.isArray(n.modes) && n.modes.length ? n.modes : Object.keys(MODE_WORDS);
    replace(modeBox, modes.map((m) => {
      const [label, help] = MODE_WORDS[m] || [m, ''];
      const id = `${fid}-mode-${m}`;
      return h('div', { class: 'topic-option pref-option' },
        h('input', { type: 'radio', name: 'mode', id, value: m, checked: m === n.mode, 'aria-describedby': help ? `${id}-help` : null }),
        h('div', null, h('label', { for: id }, label), help ? h('p', { class: 'help', id: `${id}-help` }, help) : null));
    }));
    for (const r of scopeBox.querySelectorAll('input')) r.checked = r.value === n.scope;
    email.checked = Boolean(n.email);
    browser.checked = Boolean(n.browser);
    emailHelp.textContent = n.address
      ? `To ${n.address}, your first registered address.`
      : 'You have no registered e-mail address yet, so nothing can be e-mailed to you: register one below.';
    const permission = notificationsState();
    replace(browserHelp, 'Deadline alerts at the top of these pages, and as desktop notifications when this browser allows them',
      permission === 'granted' ? ' (it does).' : permission === 'denied' ? ' (it does not: the browser\'s site settings can change that).' : '.');
    if (permission === 'default') {
      browserHelp.append(' ', h('button', { type: 'button', class: 'btn-link', id: 'allow-desktop', onClick: async () => {
        await askNotifications();
        window.dispatchEvent(new CustomEvent('parley:notifications-permission'));
        show(current);
      } }, 'Allow desktop notifications'));
    }
    replace(addressBox, n.address
      ? h('p', null, 'E-mail goes to ', h('strong', { id: 'notif-address-value' }, n.address), '.')
      : [h('p', { class: 'alert alert-info', id: 'notif-no-address' }, 'You have no registered e-mail address. Register one to get notices and digests by e-mail.'), addressForm()]);
    replace(nextDigest, n.next_digest_at && (n.mode === 'hourly' || n.mode === 'daily')
      ? `Next digest: ${formatDateTime(n.next_digest_at)}.` : '');
  }

  const form = h('form', { class: 'card prefs notif-form', novalidate: true, 'aria-labelledby': `${fid}-h`, onSubmit: async (ev) => {
    ev.preventDefault();
    formError.hide();
    saved.hidden = true;
    const mode = form.querySelector('input[name="mode"]:checked');
    const scope = form.querySelector('input[name="scope"]:checked');
    if (!mode) return formError.show('Choose when to be told.', form.querySelector('input[name="mode"]'));
    if (!scope) return formError.show('Choose which threads.', form.querySelector('input[name="scope"]'));
    save.disabled = true;
    save.textContent = 'Saving…';
    await formError.run(async () => {
      const res = await api('PUT', '/v1/me/notifications', { mode: mode.value, scope: scope.value, email: email.checked, browser: browser.checked });
      show(res.notifications);
      saved.textContent = `Saved. ${describeChoices(res.notifications)}`;
      saved.hidden = false;
      announce(saved.textContent);
    }, (e) => `Could not save: ${e.message}`);
    save.disabled = false;
    save.textContent = 'Save';
  } },
  h('h2', { id: `${fid}-h`, class: 'sr-only' }, 'Your choices'),
  h('fieldset', { class: 'topics', 'aria-describedby': `${fid}-mode-help` }, h('legend', null, 'When to tell me'),
    h('p', { class: 'help', id: `${fid}-mode-help` }, 'Every choice but Nothing brings deadline alerts too: when a thread is close to its deadline (by default, 4 hours before).'),
    modeBox),
  h('fieldset', { class: 'topics' }, h('legend', null, 'About which threads'), scopeBox),
  h('fieldset', { class: 'topics' }, h('legend', null, 'How'),
    h('div', { class: 'pref-options' },
      h('div', { class: 'topic-option pref-option' }, email, h('div', null, h('label', { for: email.id }, 'By e-mail'), emailHelp)),
      h('div', { class: 'topic-option pref-option' }, browser, h('div', null, h('label', { for: browser.id }, 'In the browser'), browserHelp)))),
  nextDigest,
  formError.el,
  h('div', { class: 'actions' }, save));

  async function load() {
    const res = await get('/v1/me/notifications');
    show(res.notifications);
  }

  // shown once the choices are read
  const parts = [form,
    h('section', { class: 'card prefs notif-side', 'aria-labelledby': `${fid}-mail-h` },
      h('h2', { id: `${fid}-mail-h` }, 'Where e-mail goes'),
      addressBox),
    h('section', { class: 'card prefs notif-side', 'aria-labelledby': `${fid}-digest-h` },
      h('h2', { id: `${fid}-digest-h` }, 'A digest now'),
      h('p', { class: 'help' }, 'An e-mail that lists the threads waiting for an answer now.'),
      digestError.el,
      h('div', { class: 'actions' }, digest),
      digestStatus)];
  for (const part of parts) part.hidden = true;
  replace(el,
    h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, 'Notifications')),
    h('p', { class: 'help' }, 'What parley tells you about buyers\' messages, and how. Each agent of the team makes their own choice.'),
    pageError.el, saved, parts);
  form.setAttribute('aria-busy', 'true');
  await pageError.run(load, (e) => (e.status === 403 ? 'Notifications are for the seller\'s agents.' : `Could not read your notifications: ${e.message}`));
  form.removeAttribute('aria-busy');
}
