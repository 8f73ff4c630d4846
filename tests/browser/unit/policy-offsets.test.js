// policy-offsets.test.js - the page's conversion of the policy engine's UTF-8 byte offsets, and its urgency levels, without a browser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { byteRangeToIndices, locate, segments } from '../../../web/js/policy.js';
import { timeLeft } from '../../../web/js/format.js';

const text = 'Grüße! see www.my-shop-deals.com 😀 or call 555-123-4567';

test('byte ranges map to the same characters in a JS string', () => {
  const cut = (s, e) => { const [a, b] = byteRangeToIndices(text, s, e); return text.slice(a, b); };
  assert.equal(cut(13, 34), 'www.my-shop-deals.com'); // after two 2-byte letters
  assert.equal(cut(35, 39), '😀'); // a 4-byte character is two UTF-16 units
  assert.equal(cut(48, 60), '555-123-4567'); // after the emoji
  assert.equal(cut(3, 4), 'ü', 'an offset inside a character takes the whole character');
  assert.equal(cut(0, 0), '');
});

test('findings outside the text are dropped; overlaps split into segments', () => {
  const located = locate(text, [
    { category: 'phone', start: 48, end: 60 },
    { category: 'off_platform', start: 48, end: 60 },
    { category: 'link', start: 13, end: 34 },
    { category: 'link', start: 50, end: 999 },
  ]);
  assert.equal(located.length, 3);
  const segs = segments(text, located).map((s) => [s.text, s.findings.map((f) => f.category).join('+')]);
  assert.deepEqual(segs, [
    ['Grüße! see ', ''], ['www.my-shop-deals.com', 'link'], [' 😀 or call ', ''], ['555-123-4567', 'phone+off_platform'],
  ]);
});

test('time left: urgent under 4 hours, late once due', () => {
  const now = Date.parse('2026-11-23T12:00:00Z');
  assert.equal(timeLeft('2026-11-24T11:00:00Z', now).level, 'ok');
  assert.equal(timeLeft('2026-11-23T16:00:00Z', now).level, 'ok');
  assert.equal(timeLeft('2026-11-23T15:59:00Z', now).level, 'urgent');
  assert.equal(timeLeft('2026-11-23T15:59:00Z', now).text, '3 h 59 min left');
  assert.equal(timeLeft('2026-11-23T12:00:00Z', now).level, 'late');
  assert.equal(timeLeft('2026-11-23T10:30:00Z', now).text, 'Overdue 1 h 30 min');
  assert.equal(timeLeft(null, now), null);
});
