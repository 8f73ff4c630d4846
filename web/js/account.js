// account.js - accounts: forgotten password, reset and invitation links (signed out), the
// Security page (password, two-step sign-in, sessions) and the owner's Team page.
import { h, replace, announce, uniqueId } from './dom.js';
import { errorBox } from './errors.js';
import { get, post, api } from './api.js';
import { formatDateTime } from './format.js';

const MIN_PASSWORD = 10;

/** A field: label, input, optional help (wired with aria-describedby). */
function field(label, input, help) {
  const id = input.id || uniqueId('f');
  input.id = id;
  const helpEl = help ? h('p', { class: 'help', id: `${id}-help` }, help) : null;
  if (helpEl) input.setAttribute('aria-describedby', helpEl.id);
  return h('div', { class: 'field' }, h('label', { for: id }, label), input, helpEl);
}

/** A new password twice, checked as the server does; check() returns an error or null. */
function newPasswordFields(prefix, label = 'New password') {
  const pw = h('input', { id: `${prefix}-password`, type: 'password', autocomplete: 'new-password', required: true });
  const again = h('input', { id: `${prefix}-again`, type: 'password', autocomplete: 'new-password', required: true });
  return {
    pw,
    nodes: [field(label, pw, `At least ${MIN_PASSWORD} characters; a few unrelated words make a good one.`),
      field('The same password again', again)],
    check(email) {
      if ([...pw.value].length < MIN_PASSWORD) return [`The password needs at least ${MIN_PASSWORD} characters.`, pw];
      if (email && pw.value.toLowerCase() === email.toLowerCase()) return ['The password must not be your e-mail address.', pw];
      if (pw.value !== again.value) return ['The two passwords differ: type the same one twice.', again];
      return null;
    },
    clear() { pw.value = ''; again.value = ''; },
  };
}

/** What a password refusal of the server means for people. */
function passwordError(e) {
  if (e.code === 'weak_password' || e.code === 'password_too_long') return e.message.replace(/^./, (c) => c.toUpperCase()) + '.';
  return null;
}

function card(title, ...children) {
  return h('div', { class: 'signin-wrap' }, h('div', { class: 'card signin' }, h('h1', { tabindex: '-1' }, title), ...children));
}

/** #/forgot-password: asks for a reset link; the answer is the same whatever the address. */
export async function renderForgotPassword(el) {
  const email = h('input', { id: 'reset-email', type: 'email', autocomplete: 'username', inputmode: 'email', required: true });
  const error = errorBox();
  const done = h('p', { class: 'alert alert-ok', role: 'status', id: 'reset-sent', hidden: true });
  const button = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Mail me a link');
  const form = h('form', { novalidate: true, onSubmit: async (ev) => {
    ev.preventDefault();
    error.hide();
    const value = email.value.trim();
    if (!value.includes('@')) return error.show('Enter the e-mail address you sign in with.', email);
    button.disabled = true;
    await error.run(async () => {
      await post('/v1/password-reset', { email: value });
      done.textContent = `If ${value} has an account, a link to choose a new password is on its way. It works for an hour, once.`;
      done.hidden = false;
      announce(done.textContent);
    }, (e) => (e.status === 429 ? 'Too many links were asked for from here. Wait a while, then try again.' : e.message));
    button.disabled = false;
  } }, field('E-mail address', email), error.el, done, h('div', { class: 'actions' }, button));
  replace(el, card('Forgot your password?',
    h('p', null, 'Enter the address you sign in with: parley mails it a link to choose a new password.'),
    form, h('p', null, h('a', { href: '#/signin' }, 'Back to sign in'))));
  document.title = 'Forgot your password · parley';
}

