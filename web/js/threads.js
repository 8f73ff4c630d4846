// threads.js - thread lists: the seller's inbox, the buyer's messages and the operator's view of all threads.
import { h, replace, announce, srOnly } from './dom.js';
import { get, post, api, qs } from './api.js';
import { onLive } from './live.js';
import { topicLabel, stateLabel, timeLeft, formatAgo, formatDateTime, formatDate } from './format.js';
import { agents, parseTags } from './team.js';

const FILTERS = [
  ['response_needed', 'Response needed'],
  ['unanswered', 'Unanswered'],
  ['sent', 'Sent'],
  ['all', 'All'],
  ['archived', 'Archived'],
];

const SEARCH_BY = [
  ['auto', 'Anything'],
  ['order_id', 'Order ID'],
  ['asin', 'ASIN'],
  ['alias', 'Buyer alias'],
  ['buyer', 'Buyer name'],
  ['q', 'Message text'],
];

const ORDER_ID = /^\d{3}-\d{7}-\d{7}$/;
const ASIN = /^(B0[A-Z0-9]{8}|(?=[A-Z0-9]*\d)[A-Z0-9]{10})$/;

/** Which API parameter a search term is for, when the user picked "Anything". */
export function guessSearchField(term) {
  const t = term.trim();
  if (ORDER_ID.test(t)) return 'order_id';
  if (ASIN.test(t.toUpperCase()) && /^B0/i.test(t)) return 'asin';
  if (ASIN.test(t)) return 'asin';
  if (/^[a-z0-9]+@relay\./i.test(t) || /^[^\s@]+@[^\s@]+$/.test(t)) return 'alias';
  return 'q';
}

/** The badge of time left to answer, coloured by urgency; null when nothing waits. */
export function dueBadge(thread, now = Date.now()) {
  if (!thread.response_due_at || thread.state !== 'response_needed') return null;
  const t = timeLeft(thread.response_due_at, now);
  return h('span', { class: ['due', `due-${t.level}`], 'data-due': thread.response_due_at, title: `Respond by ${formatDateTime(thread.response_due_at)}` },
    h('span', { 'aria-hidden': 'true' }, t.text), srOnly(t.label));
}

/** Updates every time-left badge under root to the current time. */
export function refreshDueBadges(root) {
  const now = Date.now();
  for (const el of root.querySelectorAll('[data-due]')) {
    const t = timeLeft(el.dataset.due, now);
    el.className = `due due-${t.level}`;
    el.firstChild.textContent = t.text;
    el.lastChild.textContent = t.label;
  }
}

/** Who wrote the list's line of the latest message, as the reader calls them. */
function previewWho(from, kind) {
  if (kind === 'buyer') return from === 'buyer' ? 'You: ' : 'Seller: ';
  if (kind === 'agent') return from === 'seller' ? 'Your team: ' : '';
  return from === 'buyer' ? 'Buyer: ' : 'Seller: ';
}

function threadRow(t, kind, team = [], select = null) {
  const subject = t.order_id ? `Order ${t.order_id}` : t.asin ? `Product ${t.asin}` : '';
  let title;
  if (kind === 'buyer') title = t.seller_name || t.seller_id;
  else if (kind === 'operator') title = `${t.seller_name || t.seller_id} · ${t.buyer_name || t.buyer_alias || 'buyer'}`;
  else title = t.buyer_name || t.buyer_alias || 'Buyer';
  return h('li', { class: ['thread-row', t.unread && 'is-unread', select && 'is-selectable'], 'data-thread': t.id },
    select ? h('input', { type: 'checkbox', class: 'row-select', checked: select.has(t.id), 'aria-label': `Select ${title}, ${subject}`,
      onChange: (ev) => select.toggle(t.id, ev.target.checked) }) : null,
    h('a', { class: 'thread-link', href: `#/thread/${t.id}` },
      h('span', { class: 'row-main' },
        h('span', { class: 'row-title' },
          t.unread ? h('span', { class: 'unread-dot', 'aria-hidden': 'true' }) : null,
          t.unread ? srOnly('Unread: ') : null,
          title),
        h('span', { class: 'row-sub' }, [subject, topicLabel(t.topic)].filter(Boolean).join(' · ')),
        t.preview ? h('span', { class: 'row-preview' }, previewWho(t.preview.from, kind), t.preview.text) : null,
        kind !== 'buyer' && t.buyer_alias ? h('span', { class: 'row-alias' }, t.buyer_alias) : null,
        kind === 'agent' && ((t.tags && t.tags.length) || t.assignee_id || (t.priority && t.priority !== 'normal'))
          ? h('span', { class: 'row-team' },
            t.priority && t.priority !== 'normal' ? h('span', { class: ['badge', `prio-${t.priority}`] }, `Priority ${t.priority}`) : null,
            t.assignee_id ? h('span', { class: 'row-assignee' }, `Assigned to ${(team.find((a) => a.id === t.assignee_id) || {}).name || `agent ${t.assignee_id}`}`) : null,
            (t.tags || []).map((tag) => h('span', { class: 'tag' }, tag))) : null),
      h('span', { class: 'row-meta' },
        kind !== 'buyer' && t.state ? h('span', { class: ['badge', `state-${t.state}`] }, stateLabel(t.state)) : null,
        kind !== 'buyer' ? dueBadge(t) : null,
        h('time', { datetime: t.last_message_at, title: formatDateTime(t.last_message_at) }, formatAgo(t.last_message_at)))));
}

