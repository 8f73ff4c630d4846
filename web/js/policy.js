// policy.js - the content policy's findings in the browser: byte offsets to text positions, hints, highlight segments.
import { policyCategory } from './meta.js';

/** A category's plain-language name (GET /v1/meta), or its id. */
export function categoryLabel(c) {
  const k = policyCategory(c);
  return (k && k.label) || c;
}
/** How to rewrite a text with a finding of the category. */
export function categoryHint(c) {
  const k = policyCategory(c);
  return (k && k.hint) || 'This part breaks the marketplace\'s communication policy.';
}

function utf8Length(codePoint) {
  if (codePoint < 0x80) return 1;
  if (codePoint < 0x800) return 2;
  if (codePoint < 0x10000) return 3;
  return 4;
}

/**
 * Converts a UTF-8 byte range [start, end) of text into a JS string range [from, to)
 * (UTF-16 indices). An offset inside a character widens the range to the whole character.
 */
export function byteRangeToIndices(text, start, end) {
  let byte = 0;
  let from = null;
  let to = null;
  let i = 0;
  while (i < text.length) {
    const cp = text.codePointAt(i);
    const units = cp > 0xffff ? 2 : 1;
    const next = byte + utf8Length(cp);
    if (from === null && start < next) from = i;
    if (to === null && end <= byte) to = i;
    byte = next;
    i += units;
    if (from !== null && to !== null) break;
  }
  if (from === null) from = text.length;
  if (to === null) to = text.length;
  if (to < from) to = from;
  return [from, to];
}

/** The UTF-8 length of a string in bytes. */
export function byteLength(text) {
  return new TextEncoder().encode(text).length;
}

/**
 * Findings with JS string positions: [{...finding, from, to}], dropping any whose
 * range lies outside the text (a stale answer for text that has since changed).
 */
export function locate(text, findings) {
  const total = byteLength(text);
  const out = [];
  for (const f of findings || []) {
    const s = Number(f.start);
    const e = Number(f.end);
    if (!Number.isFinite(s) || !Number.isFinite(e) || s < 0 || e > total || e <= s) continue;
    const [from, to] = byteRangeToIndices(text, s, e);
    out.push({ ...f, from, to });
  }
  return out;
}

/**
 * Splits text into consecutive segments for highlighting: [{text, findings: [...]}],
 * where findings are the located findings covering that segment (overlaps allowed).
 */
export function segments(text, located) {
  const cuts = new Set([0, text.length]);
  for (const f of located) {
    cuts.add(f.from);
    cuts.add(f.to);
  }
  const points = [...cuts].sort((a, b) => a - b);
  const out = [];
  for (let k = 0; k + 1 < points.length; k++) {
    const a = points[k];
    const b = points[k + 1];
    if (a === b) continue;
    out.push({ text: text.slice(a, b), findings: located.filter((f) => f.from <= a && f.to >= b) });
  }
  return out;
}