/** #/reset-password?token=…: a new password from the mailed link; every session ends. */
export async function renderResetPassword(el, ctx) {
  const token = ctx.query.get('token') || '';
  const error = errorBox();
  const done = h('p', { class: 'alert alert-ok', role: 'status', id: 'reset-done', hidden: true });
  const np = newPasswordFields('reset');
  const button = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Set the new password');
  const form = h('form', { novalidate: true, onSubmit: async (ev) => {
    ev.preventDefault();
    error.hide();
    const bad = np.check();
    if (bad) return error.show(...bad);
    button.disabled = true;
    let ok = false;
    await error.run(async () => {
      await post('/v1/password-reset/confirm', { token, password: np.pw.value });
      ok = true;
    }, (e) => (e.code === 'invalid_token'
      ? 'This link is not valid any more: it was used, a newer one was asked for, or it is older than an hour. Ask for a new link.'
      : passwordError(e) || e.message));
    if (ok) {
      np.clear();
      form.hidden = true;
      replace(done, 'Your password is set, and every session signed in before is signed out. ', h('a', { href: '#/signin' }, 'Sign in'));
      done.hidden = false;
      announce('Your password is set.');
    }
    button.disabled = false;
  } }, ...np.nodes, h('div', { class: 'actions' }, button));
  replace(el, token ? card('Choose a new password', error.el, done, form)
    : card('Choose a new password', h('div', { class: 'alert alert-error', role: 'alert' },
      'This link is not complete. Open the link from the e-mail again, or ', h('a', { href: '#/forgot-password' }, 'ask for a new one'), '.')));
  document.title = 'Choose a new password · parley';
}

/** #/accept-invitation?token=…: joins a seller's team (or the operators) and signs in. */
export async function renderAcceptInvitation(el, ctx) {
  const token = ctx.query.get('token') || '';
  const error = errorBox();
  const name = h('input', { id: 'invite-name', type: 'text', autocomplete: 'name', required: true });
  const np = newPasswordFields('invite', 'Password');
  const button = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Accept and sign in');
  const form = h('form', { novalidate: true, onSubmit: async (ev) => {
    ev.preventDefault();
    error.hide();
    if (!name.value.trim()) return error.show('Enter your name, as your team will see it.', name);
    const bad = np.check();
    if (bad) return error.show(...bad);
    button.disabled = true;
    let ok = false;
    await error.run(async () => {
      await post('/v1/invitations/accept', { token, name: name.value.trim(), password: np.pw.value });
      ok = true;
    }, (e) => {
      if (e.code === 'invalid_token') return 'This invitation is not valid any more: it was used, revoked, or is older than 7 days. Ask for a new one.';
      if (e.code === 'already_exists') return 'This address has an account already: sign in with it instead.';
      return passwordError(e) || e.message;
    }, { signingIn: true });
    button.disabled = false;
    if (ok) {
      np.clear();
      announce('Welcome to parley.');
      await ctx.adopt();
    }
  } }, field('Your name', name, 'Your team and the operator see it.'), ...np.nodes, h('div', { class: 'actions' }, button));
  replace(el, token ? card('Accept the invitation', h('p', null, 'You were invited to parley. Choose your name and a password to sign in with this e-mail address.'), error.el, form)
    : card('Accept the invitation', h('div', { class: 'alert alert-error', role: 'alert' }, 'This link is not complete. Open the link from the e-mail again.')));
  document.title = 'Accept the invitation · parley';
}

/* ---- the Security page -------------------------------------------------------------- */