/** Renders the list page for the signed-in kind; returns its teardown. */
export async function renderThreadList(el, ctx) {
  const kind = ctx.me.kind;
  const base = kind === 'agent' ? '#/inbox' : kind === 'buyer' ? '#/messages' : '#/threads';
  const hasFilters = kind !== 'buyer';
  const state = {
    filter: ctx.query.get('filter') || (kind === 'agent' ? 'response_needed' : 'all'),
    by: ctx.query.get('by') || 'auto',
    term: ctx.query.get('term') || '',
    assignee: ctx.query.get('assignee') || '',
    tag: ctx.query.get('tag') || '',
    threads: [],
    cursor: null,
    all: ctx.query.get('all') === 'true', // not only the marketplace's last days
  };
  if (!FILTERS.some(([f]) => f === state.filter)) state.filter = 'all';

  const heading = kind === 'agent' ? 'Inbox' : kind === 'buyer' ? 'Your messages' : 'All threads';
  const count = h('p', { class: 'rn-count', id: 'rn-count', 'aria-live': 'polite' });
  const list = h('ul', { class: 'thread-list', id: 'thread-list', 'aria-label': 'Threads', 'aria-busy': 'true' });
  const status = h('p', { class: 'list-status', role: 'status' });
  const more = h('button', { type: 'button', class: 'btn', id: 'load-more', hidden: true, onClick: () => load(true) }, 'Load more');
  // The seller's inbox shows the last days the marketplace sets, and every thread waiting for an answer.
  const windowNote = h('p', { class: 'list-window muted', id: 'inbox-window', hidden: true });

  const filterButtons = FILTERS.map(([f, label]) => h('button', {
    type: 'button', class: 'tab', 'data-filter': f, 'aria-pressed': String(f === state.filter),
    onClick: () => { state.filter = f; syncTabs(); load(false); },
  }, label));
  function syncTabs() {
    for (const b of filterButtons) b.setAttribute('aria-pressed', String(b.dataset.filter === state.filter));
  }

  const byId = 'search-by';
  const termInput = h('input', { id: 'search-term', type: 'search', name: 'term', value: state.term, autocomplete: 'off',
    placeholder: kind === 'buyer' ? 'Words in your messages' : 'Order ID, ASIN, alias or words' });
  const bySelect = h('select', { id: byId, name: 'by' }, SEARCH_BY.map(([v, l]) => h('option', { value: v, selected: v === state.by }, l)));
  const search = h('form', { class: 'search', role: 'search', 'aria-label': 'Search threads', onSubmit: (ev) => {
    ev.preventDefault();
    state.term = termInput.value.trim();
    state.by = bySelect.value;
    if (tagFilter) state.tag = tagFilter.value.trim().toLowerCase();
    load(false);
  } },
  kind === 'buyer' ? null : h('div', { class: 'field' }, h('label', { for: byId }, 'Search in'), bySelect),
  h('div', { class: 'field field-grow' }, h('label', { for: 'search-term' }, 'Search'), termInput),
  h('div', { class: 'search-actions' },
    h('button', { type: 'submit', class: 'btn btn-primary' }, 'Search'),
    h('button', { type: 'button', class: 'btn btn-quiet', onClick: () => {
      termInput.value = '';
      state.term = '';
      bySelect.value = 'auto';
      state.by = 'auto';
      if (tagFilter) { tagFilter.value = ''; state.tag = ''; assigneeSelect.value = ''; state.assignee = ''; }
      load(false);
    } }, 'Clear')));

  const team = kind === 'agent' ? await agents() : [];

  // Bulk actions (agents who may write): the threads ticked in the list, kept across live
  // reloads while they are listed; each action is one API call a thread, and the bar says
  // what was done and what was refused.
  const canBulk = kind === 'agent' && ctx.me.role !== 'read_only';
  const chosen = new Set();
  const bulkCount = h('span', { class: 'bulk-count', id: 'bulk-count', 'aria-live': 'polite' });
  const bulkMsg = h('p', { class: 'bulk-msg', role: 'status' });
  const bulkAssign = h('select', { id: 'bulk-assignee', 'aria-label': 'Assign the selected threads to' },
    h('option', { value: '' }, 'Assign to…'), h('option', { value: 'none' }, 'Nobody'),
    team.filter((a) => a.role !== 'read_only' && a.active !== false).map((a) => h('option', { value: String(a.id) }, a.name)));
  const archiveBtn = h('button', { type: 'button', class: 'btn btn-small', id: 'bulk-archive', onClick: () => {
    const back = state.filter === 'archived';
    each(back ? 'Moved back to the inbox' : 'Archived', (id) => post(`/v1/threads/${encodeURIComponent(id)}/${back ? 'unarchive' : 'archive'}`));
  } }, 'Archive');
  const bulkTag = h('input', { id: 'bulk-tag', autocomplete: 'off', placeholder: 'tag', 'aria-label': 'Tag to add to the selected threads' });
  const select = {
    has: (id) => chosen.has(id),
    toggle(id, on) { if (on) chosen.add(id); else chosen.delete(id); syncBulk(); },
  };
  function syncBulk() {
    bulkBar.hidden = !chosen.size;
    bulkCount.textContent = `${chosen.size} selected`;
    archiveBtn.textContent = state.filter === 'archived' ? 'Move back to inbox' : 'Archive';
  }
  async function each(what, fn) {
    const ids = [...chosen];
    const refused = [];
    for (const id of ids) {
      try { await fn(id, state.threads.find((t) => t.id === id)); } catch (e) {
        if (e.status === 401) return;
        refused.push(`${id}: ${e.message}`);
      }
    }
    const done = ids.length - refused.length;
    const text = `${what} ${done} of ${ids.length} thread${ids.length === 1 ? '' : 's'}.${refused.length ? ` Refused: ${refused.join('; ')}` : ''}`;
    bulkMsg.textContent = text;
    announce(text);
    chosen.clear();
    syncBulk();
    await load(false);
  }
  const bulkBar = h('div', { class: 'bulk-bar', id: 'bulk-bar', role: 'region', 'aria-label': 'Selected threads', hidden: true },
    bulkCount,
    archiveBtn,
    bulkAssign,
    h('button', { type: 'button', class: 'btn btn-small', id: 'bulk-assign', onClick: () => {
      if (!bulkAssign.value) { bulkMsg.textContent = 'Choose whom to assign them to.'; bulkAssign.focus(); return; }
      const v = bulkAssign.value === 'none' ? null : Number(bulkAssign.value);
      each('Assigned', (id) => post(`/v1/threads/${encodeURIComponent(id)}/assign`, { agent_id: v }));
    } }, 'Assign'),
    bulkTag,
    h('button', { type: 'button', class: 'btn btn-small', id: 'bulk-tag-add', onClick: () => {
      const p = parseTags(bulkTag.value);
      if (p.error || p.tags.length !== 1) { bulkMsg.textContent = p.error || 'Type one tag to add.'; bulkTag.focus(); return; }
      // the list's rows do not carry tags: each thread's own are read, and kept
      each('Tagged', async (id) => {
        const cur = await get(`/v1/threads/${encodeURIComponent(id)}?limit=1`);
        await api('PUT', `/v1/threads/${encodeURIComponent(id)}/tags`, { tags: [...new Set([...(cur.thread.tags || []), p.tags[0]])] });
      });
    } }, 'Add tag'),
    h('button', { type: 'button', class: 'btn btn-small btn-quiet', onClick: () => {
      chosen.clear();
      for (const box of list.querySelectorAll('.row-select')) box.checked = false;
      syncBulk();
    } }, 'Clear selection'));
  const assigneeSelect = kind === 'agent' ? h('select', { id: 'filter-assignee', name: 'assignee' },
    [['', 'Anyone'], ['me', 'Me'], ['none', 'Nobody'], ...team.map((a) => [String(a.id), a.name])]
      .map(([v, l]) => h('option', { value: v, selected: v === state.assignee }, l))) : null;
  const tagFilter = kind === 'agent' ? h('input', { id: 'filter-tag', name: 'tag', value: state.tag, autocomplete: 'off', placeholder: 'e.g. refund' }) : null;
  if (assigneeSelect) {
    assigneeSelect.addEventListener('change', () => { state.assignee = assigneeSelect.value; load(false); });
    search.insertBefore(h('div', { class: 'field' }, h('label', { for: 'filter-assignee' }, 'Assigned to'), assigneeSelect), search.lastChild);
    search.insertBefore(h('div', { class: 'field field-tag' }, h('label', { for: 'filter-tag' }, 'Tag'), tagFilter), search.lastChild);
  }

  replace(el,
    h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, heading), kind === 'agent' ? count : null),
    hasFilters ? h('div', { class: 'tabs', role: 'group', 'aria-label': 'Show threads' }, filterButtons) : null,
    search,
    canBulk ? bulkBar : null,
    canBulk ? bulkMsg : null,
    status,
    list,
    h('div', { class: 'list-more' }, more),
    windowNote);

  function params(cursor) {
    const p = { limit: 25, cursor };
    if (hasFilters) p.filter = state.filter;
    if (kind === 'buyer') p.filter = 'all';
    if (kind === 'agent') { p.assignee = state.assignee; p.tag = state.tag; if (state.all) p.all = 'true'; }
    if (state.term) {
      const field = kind === 'buyer' ? guessSearchField(state.term) : state.by === 'auto' ? guessSearchField(state.term) : state.by;
      p[field] = state.term;
    }
    return p;
  }

  function keepInUrl() {
    const q = qs({ filter: hasFilters && state.filter !== (kind === 'agent' ? 'response_needed' : 'all') ? state.filter : '', by: state.by !== 'auto' ? state.by : '', term: state.term, assignee: state.assignee, tag: state.tag, all: state.all ? 'true' : '' });
    history.replaceState(null, '', `${base}${q}`);
  }

  let seq = 0;
  async function load(append) {
    const mine = ++seq;
    list.setAttribute('aria-busy', 'true');
    more.disabled = true;
    if (!append) keepInUrl();
    let data;
    try {
      data = await get(`/v1/threads${qs(params(append ? state.cursor : undefined))}`);
    } catch (e) {
      if (mine !== seq) return;
      list.setAttribute('aria-busy', 'false');
      status.textContent = e.status === 401 ? '' : `Could not load threads: ${e.message}`;
      more.disabled = false;
      return;
    }
    if (mine !== seq) return;
    state.threads = append ? state.threads.concat(data.threads) : data.threads;
    state.cursor = data.next_cursor;
    if (!append) list.replaceChildren();
    for (const t of data.threads) list.append(threadRow(t, kind, team, canBulk ? select : null));
    if (!append) { // a ticked thread that left the list is no longer selected
      for (const id of [...chosen]) if (!state.threads.some((t) => t.id === id)) chosen.delete(id);
      syncBulk();
    }
    list.setAttribute('aria-busy', 'false');
    if (data.window && !append) {
      windowNote.replaceChildren(`Showing threads active since ${formatDate(data.window.since)}, and every thread waiting for an answer. `,
        h('button', { type: 'button', class: 'btn btn-link', id: 'show-older', onClick: () => { state.all = true; load(false); } }, 'Show older threads'));
      windowNote.hidden = false;
    } else if (!append) {
      windowNote.hidden = true;
    }
    more.hidden = !state.cursor;
    more.disabled = false;
    if (typeof data.response_needed_count === 'number') {
      const n = data.response_needed_count;
      count.textContent = n === 0 ? 'Nothing needs a response' : n === 1 ? '1 thread needs a response' : `${n} threads need a response`;
      count.classList.toggle('has-work', n > 0);
      window.dispatchEvent(new CustomEvent('parley:attention', { detail: n }));
    }
    const label = hasFilters ? FILTERS.find(([f]) => f === state.filter)[1] : '';
    if (!state.threads.length && (state.tag || state.assignee)) status.textContent = `No threads in ${label}${state.assignee ? ` assigned to ${assigneeSelect.selectedOptions[0].textContent}` : ''}${state.tag ? ` tagged ${state.tag}` : ''}.`;
    else if (!state.threads.length) status.textContent = state.term ? `No threads match "${state.term}".` : hasFilters ? `No threads in ${label}.` : 'No messages yet.';
    else status.textContent = `${state.threads.length}${state.cursor ? '+' : ''} thread${state.threads.length === 1 ? '' : 's'}${state.term ? ` matching "${state.term}"` : ''}${label ? ` in ${label}` : ''}.`;
  }

  await load(false);

  // Live updates: reload the first page when something happens (coalesced).
  let pending = null;
  const refresh = (ev) => {
    clearTimeout(pending);
    pending = setTimeout(async () => {
      await load(false);
      if (ev && ev.from === 'buyer' && kind !== 'buyer') announce('A buyer message arrived.');
      if (ev && ev.from === 'seller' && kind === 'buyer') announce('The seller replied.');
    }, 250);
  };
  const offs = [onLive('message', refresh), onLive('thread', () => refresh(null)), onLive('resync', () => refresh(null))];
  const tick = setInterval(() => refreshDueBadges(list), 30000);
  return () => {
    offs.forEach((off) => off());
    clearInterval(tick);
    clearTimeout(pending);
  };
}
