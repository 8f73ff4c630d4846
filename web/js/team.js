// team.js - a thread's team panel (assignee, tags, priority), who else is replying, and the composition lock.
import { h, replace, uniqueId, announce } from './dom.js';
import { get, post, api } from './api.js';

export const PRIORITIES = [['low', 'Low'], ['normal', 'Normal'], ['high', 'High'], ['urgent', 'Urgent']];
const HEARTBEAT_MS = 30000; // the server drops a lock 120 s after the last heartbeat

let agentsCache = null;
/** The seller's agents (cached for the session's page life). */
export async function agents() {
  if (!agentsCache) agentsCache = get('/v1/agents').then((d) => d.agents || []).catch(() => { agentsCache = null; return []; });
  return agentsCache;
}

export function agentName(list, id) {
  const a = list.find((x) => x.id === id);
  return a ? a.name : `agent ${id}`;
}

/** "refund, late-parcel" → ["refund","late-parcel"]; null with a reason when invalid. */
export function parseTags(text) {
  const tags = [...new Set(text.split(/[\s,]+/).map((t) => t.trim().toLowerCase()).filter(Boolean))];
  const bad = tags.find((t) => !/^[a-z0-9_-]+$/.test(t));
  if (bad) return { error: `"${bad}" is not a tag: use lower-case letters, digits, - and _.` };
  if (tags.length > 20) return { error: 'At most 20 tags.' };
  return { tags };
}

/** The panel beside a thread: assignment (by hand or round-robin), tags and priority. */
export function teamPanel({ threadId, readOnly, onChanged }) {
  const id = uniqueId('team');
  const assignee = h('select', { id: `${id}-assignee`, name: 'assignee', disabled: readOnly });
  const rr = h('button', { type: 'button', class: 'btn btn-small', id: 'assign-rr', disabled: readOnly }, 'Round-robin');
  const tagInput = h('input', { id: `${id}-tags`, name: 'tags', autocomplete: 'off', disabled: readOnly, 'aria-describedby': `${id}-tags-help` });
  const tagSave = h('button', { type: 'submit', class: 'btn btn-small', disabled: readOnly }, 'Save tags');
  const tagChips = h('ul', { class: 'tag-list', 'aria-label': 'Current tags' });
  const priority = h('select', { id: `${id}-priority`, name: 'priority', disabled: readOnly }, PRIORITIES.map(([v, l]) => h('option', { value: v }, l)));
  const msg = h('p', { class: 'help team-msg', role: 'status' });
  let list = [];

  // What the server said last, per field: a field whose value still is that (or that has
  // never been set) follows the server; one the agent has changed, or is using, is left
  // alone until it is saved.
  let shownTags = null;
  let shownPriority = null;

  async function act(fn, done) {
    msg.textContent = '';
    try {
      await fn();
      announce(done);
      msg.textContent = done;
      onChanged();
    } catch (e) {
      if (e.status === 409) msg.textContent = 'Nobody is available for round-robin: every agent is away.';
      else if (e.status !== 401) msg.textContent = `Could not save: ${e.message}`;
    }
  }

  assignee.addEventListener('change', () => {
    const v = assignee.value ? Number(assignee.value) : null;
    act(() => post(`/v1/threads/${encodeURIComponent(threadId)}/assign`, { agent_id: v }), v ? `Assigned to ${agentName(list, v)}.` : 'Unassigned.');
  });
  rr.addEventListener('click', () => act(async () => {
    const r = await post(`/v1/threads/${encodeURIComponent(threadId)}/assign`, { round_robin: true });
    msg.dataset.assignee = r.assignee_id;
  }, 'Assigned by round-robin.'));
  priority.addEventListener('change', () => act(() => api('PUT', `/v1/threads/${encodeURIComponent(threadId)}/priority`, { priority: priority.value }), `Priority set to ${priority.value}.`));
  const tagForm = h('form', { class: 'tag-form', novalidate: true, onSubmit: (ev) => {
    ev.preventDefault();
    const p = parseTags(tagInput.value);
    if (p.error) { msg.textContent = p.error; tagInput.focus(); return; }
    act(async () => {
      await api('PUT', `/v1/threads/${encodeURIComponent(threadId)}/tags`, { tags: p.tags });
      tagInput.value = shownTags = p.tags.join(', '); // saved: the field follows the server again
    }, p.tags.length ? `Tags saved: ${p.tags.join(', ')}.` : 'Tags removed.');
  } },
  h('label', { for: tagInput.id }, 'Tags'),
  h('div', { class: 'tag-row' }, tagInput, tagSave),
  h('p', { class: 'help', id: `${id}-tags-help` }, 'Separated by commas: lower-case letters, digits, - and _.'));

  const el = h('aside', { class: 'card team-panel', 'aria-labelledby': `${id}-h` },
    h('h2', { id: `${id}-h` }, 'Team'),
    h('div', { class: 'field' }, h('label', { for: assignee.id }, 'Assigned to'), h('div', { class: 'tag-row' }, assignee, rr)),
    h('div', { class: 'field' }, h('label', { for: priority.id }, 'Priority'), priority),
    tagChips,
    tagForm,
    msg);

  return {
    el,
    async update(thread) {
      list = await agents();
      const current = thread.assignee_id || null;
      if (document.activeElement !== assignee) {
        replace(assignee, h('option', { value: '' }, 'Nobody'),
          list.filter((a) => a.role !== 'read_only' && a.active !== false).map((a) => h('option', { value: String(a.id), selected: a.id === current },
            `${a.name}${a.available ? '' : ' (away)'}`)));
        if (current && !list.some((a) => a.id === current)) assignee.append(h('option', { value: String(current), selected: true }, `agent ${current}`));
      }
      const p = thread.priority || 'normal';
      if (document.activeElement !== priority && (shownPriority === null || priority.value === shownPriority)) priority.value = p;
      shownPriority = p;
      const tags = thread.tags || [];
      const text = tags.join(', ');
      if (document.activeElement !== tagInput && (shownTags === null || tagInput.value === shownTags)) tagInput.value = text;
      shownTags = text;
      replace(tagChips, tags.map((t) => h('li', { class: 'tag' }, t)));
    },
  };
}

/** "Sam Chen is replying" from the thread's `replying`, for everyone but the lock's holder. */
export function replyingNotice(replying, me) {
  if (!replying || replying.agent_id === me.agent_id) return null;
  return `${replying.name || `Agent ${replying.agent_id}`} is replying`;
}

/**
 * The caller's composition lock on a thread: take() when the agent starts typing (and as the
 * heartbeat, at most every 30 s), release() when the draft is dropped or the page is left.
 * onState(replying) gets the server's answer; a 409 means another agent holds it.
 */
export function compositionLock(threadId, { onState }) {
  let held = false;
  let last = 0;
  let inflight = null;
  const path = `/v1/threads/${encodeURIComponent(threadId)}/lock`;
  return {
    held: () => held,
    async take(force = false) {
      const now = Date.now();
      if (inflight || (!force && held && now - last < HEARTBEAT_MS)) return;
      last = now;
      inflight = post(path, {}).then((r) => {
        held = true;
        onState(r.replying, null);
      }).catch((e) => {
        held = false;
        if (e.status === 409) onState(null, e);
      }).finally(() => { inflight = null; });
      await inflight;
    },
    forget() { held = false; },
    release() {
      if (!held) return;
      held = false;
      api('DELETE', path).catch(() => {});
    },
  };
}
