// dom.js - builds DOM nodes from plain values (no HTML strings, so no injection and no inline styles).

/**
 * h('a', {class: 'x', href: '#/', onClick: fn}, 'text', child) creates an element.
 * Props: class, text, dataset (object), on<Event> handlers, the boolean/value properties
 * value, checked, disabled, hidden, selected; anything else becomes an attribute
 * (null/undefined/false skip it, true sets it empty).
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined || v === null) continue;
      if (k === 'class') el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
      else if (k === 'text') el.textContent = v;
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2).toLowerCase(), v);
      else if (k === 'value' || k === 'checked' || k === 'disabled' || k === 'hidden' || k === 'selected') el[k] = v;
      else if (v === false) continue;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

/** Appends children: nodes, strings, numbers, arrays of those; null/false are skipped. */
export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/**
 * Makes nodes el's children, in that order, moving only the nodes that are out of place:
 * a node already where it belongs stays in the document, so a field in it keeps its focus,
 * its selection and what was typed into it.
 */
export function reconcile(el, nodes) {
  nodes.forEach((n, i) => {
    const at = el.childNodes[i];
    if (at !== n) el.insertBefore(n, at || null);
  });
  while (el.childNodes.length > nodes.length) el.lastChild.remove();
  return el;
}

/**
 * A box that scrolls sideways on a narrow screen (a wide table or chart): it can take the
 * keyboard's focus, so that arrow keys scroll it, and is named for screen readers.
 */
export function scrollBox(cls, label, ...children) {
  return h('div', { class: cls, tabindex: '0', role: 'region', 'aria-label': label }, ...children);
}

/** Replaces every child of el. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

let uid = 0;
/** A document-unique id for label/aria wiring. */
export function uniqueId(prefix = 'id') {
  uid += 1;
  return `${prefix}-${uid}`;
}

/** Text for screen readers only. */
export function srOnly(text) {
  return h('span', { class: 'sr-only', text });
}

const announcer = () => document.getElementById('announcer');
/** Says something politely through the page's live region. */
export function announce(text) {
  const el = announcer();
  if (!el) return;
  el.textContent = '';
  // A fresh text node after a tick makes screen readers read repeated messages too.
  setTimeout(() => { el.textContent = text; }, 30);
}

const SVG_NS = 'http://www.w3.org/2000/svg';
/** s('circle', {cx: 1, class: 'x'}, child) creates an SVG element (attributes only, no styles). */
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null && v !== false) el.setAttribute(k, String(v));
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}
