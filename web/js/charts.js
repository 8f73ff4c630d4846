// charts.js - the performance page's pictures, drawn as SVG by the page: CRT gauge, response-time bars, volume heat strips, weekly trend.
import { h, s, scrollBox } from './dom.js';
import { formatDuration, formatPercent, formatDate, crtStatusLabel } from './format.js';

/** The marketplace's CRT thresholds, as the metrics carry them (crt.good_from, crt.warning_from; docs/metrics.md). */
export function thresholds(crt) {
  return { good: crt.good_from, warning: crt.warning_from };
}

const CX = 100;
const CY = 100;
const R = 78;

function point(p, r = R) {
  const a = Math.PI * (1 - Math.max(0, Math.min(100, p)) / 100);
  return [CX + r * Math.cos(a), CY - r * Math.sin(a)];
}

function arc(p1, p2, cls) {
  const [x1, y1] = point(p1);
  const [x2, y2] = point(p2);
  return s('path', { d: `M ${x1.toFixed(2)} ${y1.toFixed(2)} A ${R} ${R} 0 0 1 ${x2.toFixed(2)} ${y2.toFixed(2)}`, class: cls });
}

/**
 * The CRT gauge: a half circle from 0 to 100 % with the at-risk, warning and good bands,
 * a needle at the value (none without data) and the value in words for screen readers.
 */
export function crtGauge(crt) {
  const { good: GOOD, warning: WARNING } = thresholds(crt);
  const p = crt.percent;
  const none = p === null || p === undefined;
  const label = none
    ? 'Contact response time: no data (no buyer message in the window has reached its 24 hours or been answered)'
    : `Contact response time ${formatPercent(p)}: ${crtStatusLabel(crt.status)}. Good from ${GOOD} %, warning from ${WARNING} %, at risk below ${WARNING} %.`;
  const ticks = [0, WARNING, GOOD, 100].map((t) => {
    const [x, y] = point(t, R + 14);
    return s('text', { x: x.toFixed(1), y: (y + 4).toFixed(1), class: 'gauge-tick', 'text-anchor': t === 0 ? 'end' : t === 100 ? 'start' : 'middle' }, String(t));
  });
  let needle = null;
  if (!none) {
    const [x, y] = point(p, R - 8);
    needle = [s('line', { x1: CX, y1: CY, x2: x.toFixed(2), y2: y.toFixed(2), class: 'gauge-needle' }),
      s('circle', { cx: CX, cy: CY, r: 5, class: 'gauge-hub' })];
  }
  return s('svg', { viewBox: '-14 0 228 118', class: 'gauge', role: 'img', 'aria-label': label, 'data-testid': 'crt-gauge' },
    s('title', null, label),
    arc(0, WARNING, 'gauge-band gauge-bad'),
    arc(WARNING, GOOD, 'gauge-band gauge-warn'),
    arc(GOOD, 100, 'gauge-band gauge-good'),
    ticks,
    needle,
    none ? s('text', { x: CX, y: CY - 12, class: 'gauge-none', 'text-anchor': 'middle' }, 'No data') : null);
}

/**
 * Mean, median and 90th percentile as bars against the 24-hour limit (a dashed line),
 * scaled to the larger of 24 hours and the p90.
 */