function passwordSection(acct, reload) {
  // an address not confirmed yet: the person may set it (and the password) again
  const pendingAddress = acct && !acct.verified ? acct.email : null;
  const account = acct && acct.verified ? acct : null;
  const error = errorBox();
  const ok = h('p', { class: 'alert alert-ok', role: 'status', hidden: true });
  const current = h('input', { id: 'current-password', type: 'password', autocomplete: 'current-password' });
  const email = h('input', { id: 'account-email', type: 'email', autocomplete: 'username', inputmode: 'email' });
  const np = newPasswordFields('new');
  const button = h('button', { type: 'submit', class: 'btn btn-primary' }, account ? 'Change the password' : 'Set the password');
  const form = h('form', { novalidate: true, 'aria-labelledby': 'sec-password', onSubmit: async (ev) => {
    ev.preventDefault();
    error.hide();
    ok.hidden = true;
    const address = account ? account.email : email.value.trim();
    if (!account && !address.includes('@')) return error.show('Enter the e-mail address to sign in with.', email);
    if (account && !current.value) return error.show('Enter your current password.', current);
    const bad = np.check(address);
    if (bad) return error.show(...bad);
    button.disabled = true;
    await error.run(async () => {
      const body = account ? { current_password: current.value, password: np.pw.value } : { email: address, password: np.pw.value };
      const res = await api('PUT', '/v1/me/password', body);
      current.value = '';
      np.clear();
      ok.textContent = account
        ? `Password changed.${res.sessions_revoked ? ` ${res.sessions_revoked} other session${res.sessions_revoked === 1 ? ' was' : 's were'} signed out.` : ''}`
        : `Almost done: open the link parley mailed to ${address} to confirm it. Then you sign in with it and this password.`;
      announce(ok.textContent);
      await reload(account ? null : ok.textContent);
    }, (e) => {
      if (e.code === 'wrong_password') return error.show('Your current password is not right.', current);
      if (e.code === 'already_exists') return 'That address belongs to another account.';
      if (e.status === 429) return 'Too many addresses were set in the last hour. Wait a while, then try again.';
      return passwordError(e) || e.message;
    });
    button.disabled = false;
  } },
  account ? h('p', null, 'You sign in as ', h('strong', null, account.email), '. Password set ', formatDateTime(account.password_set_at), '.')
    : pendingAddress ? h('p', { class: 'alert alert-info', id: 'confirm-pending' }, 'A link to confirm ', h('strong', null, pendingAddress),
      ' was mailed to it. Open it to sign in with this address and your password; or set another address below.')
      : h('p', null, 'You signed in with an access token. Set an e-mail address and a password to sign in with them instead.'),
  account ? field('Current password', current) : field('E-mail address', email),
  ...np.nodes, error.el, ok, h('div', { class: 'actions' }, button));
  return h('section', { class: 'card', id: 'password-section' }, h('h2', { id: 'sec-password' }, 'Password'), form);
}

/** The recovery codes, shown once after they are made, above the Security page's cards. */
function showCodes(codes) {
  const list = h('ol', { class: 'recovery-codes', id: 'recovery-codes' }, codes.map((c) => h('li', null, h('code', null, c))));
  const copy = h('button', { type: 'button', class: 'btn', onClick: async () => {
    try {
      await navigator.clipboard.writeText(codes.join('\n'));
      copy.textContent = 'Copied';
    } catch {
      copy.textContent = 'Select the codes and copy them';
    }
  } }, 'Copy the codes');
  const card = h('section', { class: 'card alert-warn', id: 'recovery-section', 'aria-labelledby': 'recovery-title', tabindex: '-1' },
    h('h2', { id: 'recovery-title' }, 'Your recovery codes'),
    h('p', null, 'Keep them somewhere safe, apart from your phone: each one lets you sign in once in place of the app\'s code. They are shown only now; parley keeps none of them readable.'),
    list, h('div', { class: 'actions' }, copy));
  const at = document.getElementById('totp-section');
  if (at) at.before(card);
  card.focus();
}

