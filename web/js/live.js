// live.js - live updates over Server-Sent Events (/v1/events), with retry and browser notifications.

const bus = new EventTarget();
let source = null;
let retryTimer = null;
let attempt = 0;
let running = false;
let onStatus = () => {};
let openedBefore = false;

const MIN_RETRY_MS = 2000;
const MAX_RETRY_MS = 5 * 60 * 1000;

function schedule() {
  if (!running) return;
  clearTimeout(retryTimer);
  const wait = Math.min(MAX_RETRY_MS, MIN_RETRY_MS * 2 ** Math.min(attempt, 10));
  attempt += 1;
  retryTimer = setTimeout(connect, wait + Math.floor(Math.random() * 500));
}

function dispatch(type, ev) {
  let data = {};
  try { data = ev.data ? JSON.parse(ev.data) : {}; } catch { data = {}; }
  bus.dispatchEvent(new CustomEvent(type, { detail: data }));
}

/**
 * Asks whether the stream is there before opening an EventSource, so that a server without
 * it (or a signed-out session) costs one quiet check instead of an endless error loop.
 */
async function available() {
  const ctl = new AbortController();
  try {
    const res = await fetch('/v1/events', { headers: { Accept: 'text/event-stream' }, credentials: 'same-origin', cache: 'no-store', signal: ctl.signal });
    if (res.status === 404 || res.status === 405) return 'absent';
    return res.ok && (res.headers.get('Content-Type') || '').startsWith('text/event-stream') ? 'yes' : 'no';
  } catch {
    return 'no';
  } finally {
    ctl.abort();
  }
}

async function connect() {
  if (!running || source) return;
  const state = await available();
  if (state !== 'yes') {
    onStatus('off');
    // A server without the stream will not grow one: pages are then refreshed by hand.
    if (state !== 'absent') schedule();
    return;
  }
  if (!running || source) return;
  const es = new EventSource('/v1/events', { withCredentials: true });
  source = es;
  es.addEventListener('open', () => {
    attempt = 0;
    onStatus('on');
    // After a reconnection, whatever happened while the stream was away is fetched afresh.
    if (openedBefore) bus.dispatchEvent(new CustomEvent('resync', { detail: {} }));
    openedBefore = true;
  });
  es.addEventListener('message', (ev) => dispatch('message', ev));
  es.addEventListener('thread', (ev) => dispatch('thread', ev));
  // a thread near its deadline (the marketplace's alert mark, 4 hours by default): {thread_id, due_at}
  es.addEventListener('deadline', (ev) => dispatch('deadline', ev));
  es.addEventListener('resync', (ev) => dispatch('resync', ev));
  es.addEventListener('error', () => {
    // The browser retries by itself while the stream is only interrupted; once it gives up
    // (CLOSED), start again later with a growing pause.
    onStatus('off');
    if (es.readyState === EventSource.CLOSED) {
      es.close();
      if (source === es) source = null;
      schedule();
    }
  });
}

/** Starts listening for the signed-in caller. statusFn('on'|'off') reports the connection. */
export function startLive(statusFn) {
  onStatus = statusFn || (() => {});
  if (running) return;
  running = true;
  attempt = 0;
  openedBefore = false;
  connect();
}

/** Stops listening (sign-out). */
export function stopLive() {
  running = false;
  clearTimeout(retryTimer);
  if (source) source.close();
  source = null;
  onStatus('off');
}

/** Subscribes to 'message', 'thread', 'deadline' or 'resync'; returns the unsubscribe function. */
export function onLive(type, fn) {
  const wrapped = (e) => fn(e.detail);
  bus.addEventListener(type, wrapped);
  return () => bus.removeEventListener(type, wrapped);
}

/** Whether browser notifications can be offered: supported and not yet decided. */
export function notificationsState() {
  if (typeof Notification === 'undefined') return 'unsupported';
  return Notification.permission; // 'default' | 'granted' | 'denied'
}

export async function askNotifications() {
  if (typeof Notification === 'undefined') return 'unsupported';
  try {
    return await Notification.requestPermission();
  } catch {
    return Notification.permission;
  }
}

/**
 * Shows a browser notification when the user allowed them; clicking it opens the thread.
 * A newer notification with the same tag (by default one a thread) replaces the older.
 */
export function notify(title, body, threadId, tag = threadId ? `parley-${threadId}` : undefined) {
  if (notificationsState() !== 'granted') return null;
  try {
    const n = new Notification(title, { body, tag });
    n.addEventListener('click', () => {
      window.focus();
      if (threadId) location.hash = `#/thread/${threadId}`;
      n.close();
    });
    return n;
  } catch {
    return null;
  }
}
