// templates.js - the seller's reply templates: the picker in the reply box (placeholder fields, preview) and the templates page.
import { h, replace, uniqueId, announce } from './dom.js';
import { errorBox } from './errors.js';
import { get, post, api } from './api.js';
import { categoryLabel } from './policy.js';
import { findingsList, highlighted } from './compose.js';
import { templatePurposes } from './meta.js';

export const LANGUAGES = [['en', 'English'], ['de', 'German'], ['es', 'Spanish'], ['fr', 'French'], ['it', 'Italian']];

/** Fields for the placeholders a seller fills; ORDER_ID always comes from the thread. */
const PLACEHOLDERS = {
  TRACKING: { label: 'Tracking number' },
  DATE: { label: 'Date', type: 'date' },
  AMOUNT: { label: 'Amount', help: 'For example 19.99 (the order\'s currency) or 19.99 EUR.' },
  TIMEFRAME: { label: 'Time frame', help: 'For example 2 days.' },
  ADDRESS: { label: 'Address' },
  BUYER_NAME: { label: 'Buyer\'s name', optional: 'Leave empty for the buyer\'s first name.' },
  PRODUCT_NAME: { label: 'Product name', optional: 'Leave empty for the order\'s first item.' },
};

/** "Order shipped", or "Spring sale (Other)" when the name does not say the purpose. */
export function optionLabel(t) {
  const p = purposeLabel(t.purpose);
  const label = t.name.toLowerCase() === p.toLowerCase() ? t.name : `${t.name} (${p})`;
  return t.personal ? `${label}, saved by you` : label;
}

export function purposeLabel(p) {
  const x = templatePurposes().find((t) => t.id === p);
  return x ? x.label : p;
}
function languageLabel(l) {
  const x = LANGUAGES.find(([k]) => k === l);
  return x ? x[1] : l;
}

/** The placeholders of a template's variants, in order of first use. */
export function placeholders(tpl) {
  const seen = [];
  for (const text of Object.values(tpl.variants || {})) {
    for (const m of String(text).matchAll(/\[([A-Z_]+)\]/g)) if (!seen.includes(m[1])) seen.push(m[1]);
  }
  return seen;
}

/**
 * The template picker of the reply box: a select of the seller's templates, a field per
 * placeholder, and a preview rendered by the server for the thread (in the buyer's language).
 */