export function responseBars(rt, limit = 86400) {
  const rows = [['Mean', rt.avg_s], ['Median', rt.median_s], ['90th percentile', rt.p90_s]];
  const max = Math.max(limit, ...rows.map(([, v]) => Number(v) || 0)) * 1.05;
  const W = 280;
  const x0 = 106;
  const span = W - x0 - 10;
  const rowH = 30;
  const H = rows.length * rowH + 22;
  const lx = x0 + (limit / max) * span;
  const label = rows.map(([n, v]) => `${n} ${formatDuration(v)}`).join(', ');
  return s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'rt-bars', role: 'img', 'aria-label': `Response times: ${label}; the limit is 24 hours.` },
    rows.map(([name, v], i) => {
      const y = i * rowH + 6;
      const has = v !== null && v !== undefined;
      const w = has ? Math.max(2, (Number(v) / max) * span) : 0;
      return s('g', null,
        s('text', { x: 0, y: y + 15, class: 'chart-label' }, name),
        has ? s('rect', { x: x0, y, width: w.toFixed(1), height: 20, rx: 3, class: Number(v) > limit ? 'bar bar-late' : 'bar' }) : null,
        // The figure after the bar, or inside it from its start when the bar is too long.
        s('text', { x: has && x0 + w + 4 > W - 64 ? x0 + 4 : has ? x0 + w + 4 : x0, y: y + 15, class: has && x0 + w + 4 > W - 64 ? 'chart-value chart-value-in' : 'chart-value' }, formatDuration(v)));
    }),
    s('line', { x1: lx.toFixed(1), x2: lx.toFixed(1), y1: 2, y2: H - 18, class: 'limit-line' }),
    s('text', { x: lx.toFixed(1), y: H - 4, 'text-anchor': 'middle', class: 'chart-label' }, '24 h'));
}

/** Heat level 0..4 of a count against the largest count. */
function heat(n, max) {
  if (!n || !max) return 0;
  return Math.max(1, Math.min(4, Math.ceil((n / max) * 4)));
}

const WEEKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

/**
 * Volume heat strips: buyer messages by UTC hour of day (24 cells) and by day of the week
 * (7 cells, Monday first); darker is more. Each cell carries its count in text.
 */
export function volumeHeat(volume) {
  const hours = volume.by_hour || [];
  const days = volume.by_weekday || [];
  const maxH = Math.max(0, ...hours);
  const maxD = Math.max(0, ...days);
  const pad = (n) => String(n).padStart(2, '0');
  return h('div', { class: 'heat', 'data-testid': 'volume' },
    h('h3', { id: 'heat-hours-h' }, 'By hour of day (UTC)'),
    h('ol', { class: 'heat-strip heat-hours', 'aria-labelledby': 'heat-hours-h' }, hours.map((n, i) => h('li', {
      class: ['heat-cell', `heat-${heat(n, maxH)}`], 'data-hour': String(i), title: `${pad(i)}:00–${pad(i)}:59 UTC: ${n} buyer message${n === 1 ? '' : 's'}`,
    }, h('span', { class: 'heat-key', 'aria-hidden': 'true' }, pad(i)), h('span', { class: 'sr-only' }, `${pad(i)}:00 to ${pad(i)}:59: `),
    h('span', { class: 'heat-n' }, String(n))))),
    h('h3', { id: 'heat-days-h' }, 'By day of the week (UTC)'),
    h('ol', { class: 'heat-strip heat-days', 'aria-labelledby': 'heat-days-h' }, days.map((n, i) => h('li', {
      class: ['heat-cell', `heat-${heat(n, maxD)}`], 'data-weekday': String(i), title: `${WEEKDAYS[i]}: ${n} buyer message${n === 1 ? '' : 's'}`,
    }, h('span', { class: 'heat-key', 'aria-hidden': 'true' }, WEEKDAYS[i].slice(0, 3)), h('span', { class: 'sr-only' }, `${WEEKDAYS[i]}: `),
    h('span', { class: 'heat-n' }, String(n))))),
    h('p', { class: 'help heat-legend' }, 'Lighter to darker: fewer to more buyer messages. ',
      [0, 1, 2, 3, 4].map((k) => h('span', { class: ['heat-swatch', `heat-${k}`], 'aria-hidden': 'true' }))));
}

/**
 * The trend: CRT % of each week (points: {at, crt}), with the warning and good thresholds as lines. Weeks
 * without data leave a gap in the line. A table with the same figures follows.
 */
