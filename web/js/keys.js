// keys.js - keyboard shortcuts for a day's work in the seller's pages: j/k through the inbox, / to search, r to reply, e to archive, Ctrl+Enter to send, ? for the list.
import { h, announce } from './dom.js';

export const SHORTCUTS = [
  ['j / k', 'next / previous thread in the list'],
  ['Enter', 'open the thread'],
  ['/', 'search'],
  ['r', 'write the reply'],
  ['e', 'archive the thread (or move it back)'],
  ['Ctrl+Enter', 'send (in the reply box)'],
  ['?', 'this list'],
];

/** Whether the key goes to a field that is being typed in, where letters are text. */
function typing(ev) {
  const t = ev.target;
  return t && (t.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName));
}

function helpDialog() {
  let d = document.getElementById('shortcuts');
  if (!d) {
    d = h('dialog', { id: 'shortcuts', class: 'card shortcuts', 'aria-labelledby': 'shortcuts-h' },
      h('h2', { id: 'shortcuts-h' }, 'Keyboard shortcuts'),
      h('dl', null, SHORTCUTS.flatMap(([k, what]) => [h('dt', null, h('kbd', null, k)), h('dd', null, what)])),
      h('form', { method: 'dialog' }, h('button', { class: 'btn', type: 'submit' }, 'Close')));
    document.body.append(d);
  }
  return d;
}

/** The rows' links of the thread list on the page, in order. */
function rowLinks() {
  return [...document.querySelectorAll('#thread-list > li a')];
}

/** Installs the shortcuts once; active(kind) says whether they apply to who is signed in. */
export function installShortcuts(active) {
  document.addEventListener('keydown', (ev) => {
    if (ev.defaultPrevented || ev.altKey || ev.ctrlKey || ev.metaKey || typing(ev) || !active()) return;
    const click = (sel) => {
      const el = document.querySelector(sel);
      if (el && !el.disabled) el.click();
      return Boolean(el);
    };
    switch (ev.key) {
    case 'j':
    case 'k': {
      const links = rowLinks();
      if (!links.length) return;
      const at = links.indexOf(document.activeElement);
      const to = at < 0 ? 0 : Math.min(links.length - 1, Math.max(0, at + (ev.key === 'j' ? 1 : -1)));
      links[to].focus();
      links[to].scrollIntoView({ block: 'nearest' });
      break;
    }
    case '/': {
      const search = document.getElementById('search-term');
      if (!search) return;
      search.focus();
      break;
    }
    case 'r': {
      const box = document.querySelector('.compose textarea[name="text"]');
      if (!box) return;
      box.focus();
      break;
    }
    case 'e':
      if (!click('#archive')) return;
      break;
    case '?': {
      const d = helpDialog();
      if (d.open) d.close();
      else {
        d.showModal();
        announce('Keyboard shortcuts.');
      }
      break;
    }
    default:
      return;
    }
    ev.preventDefault();
  });
}
