// alerts.js - deadline alerts of the seller's agents in the browser: when a thread nears its deadline (the live "deadline" event, at the marketplace's alert mark: 4 hours before, by default), an alert on every page that links to it and, when the browser allows it, a desktop notification (docs/notifications.md).
import { h } from './dom.js';
import { get } from './api.js';
import { notify } from './live.js';
import { timeLeft, formatDateTime } from './format.js';

const MAX_ALERTS = 5;
const region = () => document.getElementById('alerts');

/**
 * Whether an agent who chose `choices` (GET /v1/me/notifications; null when they could not
 * be read: the defaults) is alerted in the browser about `thread` (GET /v1/threads/{id};
 * null when it could not be read). As the e-mailed deadline alerts go: not with the browser
 * channel off (`browser`), nor in mode "none" (every other mode includes deadline alerts);
 * a thread assigned to an agent alerts that agent alone, whatever their scope; a thread
 * nobody has alerts the agents who follow all threads. (The live event names only the
 * thread and its due time: the assignee comes from the thread.)
 */
export function wantsDeadlineAlert(choices, thread, agentId) {
  const mode = choices ? choices.mode : 'deadlines';
  const scope = choices ? choices.scope : 'all';
  if (mode === 'none' || (choices && choices.browser === false)) return false;
  const assignee = thread ? thread.assignee_id : null;
  if (assignee) return assignee === agentId;
  return scope === 'all';
}

/** "Jane Doe · Order 112-4839201-5561023", or as much of it as the thread tells. */
function threadWords(thread, threadId) {
  if (!thread) return `Thread ${threadId}`;
  const about = thread.order_id ? `Order ${thread.order_id}` : thread.asin ? `Product ${thread.asin}` : '';
  return [thread.buyer_name, about].filter(Boolean).join(' · ') || `Thread ${threadId}`;
}

/** Removes the alert about a thread (the agent opened it, or dismissed the alert). */
export function dropDeadlineAlert(threadId) {
  const box = region();
  if (!box) return;
  for (const el of box.querySelectorAll('.deadline-alert')) if (el.dataset.thread === threadId) el.remove();
}

/** Removes every alert (sign-out). */
export function clearDeadlineAlerts() {
  const box = region();
  if (box) box.replaceChildren();
}

function showAlert(ev, words, left) {
  const box = region();
  if (!box) return;
  const href = `#/thread/${encodeURIComponent(ev.thread_id)}`;
  const el = h('div', { class: 'alert alert-warn deadline-alert', dataset: { thread: ev.thread_id, dueAt: ev.due_at || '' } },
    h('p', { class: 'deadline-text' },
      h('strong', null, left && left.level === 'late' ? 'Response overdue: ' : 'Response due soon: '),
      h('a', { href, onClick: () => dropDeadlineAlert(ev.thread_id) }, words),
      left ? ` — ${left.text}` : '',
      ev.due_at ? h('span', { class: 'muted' }, ` (answer by ${formatDateTime(ev.due_at)})`) : ''),
    h('button', { type: 'button', class: 'btn btn-small btn-quiet', 'aria-label': `Dismiss the alert about ${words}`,
      onClick: () => dropDeadlineAlert(ev.thread_id) }, 'Dismiss'));
  dropDeadlineAlert(ev.thread_id); // one alert a thread: the newest
  box.append(el);
  while (box.querySelectorAll('.deadline-alert').length > MAX_ALERTS) box.querySelector('.deadline-alert').remove();
}

/**
 * One deadline event: the agent's choices and the thread are read afresh (so a change made
 * in another tab counts); then a desktop notification, when the browser allows them and
 * the agent is not on the thread already, and the alert on the page.
 */
async function handle(ev, me) {
  if (!me || me.kind !== 'agent' || !ev || !ev.thread_id) return;
  let choices = null;
  try {
    choices = (await get('/v1/me/notifications')).notifications || null;
  } catch (e) {
    if (e.status === 401) return;
  }
  if (choices && (choices.mode === 'none' || choices.browser === false)) return; // whatever the thread
  let thread = null;
  try {
    thread = (await get(`/v1/threads/${encodeURIComponent(ev.thread_id)}?limit=1`)).thread || null;
  } catch (e) {
    if (e.status === 401 || e.status === 403 || e.status === 404) return; // not a thread this agent sees
  }
  if (!wantsDeadlineAlert(choices, thread, me.agent_id)) return;
  const words = threadWords(thread, ev.thread_id);
  const left = timeLeft(ev.due_at);
  const viewing = document.visibilityState === 'visible' && location.hash === `#/thread/${ev.thread_id}`;
  if (!viewing) {
    notify(left && left.level === 'late' ? 'Response overdue' : 'Response due soon', `${words}${left ? `: ${left.text}` : ''}`, ev.thread_id, `parley-deadline-${ev.thread_id}`);
  }
  showAlert(ev, words, left);
}

let queue = Promise.resolve();
/** Called for each live "deadline" event; events are handled one after the other, in order. */
export function onDeadline(ev, currentMe) {
  queue = queue.then(() => handle(ev, currentMe())).catch(() => { /* one event's failure does not stop the next */ });
  return queue;
}
