// compose.js - the reply box: live content-policy feedback with highlighted findings (sellers), templates, attachments, notes, conflicts, send.
import { h, replace, append, uniqueId, announce } from './dom.js';
import { errorBox } from './errors.js';
import { post, ApiError } from './api.js';
import { locate, segments, categoryLabel, categoryHint } from './policy.js';
import { codePoints } from './format.js';
import { limits } from './meta.js';
import { createAttachmentPicker, fileFindings } from './attachments.js';
import { createTemplatePicker } from './templates.js';
import { createSuggestions } from './suggest.js';

const CHECK_DELAY_MS = 350;

/** Renders text with each located finding wrapped in a <mark>, as nodes for `into`. */
export function highlighted(text, located, into) {
  const nodes = segments(text, located).map((seg) => {
    if (!seg.findings.length) return document.createTextNode(seg.text);
    const cats = [...new Set(seg.findings.map((f) => f.category))];
    return h('mark', { class: ['hl', `hl-${cats[0]}`, cats.length > 1 && 'hl-multi'], 'data-categories': cats.join(' ') }, seg.text);
  });
  replace(into, nodes);
  return into;
}

/** The list of findings: category, matched text and a plain-language hint each. */
export function findingsList(located, onShow) {
  return h('ul', { class: 'findings' }, located.map((f) => h('li', { class: ['finding', `cat-${f.category}`], 'data-category': f.category },
    h('span', { class: ['badge', 'badge-cat', `cat-${f.category}`] }, categoryLabel(f.category)),
    ' ',
    h('q', { class: 'finding-text' }, f.text || ''),
    onShow ? h('button', { type: 'button', class: 'btn-link', onClick: () => onShow(f) }, 'Show in text') : null,
    h('p', { class: 'hint' }, categoryHint(f.category)))));
}

/** Findings about the message text itself (not about an attached file). */
export function textFindings(findings) {
  return (findings || []).filter((f) => !f.attachment && !f.name);
}

/**
 * A reply form. kind: 'agent' gets the live policy check and the auto-reply option.
 * send(text, autoReply, extra) performs the request and resolves when sent; it may throw
 * ApiError. extra: {attachments, templateId, values, note, confirm}. Options: attachments
 * (file picker), templates ({threadId}: the template picker), suggestions ({threadId}: the
 * suggested replies, suggest.js), notes (internal note toggle),
 * onTyping() on every key stroke, onStart() when a new draft begins.
 */
