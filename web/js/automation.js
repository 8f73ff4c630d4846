// automation.js - the approval queue of rule proposals (send, edit and send, discard) and the rules page with its firing log.
import { h, replace, uniqueId, announce, scrollBox } from './dom.js';
import { errorBox } from './errors.js';
import { get, post, api } from './api.js';
import { formatDateTime, topicLabel } from './format.js';
import { purposeLabel } from './templates.js';
import { PRIORITIES, parseTags } from './team.js';

/** The approval queue: pending proposals, oldest first, each with its text and three choices. */
export async function renderProposals(el, ctx) {
  const readOnly = ctx.me.role === 'read_only';
  const count = h('p', { class: 'rn-count', id: 'proposal-count', 'aria-live': 'polite' });
  const list = h('ol', { class: 'proposal-list', id: 'proposal-list', 'aria-label': 'Proposals waiting for approval' });
  const status = h('p', { class: 'list-status', role: 'status' });
  let items = [];

  function card(p) {
    const fid = uniqueId('prop');
    const text = h('textarea', { id: `${fid}-text`, class: 'plain-input', rows: '4', value: p.text, readonly: true, lang: p.language });
    const error = errorBox();
    const buttons = [];
    let editing = false;
    const editBtn = h('button', { type: 'button', class: 'btn', disabled: readOnly, onClick: () => {
      editing = !editing;
      text.readOnly = !editing;
      editBtn.textContent = editing ? 'Undo edits' : 'Edit';
      sendBtn.textContent = editing ? 'Send edited text' : 'Send as is';
      if (!editing) text.value = p.text;
      else text.focus();
    } }, 'Edit');
    const sendBtn = h('button', { type: 'button', class: 'btn btn-primary', disabled: readOnly, onClick: () => send(false) }, 'Send as is');
    const discardBtn = h('button', { type: 'button', class: 'btn btn-quiet', disabled: readOnly, onClick: async () => {
      busy(true);
      await error.run(async () => {
        await post(`/v1/proposals/${encodeURIComponent(p.id)}/discard`);
        done('Proposal discarded.');
      }, problem);
    } }, 'Discard');
    buttons.push(sendBtn, editBtn, discardBtn);

    function busy(b) { for (const x of buttons) x.disabled = b || readOnly; }
    function problem(e) {
      busy(false);
      if (e.code === 'conflict') {
        return [h('p', null, `The conversation changed since the rule fired: ${e.message}`),
          h('button', { type: 'button', class: 'btn', onClick: () => send(true) }, 'Send anyway'),
          ' ', h('a', { href: `#/thread/${p.thread_id}` }, 'Read the thread first')];
      }
      if (e.code === 'policy_violation') {
        return `The marketplace blocked this text: ${e.findings.map((f) => `"${f.text}" (${f.category})`).join(', ')}. Edit it and send again.`;
      }
      return `Could not do that: ${e.message}`;
    }
    async function send(confirm) {
      error.hide();
      if (editing && !text.value.trim()) return error.show('The text is empty.', text);
      busy(true);
      await error.run(async () => {
        const body = { confirm };
        if (editing && text.value !== p.text) body.text = text.value;
        await post(`/v1/proposals/${encodeURIComponent(p.id)}/send`, body);
        done('Reply sent to the buyer.');
      }, problem);
    }
    async function done(words) {
      announce(words);
      const i = items.findIndex((x) => x.id === p.id);
      await load();
      const next = list.querySelectorAll('.proposal')[Math.min(i, items.length - 1)];
      if (next) next.querySelector('h2').focus();
      else list.closest('main').querySelector('h1').focus();
    }

    return h('li', { class: 'card proposal', 'data-proposal': p.id },
      h('h2', { tabindex: '-1' }, `Proposed reply in ${p.thread_id}`),
      h('p', { class: 'muted' }, `Rule ${p.rule} on buyer message ${p.buyer_message} · template ${p.template_id} · ${p.language} · ${formatDateTime(p.created_at)} · `,
        h('a', { href: `#/thread/${p.thread_id}` }, 'Open the thread')),
      h('div', { class: 'field' }, h('label', { for: text.id }, 'Reply to the buyer'), text),
      error.el,
      h('div', { class: 'actions' }, buttons));
  }

  async function load() {
    items = (await get('/v1/proposals?state=pending')).proposals || [];
    items.sort((a, b) => (a.created_at < b.created_at ? -1 : 1));
    replace(list, items.map(card));
    count.textContent = items.length === 0 ? 'Nothing waits for approval' : items.length === 1 ? '1 proposal waits for approval' : `${items.length} proposals wait for approval`;
    count.classList.toggle('has-work', items.length > 0);
    status.textContent = items.length ? '' : 'Rules that propose a reply put it here; nothing is sent before someone approves it.';
  }

  replace(el,
    h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, 'Approval queue'), count),
    h('p', { class: 'help' }, 'Replies your rules proposed for new buyer messages. Send them as they are, edit them first, or discard them. ',
      h('a', { href: '#/rules' }, 'Rules and their log')),
    status,
    list);
  await load();
}

