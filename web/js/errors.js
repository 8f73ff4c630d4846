// errors.js - the error box of a form or an action: hidden until something fails, then read out at once.
import { h, replace } from './dom.js';

/**
 * errorBox() creates a hidden box with role="alert", so that screen readers read it as
 * soon as it shows. Options: tag ('div'), class ('alert alert-error'), id, text (shown from
 * the start when set), invalid (also mark the field given to show() aria-invalid).
 *
 * - el: the element, to place in the form.
 * - show(message, field): shows message (text or nodes) and focuses field, if given.
 *   Returns undefined, so that a check can `return box.show(...)`.
 * - hide(): hides it.
 * - run(action, explain, {field, signingIn}): awaits action() and, if it throws, shows
 *   explain(error) (default: the error's message) and focuses field. explain may act
 *   itself (navigate, show with another field) and return nothing to show. A 401 shows
 *   nothing, since the sign-in page has taken over; while signingIn, a 401 means a wrong
 *   token instead and goes to explain. run never throws: what follows it runs in any case.
 */
export function errorBox({ tag = 'div', class: cls = 'alert alert-error', id, text, invalid = false } = {}) {
  const el = h(tag, { class: cls, id, role: 'alert', hidden: !text }, text || '');
  function show(message, field) {
    replace(el, message);
    el.hidden = false;
    if (field) {
      if (invalid) field.setAttribute('aria-invalid', 'true');
      field.focus();
    }
  }
  function hide() {
    el.hidden = true;
  }
  async function run(action, explain = (e) => e.message || String(e), { field = null, signingIn = false } = {}) {
    try {
      return await action();
    } catch (e) {
      if (e && e.status === 401 && !signingIn) return undefined;
      const message = explain(e);
      if (message) show(message, field);
      return undefined;
    }
  }
  return { el, show, hide, run };
}
