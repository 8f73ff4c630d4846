// operator.js - the operator's pages: review queue (approve or reject held messages, retrain the classifier from them), sellers by risk, violations, restrictions and quotas.
import { h, replace, announce, uniqueId, scrollBox } from './dom.js';
import { errorBox } from './errors.js';
import { get, post } from './api.js';
import { highlighted, findingsList } from './compose.js';
import { locate, categoryLabel } from './policy.js';
import { enforcementSection, measureForm } from './performance.js';
import { formatDateTime, formatPercent, formatRate, crtStatusLabel, formatAgo } from './format.js';

function head(title, intro) {
  return [h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, title)), intro ? h('p', { class: 'muted' }, intro) : null];
}

/** One held message: its text with the findings marked, the findings, a note and the decision. */
function heldItem(m, names, onDecided) {
  const located = locate(m.text, (m.policy && m.policy.findings) || []);
  const text = h('div', { class: 'msg-text' });
  if (located.length) highlighted(m.text, located, text);
  else text.textContent = m.text;
  const noteId = uniqueId('note');
  const note = h('textarea', { id: noteId, name: 'note', rows: '2', class: 'editor-text plain-input note-input', 'aria-describedby': `${noteId}-help` });
  const error = errorBox();
  const li = h('li', { class: 'card held', 'data-message': m.id });
  const decide = async (approve, button) => {
    error.hide();
    for (const b of li.querySelectorAll('button')) b.disabled = true;
    button.textContent = approve ? 'Approving…' : 'Rejecting…';
    await error.run(async () => {
      const body = note.value.trim() ? { note: note.value.trim() } : {};
      await post(`/v1/messages/${encodeURIComponent(m.id)}/${approve ? 'approve' : 'reject'}`, body);
      onDecided(m, approve, li);
    }, (e) => {
      if (e.code === 'conflict') {
        onDecided(m, null, li, e.message);
        return null;
      }
      for (const b of li.querySelectorAll('button')) b.disabled = false;
      button.textContent = approve ? 'Approve and deliver' : 'Reject';
      return `Could not ${approve ? 'approve' : 'reject'}: ${e.message}`;
    });
  };
  const approveBtn = h('button', { type: 'button', class: 'btn btn-primary', onClick: (ev) => decide(true, ev.currentTarget) }, 'Approve and deliver');
  const rejectBtn = h('button', { type: 'button', class: 'btn btn-danger', onClick: (ev) => decide(false, ev.currentTarget) }, 'Reject');
  const cats = [...new Set(located.map((f) => categoryLabel(f.category)))].join(', ');
  return replace(li,
    h('div', { class: 'held-head' },
      h('h2', null, h('span', { class: 'sr-only' }, 'Message '), h('span', { class: 'mono' }, m.id), ` from ${names.get(m.seller_id) || 'seller'} (${m.seller_id})`),
      h('span', { class: 'muted' }, 'in ', h('a', { href: `#/thread/${encodeURIComponent(m.thread_id)}` }, `thread ${m.thread_id}`),
        ' · held ', h('time', { datetime: m.at, title: formatDateTime(m.at) }, formatAgo(m.at)))),
    text,
    located.length ? h('div', { class: 'msg-findings' },
      h('p', { class: 'msg-findings-title' }, `The content policy found: ${cats}`),
      findingsList(located)) : h('p', { class: 'muted' }, 'No findings recorded.'),
    h('div', { class: 'field' }, h('label', { for: noteId }, 'Note (optional)'), note,
      h('p', { class: 'help', id: `${noteId}-help` }, 'Kept in the audit log with your decision.')),
    error.el,
    h('div', { class: 'actions' }, approveBtn, rejectBtn),
    h('p', { class: 'help' }, 'Approving delivers the message to the buyer. Rejecting keeps it undelivered and counts as a violation for the seller.'));
}

/** The review queue: held seller messages, oldest first. */
function modelLine(m) {
  if (!m.version) return 'The content policy runs without its classifier.';
  if (!m.trained) return `Checks messages with the shipped model (${m.version}).`;
  const t = m.trained;
  const own = `its own model ${t.version}, trained ${formatAgo(t.trained_at)} by ${t.trained_by} on ${t.decisions} decision${t.decisions === 1 ? '' : 's'}`;
  return m.version === t.version ? `Checks messages with ${own}.` : `Has ${own}; this server still checks with ${m.version}.`;
}