function conditionText(c = {}) {
  const parts = [];
  if (c.words && c.words.length) parts.push(`words: ${c.words.join(', ')}`);
  if (c.topics && c.topics.length) parts.push(`topic: ${c.topics.map(topicLabel).join(', ')}`);
  if (c.order_status && c.order_status.length) parts.push(`order ${c.order_status.join(' or ')}`);
  if (c.languages && c.languages.length) parts.push(`language ${c.languages.join(', ')}`);
  if (c.min_order_age_days != null) parts.push(`order at least ${c.min_order_age_days} days old`);
  if (c.max_order_age_days != null) parts.push(`order at most ${c.max_order_age_days} days old`);
  return parts.length ? parts.join('; ') : 'every new buyer message';
}

function actionText(a, templates) {
  if (a.type === 'assign') return a.agent_id === 'round_robin' ? 'assign round-robin' : `assign to agent ${a.agent_id}`;
  if (a.type === 'tag') return `tag ${a.tag}`;
  if (a.type === 'priority') return `priority ${a.priority}`;
  if (a.type === 'propose') {
    const t = templates.find((x) => x.id === a.template_id);
    return `propose ${t ? t.name : a.template_id}`;
  }
  return a.type;
}

/** The rules page: rules with their conditions and actions, a form for a new rule, the firing log. */
export async function renderRules(el, ctx) {
  const owner = ctx.me.role === 'owner';
  const list = h('ul', { class: 'rule-list', id: 'rule-list', 'aria-label': 'Rules' });
  const log = h('tbody');
  const formBox = h('div');
  const status = h('p', { class: 'list-status', role: 'status' });
  let templates = [];

  async function load() {
    const [r, f, t] = await Promise.all([get('/v1/rules'), get('/v1/rule-firings?limit=100'), get('/v1/templates')]);
    templates = t.templates || [];
    const rules = r.rules || [];
    replace(list, rules.map((x) => h('li', { class: 'card rule', 'data-rule': x.id },
      h('div', { class: 'tpl-card-head' }, h('h2', null, x.name), h('span', { class: 'muted mono' }, x.id),
        h('span', { class: ['badge', x.enabled ? 'status-delivered' : 'badge-na'] }, x.enabled ? 'On' : 'Off'),
        x.auto_send ? h('span', { class: 'badge state-response_needed' }, 'Sends without approval') : null,
        x.failures ? h('span', { class: 'badge status-rejected' }, `Failed ${x.failures}×`) : null),
      x.last_failure ? h('p', { class: 'rule-failure', role: 'status' }, h('strong', null, 'Last failure: '),
        `${formatDateTime(x.last_failure.at)} on ${x.last_failure.message}: ${x.last_failure.reason}. Save the rule again once it is fixed.`) : null,
      h('p', null, h('strong', null, 'When: '), conditionText(x.conditions)),
      h('p', null, h('strong', null, 'Then: '), (x.actions || []).map((a) => actionText(a, templates)).join('; ')),
      owner ? h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'btn btn-small', 'aria-label': `${x.enabled ? 'Turn off' : 'Turn on'} ${x.name}`, onClick: async () => {
          try { await api('PUT', `/v1/rules/${x.id}`, { ...x, enabled: !x.enabled }); await load(); } catch (e) { if (e.status !== 401) status.textContent = e.message; }
        } }, x.enabled ? 'Turn off' : 'Turn on'),
        h('button', { type: 'button', class: 'btn btn-small btn-quiet', 'aria-label': `Delete ${x.name}`, onClick: async () => {
          try { await api('DELETE', `/v1/rules/${x.id}`); announce(`${x.name} deleted.`); await load(); } catch (e) { if (e.status !== 401) status.textContent = e.message; }
        } }, 'Delete')) : null)));
    if (!rules.length) list.append(h('li', { class: 'muted' }, 'No rules yet.'));
    replace(log, (f.firings || []).map((x) => h('tr', null,
      h('td', null, formatDateTime(x.created_at)), h('td', { class: 'mono' }, x.rule),
      h('td', null, h('a', { href: `#/thread/${x.thread}` }, x.thread), ' ', h('span', { class: 'mono' }, x.message)),
      h('td', null, x.action), h('td', null, x.outcome))));
    if (!(f.firings || []).length) log.append(h('tr', null, h('td', { colspan: '5', class: 'muted' }, 'No rule has fired yet.')));
  }

  function newRule() {
    const fid = uniqueId('rule');
    const name = h('input', { id: `${fid}-name`, required: true });
    const words = h('input', { id: `${fid}-words`, 'aria-describedby': `${fid}-words-help` });
    const tag = h('input', { id: `${fid}-tag` });
    const prio = h('select', { id: `${fid}-prio` }, h('option', { value: '' }, 'Leave as is'), PRIORITIES.map(([v, l]) => h('option', { value: v }, l)));
    const rr = h('input', { type: 'checkbox', id: `${fid}-rr` });
    const tpl = h('select', { id: `${fid}-tpl` }, h('option', { value: '' }, 'No proposal'), templates.map((t) => h('option', { value: t.id }, `${t.name} (${purposeLabel(t.purpose)})`)));
    const values = h('input', { id: `${fid}-values`, 'aria-describedby': `${fid}-values-help` });
    const auto = h('input', { type: 'checkbox', id: `${fid}-auto` });
    const error = errorBox();
    const form = h('form', { class: 'card rule-form', novalidate: true, onSubmit: async (ev) => {
      ev.preventDefault();
      error.hide();
      if (!name.value.trim()) return error.show('Give the rule a name.', name);
      const actions = [];
      if (rr.checked) actions.push({ type: 'assign', agent_id: 'round_robin' });
      if (tag.value.trim()) {
        const p = parseTags(tag.value);
        if (p.error) return error.show(p.error, tag);
        for (const t of p.tags) actions.push({ type: 'tag', tag: t });
      }
      if (prio.value) actions.push({ type: 'priority', priority: prio.value });
      if (tpl.value) {
        const v = {};
        for (const pair of values.value.split(/[;\n]/).map((x) => x.trim()).filter(Boolean)) {
          const i = pair.indexOf('=');
          if (i < 1) return error.show(`"${pair}" is not NAME=value.`, values);
          v[pair.slice(0, i).trim().toUpperCase()] = pair.slice(i + 1).trim();
        }
        actions.push({ type: 'propose', template_id: tpl.value, values: v });
      }
      if (!actions.length) return error.show('Choose at least one action.', rr);
      const w = words.value.split(',').map((x) => x.trim()).filter(Boolean);
      await error.run(async () => {
        await post('/v1/rules', { name: name.value.trim(), enabled: true, auto_send: auto.checked, conditions: w.length ? { words: w } : {}, actions });
        announce('Rule created.');
        formBox.replaceChildren();
        await load();
      });
    } },
    h('h2', null, 'New rule'),
    h('div', { class: 'field' }, h('label', { for: name.id }, 'Name'), name),
    h('div', { class: 'field' }, h('label', { for: words.id }, 'When the buyer\'s message has any of these words'), words,
      h('p', { class: 'help', id: `${fid}-words-help` }, 'Separated by commas; empty for every message.')),
    h('div', { class: 'field field-inline' }, rr, h('label', { for: rr.id }, 'Assign round-robin')),
    h('div', { class: 'field-row' },
      h('div', { class: 'field' }, h('label', { for: tag.id }, 'Tag'), tag),
      h('div', { class: 'field' }, h('label', { for: prio.id }, 'Priority'), prio)),
    h('div', { class: 'field-row' },
      h('div', { class: 'field' }, h('label', { for: tpl.id }, 'Propose a reply from'), tpl),
      h('div', { class: 'field' }, h('label', { for: values.id }, 'Values'), values,
        h('p', { class: 'help', id: `${fid}-values-help` }, 'NAME=value; NAME=value, for example TIMEFRAME=2 days'))),
    h('div', { class: 'field field-inline' }, auto, h('label', { for: auto.id }, 'Send without approval when the text passes the policy')),
    error.el,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create rule'),
      h('button', { type: 'button', class: 'btn', onClick: () => formBox.replaceChildren() }, 'Cancel')));
    replace(formBox, form);
    name.focus();
  }

  replace(el,
    h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, 'Rules'),
      owner ? h('button', { type: 'button', class: 'btn btn-primary', id: 'new-rule', onClick: newRule }, 'New rule') : null),
    h('p', { class: 'help' }, 'Rules act on every new buyer message, oldest rule first. Proposed replies wait in the ', h('a', { href: '#/proposals' }, 'approval queue'), '.'),
    formBox, status, list,
    h('h2', null, 'Firing log'),
    scrollBox('table-wrap', 'Rule firings', h('table', { class: 'table', id: 'firings' },
      h('thead', null, h('tr', null, ['When', 'Rule', 'Thread and message', 'Action', 'Outcome'].map((x) => h('th', { scope: 'col' }, x)))),
      log)));
  await load();
}