function totpSection(acct, reload) {
  const account = acct && acct.verified ? acct : null;
  const box = h('section', { class: 'card', id: 'totp-section' }, h('h2', { id: 'sec-totp' }, 'Two-step sign-in'));
  if (!account) {
    box.append(h('p', null, 'Set a password (and confirm your address) first; then you can add a code of an authenticator app to it.'));
    return box;
  }
  const error = errorBox();
  const code = h('input', { id: 'totp-code', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: '6', required: true });
  const status = h('p', { class: 'help', role: 'status' });
  const codeError = (e) => (e.code === 'totp_invalid' ? 'That code is not right, or was used already: enter the code the app shows now.'
    : e.status === 429 ? 'Too many codes were tried. Wait a while, then try again.' : e.message);
  const sixDigits = (input) => {
    const value = input.value.trim();
    if (!/^\d{6}$/.test(value)) {
      error.show('Enter the 6 digits the app shows now.', input);
      return null;
    }
    return value;
  };
  async function switchIt(on) {
    error.hide();
    const value = sixDigits(code);
    if (!value) return;
    await error.run(async () => {
      const r = await api(on ? 'POST' : 'DELETE', on ? '/v1/me/totp/confirm' : '/v1/me/totp', { code: value });
      announce(on ? 'Two-step sign-in is on.' : 'Two-step sign-in is off.');
      await reload();
      if (on) showCodes(r.recovery_codes);
    }, codeError);
  }
  if (account.totp) {
    const left = account.recovery_codes_left;
    const renewCode = h('input', { id: 'recovery-renew-code', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: '6', required: true });
    const renew = h('form', { novalidate: true, id: 'recovery-renew', onSubmit: async (ev) => {
      ev.preventDefault();
      error.hide();
      const value = sixDigits(renewCode);
      if (!value) return;
      await error.run(async () => {
        const r = await post('/v1/me/totp/recovery-codes', { code: value });
        await reload();
        showCodes(r.recovery_codes);
      }, codeError);
    } }, field('A current code of the app, for new recovery codes', renewCode), h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'btn' }, 'New recovery codes')));
    box.append(h('p', null, h('strong', null, 'On. '), 'Signing in asks for your password and a code of your authenticator app.'),
      h('p', { id: 'recovery-left', 'data-left': String(left), class: left <= 2 ? 'field-error' : null },
        left === 1 ? '1 recovery code left' : `${left} recovery codes left`,
        ' (each lets you in once if you lose your phone).', left <= 2 ? ' Make new ones now.' : ''),
      renew,
      h('form', { novalidate: true, onSubmit: (ev) => { ev.preventDefault(); switchIt(false); } },
        field('A current code, to turn it off', code), error.el,
        h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn btn-danger' }, 'Turn two-step sign-in off'))));
    return box;
  }
  const setup = h('div', { id: 'totp-setup' });
  const start = h('button', { type: 'button', class: 'btn', id: 'totp-start', onClick: async () => {
    error.hide();
    start.disabled = true;
    await error.run(async () => {
      const t = await post('/v1/me/totp');
      replace(setup,
        h('p', null, 'Add this account to your authenticator app: type the key, or give the app this address (the content of a setup QR code).'),
        h('dl', { class: 'totp-secret' },
          h('dt', null, 'Key'), h('dd', null, h('code', { id: 'totp-secret' }, t.secret)),
          h('dt', null, 'Setup address'), h('dd', null, h('code', { id: 'totp-uri', class: 'break' }, t.otpauth_uri))),
        h('form', { novalidate: true, onSubmit: (ev) => { ev.preventDefault(); switchIt(true); } },
          field('Code from the app', code, 'Six digits, new every 30 seconds.'), error.el,
          h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Turn two-step sign-in on'))));
      start.hidden = true;
      code.focus();
    });
    start.disabled = false;
  } }, account.totp_pending ? 'Start again with a new key' : 'Set up two-step sign-in');
  box.append(h('p', null, 'Off. With it on, signing in also asks for a code of an authenticator app on your phone.'),
    setup, h('div', { class: 'actions' }, start), status);
  if (!setup.contains(error.el)) box.append(error.el);
  return box;
}

function sessionsSection(sessions, reload, signedOut) {
  const error = errorBox();
  const rows = sessions.map((x) => h('tr', { dataset: { session: String(x.id) } },
    h('td', null, x.user_agent || 'Unknown browser', x.current ? h('strong', null, ' (this one)') : null),
    h('td', null, x.signed_in_with === 'token' ? 'Access token' : 'Password'),
    h('td', null, formatDateTime(x.created_at)),
    h('td', null, x.last_used_at ? formatDateTime(x.last_used_at) : '—'),
    h('td', null, h('button', { type: 'button', class: 'btn btn-small btn-danger', 'aria-label': `Sign out ${x.current ? 'this session' : `the session of ${x.user_agent || 'an unknown browser'}`}`,
      onClick: async () => {
        await error.run(async () => {
          await api('DELETE', `/v1/me/sessions/${x.id}`);
          if (x.current) return signedOut();
          announce('Signed out there.');
          await reload();
        });
      } }, 'Sign out'))));
  const everywhere = h('button', { type: 'button', class: 'btn btn-danger', id: 'signout-everywhere', onClick: async () => {
    await error.run(async () => {
      await post('/v1/me/sessions/revoke-all', { keep_current: keep.checked });
      if (!keep.checked) return signedOut();
      announce('Signed out everywhere else.');
      await reload();
    });
  } }, 'Sign out everywhere');
  const keep = h('input', { type: 'checkbox', id: 'keep-current', checked: true });
  return h('section', { class: 'card', id: 'sessions-section' }, h('h2', null, 'Where you are signed in'),
    h('div', { class: 'table-wrap' }, h('table', { class: 'table', id: 'session-list' },
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Browser'), h('th', { scope: 'col' }, 'Signed in with'),
        h('th', { scope: 'col' }, 'Since'), h('th', { scope: 'col' }, 'Last seen'), h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Action')))),
      h('tbody', null, rows.length ? rows : h('tr', { class: 'table-empty' }, h('td', { colspan: '5' }, 'No browser session: you use an access token.'))))),
    error.el,
    h('div', { class: 'field field-inline' }, keep, h('label', { for: 'keep-current' }, 'Keep this browser signed in')),
    h('div', { class: 'actions' }, everywhere));
}

/** #/security: the signed-in person's password, two-step sign-in and sessions. */
export async function renderSecurity(el, ctx) {
  async function load(said) {
    const [{ account }, { sessions }] = await Promise.all([get('/v1/me/account'), get('/v1/me/sessions')]);
    const done = said ? h('p', { class: 'alert alert-ok', role: 'status', id: 'security-said' }, said) : null;
    replace(el, h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, 'Security')), done,
      h('div', { class: 'stack' },
        passwordSection(account, load), totpSection(account, load), sessionsSection(sessions, () => load(), ctx.signedOut)));
  }
  await load();
}