export function createTemplatePicker({ threadId, onChange, onInsert = null }) {
  const id = uniqueId('tpl');
  let templates = [];
  let rendered = null; // the preview's text, to insert and edit
  const select = h('select', { id, name: 'template' }, h('option', { value: '' }, 'None: write your own'));
  // Finding one among many: the options whose name, purpose or text hold every word typed.
  const search = h('input', { type: 'search', id: `${id}-find`, autocomplete: 'off', placeholder: 'a word of the name or text', onInput: filter });
  const found = h('p', { class: 'help', id: `${id}-found`, 'aria-live': 'polite' });
  const insertButton = h('button', { type: 'button', class: 'btn btn-small', hidden: true, onClick: () => {
    if (!rendered || !onInsert) return;
    const text = rendered;
    onInsert(text);
  } }, 'Insert to edit');
  function filter() {
    const words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    for (const o of select.options) {
      const t = templates.find((x) => x.id === o.value);
      if (!t) continue;
      const hay = `${t.name} ${purposeLabel(t.purpose)} ${Object.values(t.variants || {}).join(' ')}`.toLowerCase();
      o.hidden = !words.every((w) => hay.includes(w));
      if (!o.hidden) shown++;
    }
    found.textContent = words.length ? `${shown} of ${templates.length} templates match.` : '';
  }
  const fields = h('div', { class: 'tpl-fields field-row' });
  const error = errorBox({ tag: 'p', class: 'field-error tpl-error', id: `${id}-error` });
  const preview = h('div', { class: 'tpl-preview', hidden: true, 'aria-live': 'polite' });
  const inputs = new Map();
  let timer = null;
  let seq = 0;

  get('/v1/templates').then((d) => {
    templates = d.templates || [];
    templates.sort((a, b) => a.name.localeCompare(b.name));
    for (const t of templates) select.append(h('option', { value: t.id }, optionLabel(t)));
    if (!templates.length) select.append(h('option', { value: '', disabled: true }, 'No templates yet: add them on the Templates page'));
  }).catch(() => {});

  function current() {
    return templates.find((t) => t.id === select.value) || null;
  }

  function build() {
    inputs.clear();
    error.hide();
    const t = current();
    rendered = null;
    insertButton.hidden = true;
    if (!t) {
      replace(fields);
      preview.hidden = true;
      return;
    }
    const list = placeholders(t).filter((p) => p !== 'ORDER_ID');
    replace(fields, list.map((p) => {
      const spec = PLACEHOLDERS[p] || { label: p };
      const fid = `${id}-${p.toLowerCase()}`;
      const input = h('input', { id: fid, name: p, type: spec.type || 'text', 'data-placeholder': p, autocomplete: 'off',
        'aria-describedby': spec.optional || spec.help ? `${fid}-help` : null, onInput: schedule });
      inputs.set(p, { input, optional: Boolean(spec.optional), label: spec.label });
      return h('div', { class: 'field' },
        h('label', { for: fid }, spec.label, spec.optional ? ' (optional)' : ''),
        input,
        spec.optional || spec.help ? h('p', { class: 'help', id: `${fid}-help` }, spec.optional || spec.help) : null);
    }));
    preview.hidden = false;
    refresh();
  }

  function collect() {
    const values = {};
    let missing = null;
    for (const [p, f] of inputs) {
      const v = f.input.value.trim();
      f.input.removeAttribute('aria-invalid');
      if (v) values[p] = v;
      else if (!f.optional && !missing) missing = p;
    }
    return { values, missing };
  }

  function schedule() {
    error.hide();
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  }

  async function refresh() {
    const t = current();
    if (!t) return;
    const { values, missing } = collect();
    const mine = ++seq;
    if (missing) {
      rendered = null;
      insertButton.hidden = true;
      replace(preview, h('p', { class: 'tpl-preview-title' }, 'Preview'),
        h('p', { class: 'muted' }, `Fill in ${inputs.get(missing).label} to see the message.`));
      return;
    }
    try {
      const r = await post(`/v1/templates/${encodeURIComponent(t.id)}/render`, { thread_id: threadId, values });
      if (mine !== seq) return;
      rendered = r.text;
      insertButton.hidden = !onInsert;
      replace(preview, h('p', { class: 'tpl-preview-title' }, `Preview (${languageLabel(r.language)}, the buyer's language or the closest one)`),
        h('p', { class: 'tpl-preview-text', lang: r.language }, r.text));
    } catch (e) {
      if (mine !== seq || e.status === 401) return;
      replace(preview, h('p', { class: 'tpl-preview-title' }, 'Preview'), h('p', { class: 'field-error' }, e.message));
    }
  }

  function showMissing(p, message) {
    const f = inputs.get(p);
    if (f) {
      f.input.setAttribute('aria-invalid', 'true');
      f.input.setAttribute('aria-errormessage', error.el.id);
    }
    error.show(message || `Fill in ${f ? f.label : p}: the template has the placeholder [${p}], and a message is never sent with a hole.`, f && f.input);
  }

  select.addEventListener('change', () => {
    build();
    onChange();
    if (current()) announce(`Template ${current().name} chosen.`);
  });

  const el = h('div', { class: 'tpl-picker' },
    h('div', { class: 'field' }, h('label', { for: `${id}-find` }, 'Narrow the list'), search, found),
    h('div', { class: 'field' }, h('label', { for: id }, 'Template'), select),
    fields, error.el, preview, insertButton);
  return {
    el,
    select,
    selected: () => (current() ? current().id : null),
    values: collect,
    showMissing: (p) => showMissing(p),
    showServerMissing(message) {
      const m = /\[([A-Z_]+)\]/.exec(message || '');
      showMissing(m ? m[1] : null, `The template needs a value: ${message}`);
    },
    clear() {
      select.value = '';
      build();
    },
  };
}