/** What each marketplace's classifier learned from the operator's decisions, and a way to retrain it. */
function learningSection() {
  const list = h('div', { class: 'learn-list', id: 'learn-list' });
  const section = h('section', { class: 'learn', 'aria-labelledby': 'learn-title' },
    h('h2', { id: 'learn-title' }, 'What the classifier learns from your decisions'),
    h('p', { class: 'muted' }, 'Each approval or rejection of a message held for off-platform contact, a review request, a promotion or profanity is an example for its marketplace. Retraining makes the next verdicts of that marketplace follow them; links, contact details and [Important] stay with the rules.'),
    list);
  const card = (m) => {
    const status = h('p', { class: 'alert alert-ok', role: 'status', hidden: true });
    const error = errorBox();
    const fresh = m.new_decisions;
    const learns = m.learn_decision_weight > 0;
    const button = h('button', { type: 'button', class: 'btn btn-primary', disabled: !learns || !fresh }, 'Retrain with these decisions');
    button.addEventListener('click', async () => {
      error.hide();
      button.disabled = true;
      button.textContent = 'Training…';
      await error.run(async () => {
        const r = await post('/v1/admin/policy/train', { marketplace_id: m.marketplace_id });
        await refresh();
        const done = list.querySelector(`[data-marketplace="${CSS.escape(m.marketplace_id)}"] [role="status"]`);
        done.textContent = `Trained ${r.version} on ${r.decisions} decision${r.decisions === 1 ? '' : 's'} (${r.violations} rejected). This server checks with it now, the others within 15 seconds.`;
        done.hidden = false;
        announce(done.textContent);
      }, (e) => {
        button.disabled = false;
        button.textContent = 'Retrain with these decisions';
        return `Could not retrain: ${e.message}`;
      });
    });
    return h('div', { class: 'card learn-card', 'data-marketplace': m.marketplace_id },
      h('h3', null, m.name ? `${m.name} (${m.marketplace_id})` : `Marketplace ${m.marketplace_id}`),
      h('p', { class: 'learn-model' }, modelLine(m)),
      h('p', { class: 'learn-counts', 'data-new': String(fresh) }, m.decisions
        ? `${m.decisions} decision${m.decisions === 1 ? '' : 's'} kept (${m.violations} rejected), ${fresh} since ${m.trained ? 'the last training' : 'the start'}.`
        : 'No decisions yet.'),
      learns ? null : h('p', { class: 'help' }, 'This marketplace learns nothing from decisions (its setting learn_decision_weight is 0).'),
      learns && !fresh ? h('p', { class: 'help' }, m.trained ? 'Nothing new to learn since the last training.' : 'Decide held messages above: each decision is something to learn.') : null,
      error.el, status,
      h('div', { class: 'actions' }, button));
  };
  const refresh = async () => {
    const { models } = await get('/v1/admin/policy/models');
    replace(list, models.length ? models.map(card) : h('p', { class: 'list-status' }, 'No marketplace yet.'));
  };
  return { section, refresh };
}

export async function renderReviewQueue(el) {
  const [data, sellers] = await Promise.all([get('/v1/review-queue'),
    get('/v1/sellers').catch((e) => { if (e.status === 401) throw e; return { sellers: [] }; })]);
  const names = new Map((sellers.sellers || []).map((x) => [x.seller_id, x.name]));
  const messages = data.messages || [];
  const count = h('p', { class: 'rn-count', 'aria-live': 'polite', id: 'queue-count' });
  const list = h('ol', { class: 'held-list', id: 'held-list', 'aria-label': 'Held messages' });
  const result = h('div', { class: 'alert alert-ok', role: 'status', hidden: true, id: 'decision' });
  let left = messages.length;
  const setCount = () => {
    count.textContent = left === 1 ? '1 message waits' : `${left} messages wait`;
    count.classList.toggle('has-work', left > 0);
  };
  const onDecided = (m, approve, li, conflict) => {
    left -= 1;
    setCount();
    const next = li.nextElementSibling || li.previousElementSibling;
    li.remove();
    result.textContent = conflict ? `Already decided: ${conflict}`
      : approve ? `Approved: message ${m.id} was delivered to the buyer.` : `Rejected: message ${m.id} stays undelivered and counts as a violation for seller ${m.seller_id}.`;
    result.hidden = false;
    announce(result.textContent);
    if (!left) list.replaceWith(h('p', { class: 'list-status', id: 'queue-empty' }, 'Nothing waits for review.'));
    else if (next) (next.querySelector('button') || next).focus();
    learning.refresh().catch(() => {}); /* the counts follow the decision; the queue does not wait for them */
  };
  const learning = learningSection();
  await learning.refresh();
  setCount();
  replace(list, messages.map((m) => heldItem(m, names, onDecided)));
  replace(el, head('Review queue', 'Seller messages the content policy held for a person to decide, oldest first. The marked parts are what the policy found.'),
    count, result,
    messages.length ? list : h('p', { class: 'list-status', id: 'queue-empty' }, 'Nothing waits for review.'),
    learning.section);
}

function measures(en) {
  const out = [];
  if (en.restriction.active) out.push(h('span', { class: 'badge badge-measure' }, `Restricted until ${formatDateTime(en.restriction.until)}`));
  if (en.quota.active) out.push(h('span', { class: 'badge badge-measure' }, `Quota ${en.quota.per_day}/day`));
  if (en.suspension.flagged) out.push(h('span', { class: 'badge sev-severe' }, 'Flagged for suspension'));
  return out.length ? out : [h('span', { class: 'muted' }, 'None')];
}

