// attachments.js - file upload to /v1/attachments, chips of the files to send, download links, findings that name a file.
import { h, replace, uniqueId, announce } from './dom.js';
import { errorBox } from './errors.js';
import { csrfToken, ApiError } from './api.js';
import { categoryLabel, categoryHint } from './policy.js';
import { limits } from './meta.js';

const accept = () => limits().attachment_extensions.map((x) => `.${x}`).join(',');
const KIND = { pdf: 'PDF', doc: 'Word', docx: 'Word', txt: 'Text', jpg: 'JPEG image', jpeg: 'JPEG image', gif: 'GIF image', png: 'PNG image', bmp: 'BMP image', tif: 'TIFF image', tiff: 'TIFF image' };

/** "48 KB", "1.2 MB". */
export function formatSize(n) {
  if (n < 1000) return `${n} bytes`;
  if (n < 1000000) return `${Math.round(n / 1000)} KB`;
  return `${(n / 1000000).toFixed(1)} MB`;
}

export function kindLabel(kind) {
  return KIND[kind] || (kind ? kind.toUpperCase() : 'File');
}

/** Words for a refused upload (413, 415 and the others). */
export function uploadRefusal(e, name) {
  if (e.status === 413) return `${name} is too large: files may be at most 10 MB.`;
  if (e.code === 'media_type_mismatch') return `${name} is not what its name says (${e.message}). Rename it or pick another file.`;
  if (e.status === 415) return `${name} cannot be attached: only Word (.doc, .docx), PDF, text (.txt) and images (.jpg, .gif, .png, .bmp, .tif) are accepted.`;
  if (e.code === 'empty_text') return `${name} is empty.`;
  if (e.status === 403) return 'You may not upload files.';
  return `${name} could not be uploaded: ${e.message}`;
}

/** Uploads one File as the raw body; resolves to the attachment record; throws ApiError. */
export async function upload(file) {
  if (file.size > limits().attachment_bytes) throw new ApiError(413, { error: { code: 'payload_too_large', message: 'too large' } });
  const headers = { Accept: 'application/json' };
  const t = csrfToken();
  if (t) headers['X-CSRF-Token'] = t;
  let res;
  try {
    res = await fetch(`/v1/attachments?name=${encodeURIComponent(file.name)}`, {
      method: 'POST', headers, body: file, credentials: 'same-origin', cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, { error: { code: 'network', message: 'The server cannot be reached.' } });
  }
  let data = null;
  try { data = await res.json(); } catch { data = null; }
  if (!res.ok) throw new ApiError(res.status, data);
  return data.attachment;
}

/** Download links of a message's attachments (null when it has none). */
export function attachmentLinks(list) {
  if (!list || !list.length) return null;
  return h('ul', { class: 'attachments', 'aria-label': 'Attachments' }, list.map((a) => h('li', { class: 'att' },
    h('a', { class: 'att-link', href: `/v1/attachments/${encodeURIComponent(a.id)}`, download: a.name, 'data-attachment': a.id },
      h('span', { class: 'att-name' }, a.name)),
    h('span', { class: 'att-meta' }, ` ${kindLabel(a.kind)} · ${formatSize(a.size)}`))));
}

/** Findings that come from an attachment: "invoice.pdf, page 2 (link)". */
export function fileFindings(findings) {
  const inFiles = (findings || []).filter((f) => f.attachment || f.name);
  if (!inFiles.length) return null;
  return h('ul', { class: 'findings file-findings' }, inFiles.map((f) => h('li', { class: ['finding', `cat-${f.category}`], 'data-category': f.category, 'data-file': f.name || '' },
    h('span', { class: ['badge', 'badge-cat', `cat-${f.category}`] }, categoryLabel(f.category)),
    ' in ',
    h('strong', { class: 'finding-file' }, f.name || 'an attachment'),
    f.page ? `, page ${f.page}` : '',
    f.source && f.source !== 'text' ? ` (${sourceLabel(f.source)})` : '',
    ': ',
    h('q', { class: 'finding-text' }, f.text || ''),
    h('p', { class: 'hint' }, `${categoryHint(f.category)} Remove it from the file, or remove the file.`))));
}

function sourceLabel(s) {
  return { link: 'a link', ocr: 'text in an image', header: 'header', footer: 'footer', note: 'a comment', meta: 'document properties' }[s] || s;
}

/**
 * The file picker of a form: uploads each chosen file at once and shows it as a chip
 * (name, kind, size, Remove). ids() gives the uploaded ids; clear() empties it.
 */
export function createAttachmentPicker({ label = 'Attach files', scanned = true } = {}) {
  const id = uniqueId('attach');
  const input = h('input', { type: 'file', id, multiple: true, accept: accept(), class: 'file-input', 'aria-describedby': `${id}-help` });
  const chips = h('ul', { class: 'chips', 'aria-label': 'Attached files', id: `${id}-chips` });
  const error = errorBox({ tag: 'p', class: 'field-error' });
  const files = []; // {id, name, kind, size} or {pending: true, name}
  let busy = 0;

  function paint() {
    replace(chips, files.map((f, i) => h('li', { class: ['chip', f.pending && 'chip-pending'], 'data-name': f.name },
      h('span', { class: 'chip-name' }, f.name),
      h('span', { class: 'chip-meta' }, f.pending ? 'uploading…' : `${kindLabel(f.kind)} · ${formatSize(f.size)}${f.readable === false ? ' · could not be read: will be held for review' : ''}`),
      f.pending ? null : h('button', { type: 'button', class: 'btn-link chip-remove', 'aria-label': `Remove ${f.name}`, onClick: () => {
        files.splice(i, 1);
        paint();
        announce(`${f.name} removed.`);
        input.focus();
      } }, 'Remove'))));
  }

  input.addEventListener('change', async () => {
    const chosen = [...input.files];
    input.value = '';
    error.hide();
    const problems = [];
    await Promise.all(chosen.map(async (file) => {
      const max = limits().attachments_per_message;
      if (files.length >= max) { problems.push(`At most ${max} files per message.`); return; }
      const slot = { pending: true, name: file.name };
      files.push(slot);
      busy += 1;
      paint();
      try {
        const a = await upload(file);
        Object.assign(slot, a, { pending: false });
        announce(`${a.name} attached.`);
      } catch (e) {
        files.splice(files.indexOf(slot), 1);
        if (e.status !== 401) problems.push(uploadRefusal(e, file.name));
      } finally {
        busy -= 1;
        paint();
      }
    }));
    if (problems.length) error.show(problems.join(' '));
  });

  const el = h('div', { class: 'field attach-field' },
    h('label', { for: id }, label),
    input,
    h('p', { class: 'help', id: `${id}-help` }, `Word, PDF, text or images, up to 10 MB each.${scanned ? ' Files are checked like the message text.' : ''}`),
    error.el,
    chips);
  return {
    el,
    input,
    ids: () => files.filter((f) => !f.pending).map((f) => f.id),
    busy: () => busy > 0,
    clear() { files.length = 0; paint(); error.hide(); },
  };
}
