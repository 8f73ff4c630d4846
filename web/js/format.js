// format.js - words and times as people read them: topics, states, dates, time left to answer.
import { topics } from './meta.js';

export function topicLabel(t) {
  const known = [...topics('post_purchase'), ...topics('pre_purchase')].find(([id]) => id === t);
  return known ? known[1] : (t ? t.replace(/_/g, ' ') : 'Conversation');
}

const STATES = {
  response_needed: 'Response needed',
  answered: 'Answered',
  no_response_needed: 'No response needed',
  archived: 'Archived',
};
export function stateLabel(s) {
  return STATES[s] || s;
}

const STATUSES = {
  delivered: 'Delivered',
  not_delivered: 'Not delivered',
  held_for_review: 'Held for review',
  rejected: 'Blocked by policy',
  failed: 'Failed',
};
export function statusLabel(s) {
  return STATUSES[s] || s;
}

const ORDER_STATUSES = { pending: 'Pending', shipped: 'Shipped', delivered: 'Delivered', canceled: 'Canceled' };
export function orderStatusLabel(s) {
  return ORDER_STATUSES[s] || s;
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });

export function formatDateTime(iso) {
  return iso ? dateTime.format(new Date(iso)) : '';
}
export function formatDate(iso) {
  return iso ? dateOnly.format(new Date(iso)) : '';
}

/** "3 min ago", "yesterday"-style short relative time for lists. */
export function formatAgo(iso, now = Date.now()) {
  if (!iso) return '';
  const s = Math.round((now - Date.parse(iso)) / 1000);
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  if (s < 7 * 86400) return `${Math.floor(s / 86400)} d ago`;
  return formatDate(iso);
}

function hm(seconds) {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return h > 0 ? `${h} h ${m} min` : `${m} min`;
}

export const URGENT_SECONDS = 4 * 3600;

/**
 * Time left until a response is due: {level: 'ok'|'urgent'|'late', text, label}.
 * Urgent when less than 4 hours are left, late once the 24 hours have passed.
 */
export function timeLeft(dueIso, now = Date.now()) {
  if (!dueIso) return null;
  const left = Math.floor((Date.parse(dueIso) - now) / 1000);
  if (left <= 0) {
    const over = -left;
    return { level: 'late', text: `Overdue ${hm(over)}`, label: `Response overdue by ${hm(over)}` };
  }
  const level = left < URGENT_SECONDS ? 'urgent' : 'ok';
  return { level, text: `${hm(left)} left`, label: `${hm(left)} left to respond` };
}

export function formatPrice(price, currency) {
  if (price === null || price === undefined) return '';
  const n = Number(price);
  if (!Number.isFinite(n) || !currency) return `${price}${currency ? ` ${currency}` : ''}`;
  try {
    return new Intl.NumberFormat(undefined, { style: 'currency', currency }).format(n);
  } catch {
    return `${price} ${currency}`;
  }
}

/** Unicode code points, as the server counts text length. */
export function codePoints(s) {
  let n = 0;
  for (const _ of s) n += 1;
  return n;
}

/** A duration in seconds as "3 h 5 min", "12 min", "40 s"; '—' for none. */
export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(Number(seconds))) return '—';
  const t = Math.round(Number(seconds));
  if (t < 60) return `${t} s`;
  if (t < 86400) return hm(t);
  const d = Math.floor(t / 86400);
  return `${d} d ${hm(t % 86400)}`;
}

/** A percentage with one decimal ("85.1 %"); '—' for none. */
export function formatPercent(p) {
  if (p === null || p === undefined || !Number.isFinite(Number(p))) return '—';
  return `${Number(p).toFixed(1)} %`;
}

/** A fraction 0..1 as a percentage ("25 %"); '—' for none. */
export function formatRate(r) {
  if (r === null || r === undefined || !Number.isFinite(Number(r))) return '—';
  const p = Number(r) * 100;
  return `${Number.isInteger(p) ? p : p.toFixed(1)} %`;
}

const CRT_STATUSES = { good: 'Good', warning: 'Warning', at_risk: 'At risk', no_data: 'No data' };
/** The CRT status as words: Good (≥ 90), Warning (80–89), At risk (< 80), No data. */
export function crtStatusLabel(s) {
  return CRT_STATUSES[s] || s;
}