/** Sellers by risk, riskiest first (the server's order): 30-day metrics and measures. */
export async function renderSellers(el) {
  const { sellers } = await get('/v1/sellers');
  const rows = (sellers || []).map((x, i) => {
    const m = x.metrics;
    const c = m.crt;
    const flag = m.no_response_needed;
    return h('tr', { 'data-seller': x.seller_id },
      h('td', null, String(i + 1)),
      h('th', { scope: 'row' }, h('a', { href: `#/sellers/${encodeURIComponent(x.seller_id)}` }, x.name || x.seller_id),
        h('span', { class: 'muted' }, ` ${x.seller_id} · ${x.marketplace_id}`)),
      h('td', null, h('span', { class: 'crt-cell' }, c.percent === null ? '—' : formatPercent(c.percent), ' ',
        h('span', { class: ['badge', `crt-${c.status}`] }, crtStatusLabel(c.status))),
      h('span', { class: 'muted cell-sub' }, `${c.on_time} on time · ${c.late} late`)),
      h('td', null, m.complaints && m.complaints.percent !== null ? formatPercent(m.complaints.percent) : '—',
        m.complaints && m.complaints.at_risk ? h('span', { class: 'badge crt-at_risk' }, 'At risk') : null),
      h('td', null, String(m.deadlines.overdue_count)),
      h('td', null, formatRate(flag.rate), flag.over_flagging ? h('span', { class: 'badge badge-warn' }, 'Over-flagging') : null),
      h('td', null, String(x.enforcement.warnings)),
      h('td', null, measures(x.enforcement)));
  });
  replace(el, head('Sellers by risk', 'Riskiest first: measures in force, warnings, contact response time (CRT), the complaint rate and overdue messages over the last 30 days. Open a seller for the full performance page, violations and measures.'),
    rows.length ? scrollBox('table-wrap', 'Sellers by risk', h('table', { class: 'table', id: 'sellers' },
      h('caption', { class: 'sr-only' }, 'Sellers, riskiest first'),
      h('thead', null, h('tr', null, ['#', 'Seller', 'CRT (30 days)', 'Complaints', 'Overdue', 'No response needed', 'Warnings', 'Measures'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', null, rows)))
      : h('p', { class: 'list-status' }, 'No sellers.'));
}

/** Every seller's enforcement record (the list, then one request per seller). */
async function allEnforcement() {
  const { sellers } = await get('/v1/sellers');
  const list = sellers || [];
  const ens = await Promise.all(list.map((x) => get(`/v1/sellers/${encodeURIComponent(x.seller_id)}/enforcement`)));
  return list.map((x, i) => ({ seller: x, en: ens[i] }));
}

/** Violations of the last 90 days, every seller, newest first. */
export async function renderViolations(el) {
  const all = await allEnforcement();
  const rows = all.flatMap(({ seller, en }) => (en.violations || []).map((v) => ({ seller, v })))
    .sort((a, b) => Date.parse(b.v.at) - Date.parse(a.v.at));
  replace(el, head('Violations', 'Policy violations of the last 90 days, newest first: each blocked or rejected seller message records one per category found.'),
    rows.length ? scrollBox('table-wrap', 'Violations', h('table', { class: 'table', id: 'violations' },
      h('caption', { class: 'sr-only' }, `${rows.length} violations`),
      h('thead', null, h('tr', null, ['When', 'Seller', 'Category', 'Severity', 'Message', 'Rule'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', null, rows.map(({ seller, v }) => h('tr', { 'data-seller': seller.seller_id },
        h('td', null, formatDateTime(v.at)),
        h('td', null, h('a', { href: `#/sellers/${encodeURIComponent(seller.seller_id)}` }, seller.name || seller.seller_id)),
        h('td', null, categoryLabel(v.category)),
        h('td', null, h('span', { class: ['badge', v.severity === 'severe' ? 'sev-severe' : 'sev-minor'] }, v.severity === 'severe' ? 'Severe' : 'Minor')),
        h('td', { class: 'mono' }, v.message_id || '—'),
        h('td', { class: 'mono' }, v.rule || '—'))))))
      : h('p', { class: 'list-status', id: 'no-violations' }, 'No violations in the last 90 days.'));
}

/** Restrictions and quotas: each seller's measures, with the form to impose or lift one. */
export async function renderRestrictions(el) {
  const all = await allEnforcement();
  const sections = all.map(({ seller, en }) => {
    const box = h('div', null, enforcementSection(en, { operator: true }));
    const hid = uniqueId('seller');
    return h('section', { class: 'seller-measures', 'aria-labelledby': hid, 'data-seller': seller.seller_id },
      h('h2', { id: hid }, h('a', { href: `#/sellers/${encodeURIComponent(seller.seller_id)}` }, seller.name || seller.seller_id), h('span', { class: 'muted' }, ` ${seller.seller_id}`)),
      h('div', { class: 'measures-layout' },
        box,
        measureForm(seller.seller_id, async () => {
          const fresh = await get(`/v1/sellers/${encodeURIComponent(seller.seller_id)}/enforcement`);
          replace(box, enforcementSection(fresh, { operator: true }));
        })));
  });
  replace(el, head('Restrictions and quotas', 'Measures in force for each seller, with their reasons. A restriction stops proactive messages (replies stay allowed); a quota caps the messages a day. The seller sees every reason.'),
    sections.length ? sections : h('p', { class: 'list-status' }, 'No sellers.'));
}