/** #/confirm-account?token=…: the address of a new account is the person's. Loading the
 *  page changes nothing (mail scanners open links): only the button confirms. */
export async function renderConfirmAccount(el, ctx) {
  const token = ctx.query.get('token') || '';
  const error = errorBox();
  const done = h('p', { class: 'alert alert-ok', role: 'status', id: 'account-confirmed', hidden: true });
  const button = h('button', { type: 'button', class: 'btn btn-primary', onClick: async () => {
    error.hide();
    button.disabled = true;
    let ok = false;
    await error.run(async () => {
      await post('/v1/account/confirm', { token });
      ok = true;
    }, (e) => (e.code === 'invalid_token'
      ? 'This link is not valid any more: it was used, a newer one was sent, or it is older than 48 hours. Set your password again on the Security page for a new one.'
      : e.message));
    button.disabled = ok;
    if (ok) {
      button.hidden = true;
      replace(done, 'Confirmed: you can now sign in with this address and your password. ', h('a', { href: '#/signin' }, 'Sign in'));
      done.hidden = false;
      announce('Your address is confirmed.');
    }
  } }, 'Confirm my address');
  replace(el, token ? card('Confirm your address',
    h('p', null, 'Someone set this address and a password to sign in to parley. If it was you, confirm it; if not, close this page: nothing signs in with it.'),
    error.el, done, h('div', { class: 'actions' }, button))
    : card('Confirm your address', h('div', { class: 'alert alert-error', role: 'alert' }, 'This link is not complete. Open the link from the e-mail again.')));
  document.title = 'Confirm your address · parley';
}

/* ---- the owner's Team page ------------------------------------------------------------ */

const ROLES = [['agent', 'Agent: answers buyers'], ['read_only', 'Read only: reads, answers nothing'], ['owner', 'Owner: runs the team and its settings']];
const roleName = (r) => ({ owner: 'Owner', agent: 'Agent', read_only: 'Read only', operator: 'Operator' }[r] || r);