export function createComposer({ kind, send, label, attachments = false, templates = null, suggestions = null, notes = false, onTyping = null, onStart = null, next = null }) {
  const seller = kind === 'agent';
  const id = uniqueId('compose');
  const summaryId = `${id}-summary`;
  const countId = `${id}-count`;
  const textarea = h('textarea', { id: `${id}-text`, class: 'editor-text editor-input', name: 'text', rows: '4', required: true,
    'aria-describedby': seller ? `${countId} ${summaryId}` : countId, spellcheck: 'true' });
  const backdrop = h('div', { class: 'editor-text editor-backdrop', 'aria-hidden': 'true' });
  const counter = h('p', { class: 'help counter', id: countId }, `0 / ${limits().text_chars.toLocaleString()} characters`);
  const summary = h('p', { class: 'policy-summary', id: summaryId, role: 'status' });
  const findingsBox = h('div', { class: 'policy-findings' });
  const fileBox = h('div', { class: 'policy-findings policy-file-findings' });
  const picker = attachments ? createAttachmentPicker({ label: 'Add files to the reply', scanned: seller }) : null;
  // Text to edit (a suggestion, or a template filled in): it replaces the draft (and any
  // template chosen), never sends; the first placeholder left is selected.
  function insertText(text, what) {
    if (tpl) tpl.clear();
    if (noteBox) noteBox.checked = false;
    syncMode(); // the free text again, shown
    textarea.value = text;
    textarea.dispatchEvent(new Event('input', { bubbles: true }));
    textarea.focus();
    const hole = text.search(/\[[A-Z_]+\]/);
    if (hole >= 0) textarea.setSelectionRange(hole, text.indexOf(']', hole) + 1);
    announce(`${what} put in the reply box: edit it, then send.`);
  }
  const tpl = seller && templates
    ? createTemplatePicker({ threadId: templates.threadId, onChange: () => syncMode(), onInsert: (text) => insertText(text, 'Template') })
    : null;
  const suggest = seller && suggestions
    ? createSuggestions({ threadId: suggestions.threadId, onPick: (text, sg) => insertText(text, sg.kind === 'template' ? 'Template' : 'Past reply') })
    : null;
  const noteBox = seller && notes ? h('input', { type: 'checkbox', id: `${id}-note`, name: 'note', onChange: () => syncMode() }) : null;
  const conflictBox = errorBox({ class: 'alert alert-warn conflict' });
  const editorField = h('div', { class: 'field' });
  let drafting = false;
  let confirmNext = false;
  const autoReply = h('input', { type: 'checkbox', id: `${id}-auto`, name: 'auto_reply' });
  const alert = errorBox();
  const sendButton = h('button', { type: 'submit', class: 'btn btn-primary', id: 'send' }, 'Send');
  // next(): after a reply is sent, open the next thread that needs one (the agent's triage)
  const nextButton = next ? h('button', { type: 'submit', class: 'btn', id: 'send-next' }, 'Send and go to next') : null;
  let goNext = false;

  let current = { text: '', action: 'deliver', located: [] }; // the last check's result, for `text`
  let checking = null; // {text, promise}
  let timer = null;

  function grow() {
    textarea.style.height = 'auto';
    textarea.style.height = `${textarea.scrollHeight + 2}px`;
  }

  function paint(located) {
    const text = textarea.value;
    highlighted(text, located, backdrop);
    backdrop.append(document.createTextNode('\n')); // keeps the last line's height
  }

  function show(result, text) {
    current = { text, action: result.action, located: locate(text, textFindings(result.findings)) };
    const files = [...new Set((result.findings || []).filter((f) => f.name).map((f) => f.name))];
    replace(fileBox, fileFindings(result.findings));
    paint(current.located);
    const n = current.located.length;
    summary.className = `policy-summary policy-${n ? result.action : 'ok'}`;
    if (!text.trim()) summary.textContent = '';
    else if (!n && files.length) {
      summary.className = 'policy-summary policy-reject';
      summary.textContent = `The text is fine, but ${files.length === 1 ? 'an attached file breaks' : 'attached files break'} the policy: ${files.join(', ')}.`;
    } else if (!n) summary.textContent = 'No policy problems found.';
    else {
      const cats = [...new Set(current.located.map((f) => categoryLabel(f.category)))].join(', ');
      const what = n === 1 ? '1 problem' : `${n} problems`;
      if (result.action === 'reject') summary.textContent = `${what} to fix before sending: ${cats}.`;
      else if (result.action === 'review') summary.textContent = `This message would be held for review by the marketplace (${what}: ${cats}).`;
      else summary.textContent = `Please check: ${cats}.`;
    }
    replace(findingsBox, n ? findingsList(current.located, selectFinding) : null);
  }

  function selectFinding(f) {
    textarea.focus();
    textarea.setSelectionRange(f.from, f.to);
  }

  async function check(text) {
    if (!seller) return { action: 'deliver', findings: [] };
    if (checking && checking.text === text) return checking.promise;
    const promise = post('/v1/policy/check', { text }).then((result) => {
      if (textarea.value === text) show(result, text);
      return result;
    });
    checking = { text, promise };
    try {
      return await promise;
    } finally {
      if (checking && checking.promise === promise) checking = null;
    }
  }

  function syncMode() {
    const note = Boolean(noteBox && noteBox.checked);
    const usingTemplate = Boolean(tpl && tpl.selected() && !note);
    form.classList.toggle('is-note', note);
    editorField.hidden = usingTemplate;
    if (tpl) tpl.el.hidden = note;
    if (picker) picker.el.hidden = note;
    if (autoField) autoField.hidden = note || usingTemplate;
    policyBox.hidden = note || usingTemplate;
    sendButton.textContent = note ? 'Add note' : 'Send';
    if (nextButton) nextButton.hidden = note;
    textareaLabel.textContent = note ? 'Internal note (your team only)' : seller ? 'Your message to the buyer' : 'Your message';
    alert.hide();
    if (usingTemplate) beginDraft();
  }

  function beginDraft() {
    if (!drafting) {
      drafting = true;
      if (onStart) onStart();
    }
    if (onTyping) onTyping();
  }

  textarea.addEventListener('input', () => {
    const text = textarea.value;
    if (text.trim()) beginDraft();
    const n = codePoints(text);
    counter.textContent = `${n.toLocaleString()} / ${limits().text_chars.toLocaleString()} characters`;
    counter.classList.toggle('over', n > limits().text_chars);
    alert.hide();
    grow();
    if (!seller) return;
    // Keep the highlights that still cover the same characters until the next answer.
    const still = current.located.filter((f) => text.slice(f.from, f.to) === current.text.slice(f.from, f.to));
    paint(still);
    clearTimeout(timer);
    if (!text.trim()) {
      show({ action: 'deliver', findings: [] }, text);
      return;
    }
    summary.className = 'policy-summary policy-checking';
    timer = setTimeout(() => {
      check(text).catch((e) => {
        if (e.status !== 401) summary.textContent = `The policy check is unavailable (${e.message}); the message is checked again when you send it.`;
      });
    }, CHECK_DELAY_MS);
  });

  const textareaLabel = h('label', { for: textarea.id }, seller ? 'Your message to the buyer' : 'Your message');
  const autoField = seller ? h('div', { class: 'field field-inline' }, autoReply,
    h('label', { for: autoReply.id }, 'Automatic acknowledgement (auto-reply: does not count as a response)')) : null;
  const policyBox = seller ? h('div', { class: 'policy', id: 'policy-feedback' }, summary, findingsBox, fileBox) : null;

  function reset() {
    textarea.value = '';
    autoReply.checked = false;
    current = { text: '', action: 'deliver', located: [] };
    paint([]);
    summary.textContent = '';
    findingsBox.replaceChildren();
    fileBox.replaceChildren();
    counter.textContent = `0 / ${limits().text_chars.toLocaleString()} characters`;
    if (picker) picker.clear();
    if (tpl) tpl.clear();
    if (noteBox) noteBox.checked = false;
    drafting = false;
    confirmNext = false;
    conflictBox.hide();
    syncMode();
    grow();
  }

  function showConflict(e) {
    const anyway = h('button', { type: 'button', class: 'btn btn-primary', id: 'send-anyway', onClick: () => {
      confirmNext = true;
      conflictBox.hide();
      form.requestSubmit();
    } }, 'Send anyway');
    conflictBox.show([
      h('p', { class: 'conflict-title' }, 'The conversation changed since you began writing.'),
      h('p', null, e.message),
      h('p', null, 'Read the new messages above. Your reply was not sent.'),
      h('div', { class: 'actions' }, anyway,
        h('button', { type: 'button', class: 'btn', onClick: () => {
          conflictBox.hide();
          drafting = false;
          beginDraft(); // the draft now answers the thread as it is
          textarea.focus();
        } }, 'Keep editing')),
    ], anyway);
  }

  const form = h('form', { class: 'compose', 'aria-labelledby': `${id}-h`, novalidate: true, onSubmit: async (ev) => {
    ev.preventDefault();
    const text = textarea.value;
    alert.hide();
    conflictBox.hide();
    const note = Boolean(noteBox && noteBox.checked);
    const usingTemplate = Boolean(tpl && tpl.selected() && !note);
    goNext = Boolean(nextButton && ev.submitter === nextButton && !note);
    if (picker && picker.busy()) return fail('Wait until the files are uploaded.');
    const extra = { note, confirm: confirmNext, attachments: picker && !note ? picker.ids() : [] };
    confirmNext = false;
    if (usingTemplate) {
      const v = tpl.values();
      if (v.missing) return tpl.showMissing(v.missing);
      extra.templateId = tpl.selected();
      extra.values = v.values;
      sendButton.disabled = true;
      sendButton.textContent = 'Sending…';
      await alert.run(async () => {
        await send('', false, extra);
        reset();
        announce('Message sent.');
        if (goNext) await next();
      }, (e) => {
        if (e instanceof ApiError && e.code === 'conflict') return showConflict(e);
        if (e instanceof ApiError && e.code === 'missing_field') return tpl.showServerMissing(e.message);
        if (e instanceof ApiError && e.code === 'policy_violation') {
          replace(fileBox, fileFindings(e.findings));
          policyBox.hidden = false;
          return fail(`The marketplace blocked this message: ${e.findings.map((f) => `${categoryLabel(f.category)} "${f.text}"${f.name ? ` in ${f.name}` : ''}`).join(', ')}.`);
        }
        return fail(e.message || String(e));
      });
      sendButton.disabled = false;
      sendButton.textContent = 'Send';
      return;
    }
    if (!text.trim()) return fail(note ? 'Write the note first.' : 'Write a message first.');
    if (codePoints(text) > limits().text_chars) return fail(`The message is longer than ${limits().text_chars.toLocaleString()} characters.`);
    sendButton.disabled = true;
    sendButton.textContent = 'Sending…';
    await alert.run(async () => {
      if (seller && !note) {
        clearTimeout(timer);
        let verdict = current.text === text ? current : null;
        if (!verdict) {
          try {
            await check(text);
            verdict = current.text === text ? current : null;
          } catch (e) {
            if (e.status === 401) return;
          }
        }
        if (verdict && verdict.action === 'reject') return fail('This message would be blocked. Fix the highlighted parts first.');
      }
      await send(text, seller && !note && autoReply.checked, extra);
      reset();
      announce(note ? 'Note added.' : 'Message sent.');
      if (goNext) await next();
    }, (e) => {
      if (e instanceof ApiError && e.code === 'conflict') return showConflict(e);
      if (e instanceof ApiError && e.code === 'policy_violation') {
        show({ action: 'reject', findings: e.findings }, text);
        const files = [...new Set(e.findings.filter((f) => f.name).map((f) => f.name))];
        const inText = textFindings(e.findings).length > 0;
        return fail(files.length && !inText
          ? `The marketplace blocked this message because of ${files.length === 1 ? 'the attached file' : 'the attached files'} ${files.join(', ')}. Remove the file (or fix it and attach it again), then send.`
          : `The marketplace blocked this message. Fix the highlighted parts${files.length ? ` and the files ${files.join(', ')}` : ''} and send again.`);
      }
      return fail(e.message || String(e));
    });
    sendButton.disabled = false;
    sendButton.textContent = noteBox && noteBox.checked ? 'Add note' : 'Send';
  } },
  h('h2', { id: `${id}-h`, class: 'compose-title' }, label || 'Reply'),
  noteBox ? h('div', { class: 'field field-inline note-toggle' }, noteBox,
    h('label', { for: noteBox.id }, 'Internal note: only your team sees it, never sent to the buyer')) : null,
  tpl ? tpl.el : null,
  suggest ? suggest.el : null,
  editorField,
  policyBox,
  picker ? picker.el : null,
  autoField,
  conflictBox.el,
  alert.el,
  h('div', { class: 'actions' }, sendButton, nextButton));
  append(editorField, [textareaLabel, h('div', { class: 'editor' }, backdrop, textarea), counter]);

  function fail(msg) {
    alert.show(msg, editorField.hidden ? null : textarea);
    sendButton.disabled = false;
    sendButton.textContent = noteBox && noteBox.checked ? 'Add note' : 'Send';
  }

  textarea.addEventListener('scroll', () => { backdrop.scrollTop = textarea.scrollTop; });
  // Ctrl+Enter (Cmd+Enter) sends, as the Send button does
  textarea.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey) && !sendButton.disabled) {
      ev.preventDefault();
      form.requestSubmit(sendButton);
    }
  });
  return { el: form, textarea, focus: () => textarea.focus(), drafting: () => drafting || Boolean(textarea.value.trim()),
    refreshSuggestions: () => { if (suggest) suggest.refresh(); } };
}
