// suggest.js - suggested replies in the reply box: the seller's templates and past replies ranked for the buyer's message, each with its reason; choosing one puts its text in the reply box for editing (it never sends).
import { h, replace, uniqueId } from './dom.js';
import { get } from './api.js';

/**
 * The "Suggestions" list of an agent's reply box for thread threadId. onPick(text, s) is
 * called with the chosen suggestion's text. refresh() asks the server again (after the
 * buyer wrote); the list is hidden while there is nothing to suggest.
 */
export function createSuggestions({ threadId, onPick }) {
  const id = uniqueId('suggest');
  const list = h('ul', { class: 'suggest-list', 'aria-labelledby': `${id}-h` });
  const status = h('p', { class: 'help suggest-status', role: 'status' });
  const el = h('section', { class: 'suggest', id: 'suggestions', 'aria-labelledby': `${id}-h`, hidden: true },
    h('h3', { id: `${id}-h`, class: 'suggest-title' }, 'Suggestions'),
    status,
    list);
  let seq = 0;

  function item(s, i) {
    const kind = s.kind === 'template' ? 'Template' : 'Past reply';
    const name = s.title ? `${kind}: ${s.title}` : kind;
    const reasonId = `${id}-r${i}`;
    return h('li', { class: 'suggest-item' },
      h('button', { type: 'button', class: 'btn suggest-pick', 'data-kind': s.kind, 'data-id': s.id,
        'aria-describedby': reasonId, onClick: () => onPick(s.text, s) },
        h('span', { class: 'suggest-name' }, name),
        h('span', { class: 'suggest-text' }, s.text)),
      h('p', { class: 'suggest-reason', id: reasonId }, `Why: ${s.reason}`));
  }

  async function refresh() {
    const mine = ++seq;
    let d;
    try {
      d = await get(`/v1/threads/${encodeURIComponent(threadId)}/suggestions`);
    } catch (e) {
      if (mine !== seq) return;
      // a busy moment (429) or an error leaves the box as it was: suggestions are a help, never in the way
      if (!list.children.length) el.hidden = true;
      return;
    }
    if (mine !== seq) return;
    const items = (d && d.suggestions) || [];
    replace(list, ...items.slice(0, 5).map(item));
    status.textContent = items.length
      ? `${items.length} suggested ${items.length === 1 ? 'reply' : 'replies'}: choose one to put it in the reply box, then edit it and send.`
      : '';
    el.hidden = !items.length;
  }

  refresh();
  return { el, refresh };
}