/** #/team: the seller's agents, invitations and who is away. */
export async function renderTeam(el) {
  const error = errorBox();
  const invError = errorBox();
  const sent = h('p', { class: 'alert alert-ok', role: 'status', id: 'invite-sent', hidden: true });
  const email = h('input', { id: 'invite-email', type: 'email', autocomplete: 'off', inputmode: 'email', required: true });
  const role = h('select', { id: 'invite-role' }, ROLES.map(([v, label]) => h('option', { value: v }, label)));
  const agentsBox = h('div', { id: 'team-agents' });
  const invitesBox = h('div', { id: 'team-invitations' });

  async function load() {
    const [{ agents }, { invitations }] = await Promise.all([get('/v1/agents'), get('/v1/invitations')]);
    replace(agentsBox, h('div', { class: 'table-wrap' }, h('table', { class: 'table', id: 'agent-table' },
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'Role'), h('th', { scope: 'col' }, 'Status'),
        h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Action')))),
      h('tbody', null, agents.filter((a) => a.active !== false).map((a) => h('tr', { dataset: { agent: String(a.id) } },
        h('th', { scope: 'row' }, a.name), h('td', null, roleName(a.role)), h('td', null, a.available ? 'Available' : 'Away'),
        h('td', null, h('button', { type: 'button', class: 'btn btn-small', 'aria-label': `${a.available ? 'Set away' : 'Set available'}: ${a.name}`,
          onClick: async () => {
            await error.run(async () => {
              await api('PUT', `/v1/agents/${a.id}/availability`, { available: !a.available });
              announce(`${a.name} is ${a.available ? 'away' : 'available'} now.`);
              await load();
            });
          } }, a.available ? 'Set away' : 'Set available'))))))));
    const pending = invitations.filter((i) => i.state === 'pending');
    replace(invitesBox, pending.length
      ? h('ul', { class: 'plain-list', id: 'invitation-list' }, pending.map((i) => h('li', { dataset: { invitation: String(i.id) } },
        h('span', null, `${i.email} · ${roleName(i.role)} · until ${formatDateTime(i.expires_at)} `),
        h('button', { type: 'button', class: 'btn btn-small btn-danger', 'aria-label': `Revoke the invitation of ${i.email}`, onClick: async () => {
          await error.run(async () => {
            await api('DELETE', `/v1/invitations/${i.id}`);
            announce(`The invitation of ${i.email} is revoked.`);
            await load();
          });
        } }, 'Revoke'))))
      : h('p', { class: 'help', id: 'no-invitations' }, 'No invitation is pending.'));
  }

  const button = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Send the invitation');
  const form = h('form', { novalidate: true, 'aria-labelledby': 'invite-head', onSubmit: async (ev) => {
    ev.preventDefault();
    invError.hide();
    sent.hidden = true;
    const value = email.value.trim();
    if (!value.includes('@')) return invError.show('Enter the e-mail address to invite.', email);
    button.disabled = true;
    await invError.run(async () => {
      await post('/v1/invitations', { email: value, role: role.value });
      email.value = '';
      sent.textContent = `Invited: a link to join is on its way to ${value}. It works for 7 days, once.`;
      sent.hidden = false;
      announce(sent.textContent);
      await load();
    }, (e) => (e.code === 'too_many_invitations' ? 'Too many invitations are pending: revoke some first.' : e.message));
    button.disabled = false;
  } }, field('E-mail address', email), field('Role', role), invError.el, sent, h('div', { class: 'actions' }, button));

  replace(el, h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, 'Team')), error.el,
    h('div', { class: 'stack' },
      h('section', { class: 'card' }, h('h2', null, 'Agents'), agentsBox,
        h('p', { class: 'help' }, 'Away agents get no threads by round-robin. Each agent chooses how they are told of new messages on their own ', h('a', { href: '#/notifications' }, 'Notifications'), ' page (yours too).')),
      h('section', { class: 'card' }, h('h2', { id: 'invite-head' }, 'Invite someone'), form),
      h('section', { class: 'card' }, h('h2', null, 'Pending invitations'), invitesBox)));
  await load();
}