export function trendChart(points, { good: GOOD, warning: WARNING }) {
  const W = 860;
  const H = 250;
  const L = 48;
  const Rr = 36;
  const T = 12;
  const B = 52;
  const iw = W - L - Rr;
  const ih = H - T - B;
  const x = (i) => L + (points.length > 1 ? (i / (points.length - 1)) * iw : iw / 2);
  const y = (p) => T + (1 - p / 100) * ih;
  const grid = [0, 50, WARNING, GOOD, 100].map((v) => [
    s('line', { x1: L, x2: W - Rr, y1: y(v).toFixed(1), y2: y(v).toFixed(1), class: v === WARNING || v === GOOD ? `grid-line threshold-${v === GOOD ? 'good' : 'warn'}` : 'grid-line' }),
    s('text', { x: L - 6, y: (y(v) + 4).toFixed(1), 'text-anchor': 'end', class: 'chart-label' }, `${v}%`),
  ]);
  const runs = [];
  let run = [];
  points.forEach((pt, i) => {
    const p = pt.crt && pt.crt.percent;
    if (p === null || p === undefined) {
      if (run.length) runs.push(run);
      run = [];
    } else run.push(`${x(i).toFixed(1)},${y(p).toFixed(1)}`);
  });
  if (run.length) runs.push(run);
  const dots = points.map((pt, i) => {
    const p = pt.crt && pt.crt.percent;
    const when = formatDate(pt.at);
    if (p === null || p === undefined) {
      // Below the axis, so that a week without data never reads as 0 %.
      return s('g', { 'data-week': pt.at }, s('circle', { cx: x(i).toFixed(1), cy: (y(0) + 12).toFixed(1), r: 3.5, class: 'dot-none' }, s('title', null, `Week to ${when}: no data`)));
    }
    return s('circle', { cx: x(i).toFixed(1), cy: y(p).toFixed(1), r: 4.5, class: `dot dot-${pt.crt.status}`, 'data-week': pt.at },
      s('title', null, `Week to ${when}: ${formatPercent(p)} (${pt.crt.on_time} on time, ${pt.crt.late} late)`));
  });
  const labels = points.map((pt, i) => (i % 2 === 0 || i === points.length - 1) && !(i === points.length - 2 && points.length % 2 === 0)
    ? s('text', { x: x(i).toFixed(1), y: H - B + 34, 'text-anchor': 'middle', class: 'chart-label' },
      new Date(pt.at).toLocaleDateString(undefined, { month: 'short', day: 'numeric' }))
    : null);
  const withData = points.filter((pt) => pt.crt && pt.crt.percent !== null && pt.crt.percent !== undefined);
  const summary = withData.length
    ? `Weekly contact response time over ${points.length} weeks: from ${formatPercent(withData[0].crt.percent)} to ${formatPercent(withData[withData.length - 1].crt.percent)}; ${points.length - withData.length} weeks without data.`
    : `Weekly contact response time over ${points.length} weeks: no data in any week.`;
  return h('figure', { class: 'trend', 'data-testid': 'trend' },
    scrollBox('chart-scroll', 'Weekly trend', s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'trend-svg', role: 'img', 'aria-label': summary },
      grid,
      runs.map((r) => (r.length > 1 ? s('polyline', { points: r.join(' '), class: 'trend-line' }) : null)),
      dots,
      labels,
      s('text', { x: L + iw / 2, y: H - 2, 'text-anchor': 'middle', class: 'chart-label' }, 'week ending (hollow dots below the axis: no data that week)'))),
    h('figcaption', { class: 'help' }, summary),
    h('details', { class: 'trend-table' },
      h('summary', null, 'Show the weekly figures'),
      h('table', { class: 'table' },
        h('thead', null, h('tr', null, ['Week ending', 'CRT', 'On time', 'Late', 'Received'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', null, points.map((pt) => h('tr', null,
          h('td', null, formatDate(pt.at)),
          h('td', null, pt.crt ? formatPercent(pt.crt.percent) : '—'),
          h('td', null, pt.crt ? String(pt.crt.on_time) : '—'),
          h('td', null, pt.crt ? String(pt.crt.late) : '—'),
          h('td', null, pt.crt ? String(pt.crt.received) : '—')))))));
}