/** The templates page: list, starter set, create and edit with a text per language. */
export async function renderTemplates(el, ctx) {
  const owner = ctx.me.role === 'owner';
  const writes = ctx.me.role !== 'read_only'; // any agent who writes keeps saved replies of their own
  const mayChange = (t) => (t.personal ? writes : owner); // the server shows an agent only their own saved replies
  const status = h('p', { class: 'list-status', role: 'status' });
  const list = h('ul', { class: 'tpl-list', id: 'template-list', 'aria-label': 'Templates' });
  const formBox = h('div', { class: 'tpl-form-box' });
  let templates = [];

  async function load() {
    templates = (await get('/v1/templates')).templates || [];
    templates.sort((a, b) => a.name.localeCompare(b.name));
    replace(list, templates.map((t) => h('li', { class: 'card tpl-card', 'data-template': t.id },
      h('div', { class: 'tpl-card-head' },
        h('h2', null, t.name),
        t.name.toLowerCase() === purposeLabel(t.purpose).toLowerCase() ? null : h('span', { class: 'badge badge-kind' }, purposeLabel(t.purpose)),
        t.critical ? h('span', { class: 'badge state-response_needed' }, 'Critical') : null,
        t.personal ? h('span', { class: 'badge badge-kind' }, 'Your saved reply') : null,
        h('span', { class: 'muted mono' }, t.id)),
      h('p', { class: 'tpl-langs' }, 'Languages: ', Object.keys(t.variants || {}).map(languageLabel).join(', ')),
      h('p', { class: 'tpl-text' }, (t.variants && (t.variants.en || Object.values(t.variants)[0])) || ''),
      mayChange(t) ? h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'btn btn-small', onClick: () => edit(t) }, `Edit ${t.name}`),
        h('button', { type: 'button', class: 'btn btn-small btn-quiet', 'aria-label': `Delete ${t.name}`, onClick: async (ev) => {
          // a template is gone for the whole team: the first press asks, the second deletes
          const b = ev.currentTarget;
          if (!b.dataset.confirm) {
            b.dataset.confirm = '1';
            b.textContent = 'Delete for the whole team?';
            b.setAttribute('aria-label', `Confirm: delete ${t.name} for the whole team`);
            b.classList.add('btn-danger');
            announce(`Press again to delete ${t.name} for the whole team.`);
            return;
          }
          b.disabled = true;
          try {
            await api('DELETE', `/v1/templates/${encodeURIComponent(t.id)}`);
            announce(`${t.name} deleted.`);
            await load();
          } catch (e) {
            b.disabled = false;
            if (e.status !== 401) status.textContent = `Could not delete: ${e.message}`;
          }
        } }, 'Delete')) : null)));
    status.textContent = templates.length ? `${templates.length} template${templates.length === 1 ? '' : 's'}.`
      : 'No templates yet.' + (owner ? ' Install the starter set or write your own.' : '');
  }

  function edit(t, personal = Boolean(t && t.personal)) {
    const fid = uniqueId('tplf');
    const name = h('input', { id: `${fid}-name`, name: 'name', required: true, value: t ? t.name : '' });
    const purpose = h('select', { id: `${fid}-purpose`, name: 'purpose' }, templatePurposes().map((x) => h('option', { value: x.id, selected: t ? t.purpose === x.id : x.id === 'other' }, x.label)));
    const critical = h('input', { type: 'checkbox', id: `${fid}-critical`, checked: Boolean(t && t.critical) });
    const texts = new Map();
    const langFields = LANGUAGES.map(([code, label]) => {
      const ta = h('textarea', { id: `${fid}-${code}`, name: code, rows: '3', class: 'plain-input tpl-variant', lang: code, value: (t && t.variants && t.variants[code]) || '' });
      texts.set(code, ta);
      return h('div', { class: 'field' }, h('label', { for: ta.id }, `${label} text`), ta);
    });
    const error = errorBox();
    const findingsBox = h('div', { class: 'policy-findings' });
    const save = h('button', { type: 'submit', class: 'btn btn-primary' }, t ? 'Save changes' : 'Create template');
    const form = h('form', { class: 'card tpl-form', novalidate: true, 'aria-labelledby': `${fid}-h`, onSubmit: async (ev) => {
      ev.preventDefault();
      error.hide();
      findingsBox.replaceChildren();
      const variants = {};
      for (const [code, ta] of texts) if (ta.value.trim()) variants[code] = ta.value.trim();
      if (!name.value.trim()) return error.show('Give the template a name.', name);
      if (!Object.keys(variants).length) return error.show('Write the text in at least one language.', texts.get('en'));
      if (critical.checked && !templatePurposes().some((x) => x.id === purpose.value && x.may_be_critical)) {
        const ok = templatePurposes().filter((x) => x.may_be_critical).map((x) => x.label.toLowerCase()).join(', ');
        return error.show(`Only templates that complete the order may be critical: ${ok}.`, critical);
      }
      save.disabled = true;
      await error.run(async () => {
        const body = { name: name.value.trim(), purpose: purpose.value, critical: critical.checked, variants, personal };
        const r = t ? await api('PUT', `/v1/templates/${encodeURIComponent(t.id)}`, body) : await post('/v1/templates', body);
        announce(`${r.template.name} saved.`);
        formBox.replaceChildren();
        await load();
      }, (e) => {
        if (e.code !== 'policy_violation') return e.message;
        const lang = (e.body && e.body.error && e.body.error.language) || 'en';
        const ta = texts.get(lang);
        const sample = ta ? ta.value : '';
        error.show(`The ${languageLabel(lang)} text breaks the communication policy (checked with sample values). Fix it and save again.`, ta);
        // The server checked the text filled with sample values, so its offsets are not the
        // typed text's: find each matched text in what was typed instead.
        const located = [];
        for (const f of e.findings) {
          const at = f.text ? sample.indexOf(f.text) : -1;
          if (at >= 0) located.push({ ...f, from: at, to: at + f.text.length });
        }
        replace(findingsBox, located.length ? [h('div', { class: 'msg-text tpl-marked' }), findingsList(located)]
          : h('ul', { class: 'findings' }, e.findings.map((f) => h('li', { class: 'finding' }, h('span', { class: 'badge badge-cat' }, categoryLabel(f.category)), ' ', h('q', null, f.text)))));
        if (located.length) highlighted(sample, located, findingsBox.firstChild);
        return null;
      });
      save.disabled = false;
    } },
    h('h2', { id: `${fid}-h` }, t ? `Edit ${t.name}` : personal ? 'New saved reply' : 'New template'),
    personal ? h('p', { class: 'help' }, 'A saved reply is yours alone: nobody else on the team sees or uses it.') : null,
    h('p', { class: 'help' }, 'Placeholders: [ORDER_ID] (always filled), [BUYER_NAME], [PRODUCT_NAME], [TRACKING], [DATE], [AMOUNT], [TIMEFRAME], [ADDRESS]. The buyer gets the text in their language, else the marketplace\'s, else English.'),
    h('div', { class: 'field-row' },
      h('div', { class: 'field' }, h('label', { for: name.id }, 'Name'), name),
      h('div', { class: 'field' }, h('label', { for: purpose.id }, 'Purpose'), purpose)),
    h('div', { class: 'field field-inline' }, critical, h('label', { for: critical.id }, 'Critical (completes the order: reaches buyers who opted out)')),
    langFields,
    error.el,
    findingsBox,
    h('div', { class: 'actions' }, save, h('button', { type: 'button', class: 'btn', onClick: () => formBox.replaceChildren() }, 'Cancel')));
    replace(formBox, form);
    name.focus();
  }

  const starter = owner ? h('button', { type: 'button', class: 'btn', id: 'install-starter', onClick: async () => {
    starter.disabled = true;
    try {
      const r = await post('/v1/templates/starter', {});
      const n = (r.templates || []).length;
      announce(n ? `${n} starter templates installed.` : 'The starter set is already installed.');
      status.textContent = '';
      await load();
      if (!n) status.textContent = `${status.textContent} The starter set was already installed.`;
    } catch (e) {
      if (e.status !== 401) status.textContent = `Could not install the starter set: ${e.message}`;
    } finally {
      starter.disabled = false;
    }
  } }, 'Install the starter set') : null;

  replace(el,
    h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, 'Templates'),
      h('div', { class: 'actions' }, starter, owner ? h('button', { type: 'button', class: 'btn btn-primary', id: 'new-template', onClick: () => edit(null) }, 'New template') : null,
        writes ? h('button', { type: 'button', class: 'btn', id: 'new-saved-reply', onClick: () => edit(null, true) }, 'New saved reply') : null)),
    h('p', { class: 'help' }, 'Replies in the buyer\'s language, with the order\'s details filled in. Each text passes the communication policy when it is saved.',
      owner ? ' Saved replies are an agent\'s own.' : ' Only the seller\'s owner changes the team\'s templates; your saved replies are yours alone.'),
    formBox,
    status,
    list);
  await load();
}
