// operator.js - operator pages whose data the server does not provide yet: their structure, clearly marked.
import { h, replace } from './dom.js';

const PAGES = {
  review: {
    title: 'Review queue',
    what: 'Seller messages held for review, with the content policy\'s findings, to approve or reject.',
    columns: ['Held since', 'Seller', 'Thread', 'Findings', 'Decision'],
  },
  violations: {
    title: 'Violations',
    what: 'Policy violations by seller and category over the last 30 days, with the enforcement they led to.',
    columns: ['When', 'Seller', 'Category', 'Message', 'Outcome'],
  },
  sellers: {
    title: 'Sellers by risk',
    what: 'Sellers ranked by violations, response-time performance and how often they flag messages as needing no response.',
    columns: ['Seller', 'CRT (30 days)', 'Violations', 'Flag rate', 'Status'],
  },
  restrictions: {
    title: 'Restrictions and quotas',
    what: 'Proactive-messaging restrictions and message quotas in force, with their reasons and end dates.',
    columns: ['Seller', 'Kind', 'Reason', 'Since', 'Until'],
  },
};

export async function renderUnavailable(el, ctx) {
  const page = PAGES[ctx.path[0]];
  replace(el,
    h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, page.title), h('span', { class: 'badge badge-na' }, 'Not available yet')),
    h('p', null, page.what),
    h('p', { class: 'alert alert-info', 'data-testid': 'not-available' },
      'Not available yet: this server does not provide this information. Nothing below is data.'),
    h('table', { class: 'table table-empty' },
      h('caption', { class: 'sr-only' }, `${page.title} (no data)`),
      h('thead', null, h('tr', null, page.columns.map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', null, h('tr', null, h('td', { colspan: String(page.columns.length) }, 'No data: not available yet.')))));
}
