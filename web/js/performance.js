// performance.js - a seller's performance (CRT gauge, counts, response times, volume, trend, agents, deadlines) and enforcement status; the operator's measures form.
import { h, replace, announce, uniqueId, scrollBox } from './dom.js';
import { errorBox } from './errors.js';
import { get, post, qs } from './api.js';
import { crtGauge, responseBars, volumeHeat, trendChart, thresholds } from './charts.js';
import { categoryLabel } from './policy.js';
import { formatDuration, formatPercent, formatRate, formatDateTime, crtStatusLabel } from './format.js';

export const WINDOWS = [['7d', '7 days'], ['30d', '30 days'], ['90d', '90 days']];
const WEEKS = 13;
const WEEK_S = 7 * 86400;

const iso = (ms) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

/** The 13 weekly points of the trend: 7-day metrics at each week's end, oldest first. */
async function weeklyTrend(sellerId, atIso) {
  const end = Date.parse(atIso);
  const ats = Array.from({ length: WEEKS }, (_, k) => iso(end - (WEEKS - 1 - k) * WEEK_S * 1000));
  const all = await Promise.all(ats.map((at) => get(`/v1/sellers/${encodeURIComponent(sellerId)}/metrics${qs({ window: '7d', at })}`)));
  return all.map((m, k) => ({ at: ats[k], crt: m.crt }));
}

function figure(label, value, extra) {
  return h('div', { class: 'figure' }, h('dt', null, label), h('dd', null, value, extra ? h('span', { class: 'figure-extra' }, extra) : null));
}

function statusBadge(status) {
  return h('span', { class: ['badge', `crt-${status}`], 'data-testid': 'crt-status' }, crtStatusLabel(status));
}

function crtCard(m) {
  const c = m.crt;
  return h('section', { class: 'card perf-card perf-crt', 'aria-labelledby': 'crt-h' },
    h('h2', { id: 'crt-h' }, 'Contact response time'),
    h('div', { class: 'crt-top' },
      crtGauge(c),
      h('div', { class: 'crt-value' },
        h('p', { class: 'crt-number', 'data-testid': 'crt-percent' }, c.percent === null ? '—' : formatPercent(c.percent)),
        statusBadge(c.status))),
    h('p', { class: 'help' }, `Buyer messages answered within 24 hours, of those answered or overdue. Good from ${thresholds(c).good} %, warning from ${thresholds(c).warning} % to below ${thresholds(c).good} %, at risk below ${thresholds(c).warning} %.`),
    h('dl', { class: 'figures', 'data-testid': 'crt-counts' },
      figure('On time', String(c.on_time)),
      figure('Late', String(c.late)),
      figure('Pending', String(c.pending), ' (24 hours not over)'),
      figure('No response needed', String(c.flagged)),
      figure('Received', String(c.received))));
}

/** The complaint rate (docs/metrics.md): conversations whose order got a claim. */
function complaintCard(m) {
  const cp = m.complaints;
  if (!cp) return null;
  return h('section', { class: 'card perf-card', 'aria-labelledby': 'cp-h', 'data-testid': 'complaints' },
    h('h2', { id: 'cp-h' }, 'Complaint rate'),
    h('p', { class: 'crt-number', 'data-testid': 'complaint-percent' }, cp.percent === null ? '—' : formatPercent(cp.percent),
      cp.at_risk ? h('span', { class: 'badge crt-at_risk' }, ' At risk') : null),
    h('dl', { class: 'figures' },
      figure('Conversations', String(cp.conversations)),
      figure('With a claim', String(cp.with_claim))),
    h('p', { class: 'help' }, `Conversations about an order started in this window whose order got an A-to-z claim, a chargeback or negative feedback. At risk above ${cp.at_risk_above} %.`));
}

function responseCard(m) {
  const rt = m.response_time;
  return h('section', { class: 'card perf-card', 'aria-labelledby': 'rt-h' },
    h('h2', { id: 'rt-h' }, 'Response times'),
    rt.answered ? responseBars(rt) : h('p', { class: 'muted' }, 'No answered buyer messages in this window.'),
    h('dl', { class: 'figures', 'data-testid': 'rt-figures' },
      figure('Mean', formatDuration(rt.avg_s)),
      figure('Median', formatDuration(rt.median_s)),
      figure('90th percentile', formatDuration(rt.p90_s)),
      figure('Answered', String(rt.answered))),
    h('p', { class: 'help' }, 'Over answered messages that were not marked "no response needed". The server gives these three figures, not every response time, so there is no finer histogram.'));
}

function resolutionCard(m) {
  const r = m.resolution;
  const n = m.no_response_needed;
  return h('section', { class: 'card perf-card', 'aria-labelledby': 'res-h' },
    h('h2', { id: 'res-h' }, 'Conversations'),
    h('dl', { class: 'figures' },
      figure('Resolved in one or two replies', formatRate(r.rate), ` of ${r.threads} conversation${r.threads === 1 ? '' : 's'}`),
      figure('In one reply', String(r.resolved_one)),
      figure('In two replies', String(r.resolved_two)),
      figure('Marked no response needed', formatRate(n.rate), ` (${n.flag_window}: ${formatRate(n.flag_window_rate)})`)),
    n.over_flagging
      ? h('p', { class: 'alert alert-warn', 'data-testid': 'over-flagging' }, `More than 20 % of buyer messages in the last ${n.flag_window.replace('d', ' days')} were marked "no response needed". The marketplace reviews sellers who flag this often.`)
      : null);
}

function agentName(a, me) {
  if (!a.agent) return 'Not recorded';
  return me && me.agent_id === a.agent ? `Agent ${a.agent} (you)` : `Agent ${a.agent}`;
}

function agentsCard(m, me) {
  const rows = m.agents || [];
  return h('section', { class: 'card perf-card perf-wide', 'aria-labelledby': 'agents-h' },
    h('h2', { id: 'agents-h' }, 'By agent'),
    rows.length ? scrollBox('table-wrap', 'Agents', h('table', { class: 'table', 'data-testid': 'agents' },
      h('caption', { class: 'sr-only' }, 'Answers by agent'),
      h('thead', null, h('tr', null, ['Agent', 'Answered', 'On time', 'Late', 'On time %', 'Mean', 'Median', '90th pct.'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', null, rows.map((a) => h('tr', { 'data-agent': String(a.agent) },
        h('th', { scope: 'row' }, agentName(a, me)),
        h('td', null, String(a.answered)), h('td', null, String(a.on_time)), h('td', null, String(a.late)),
        h('td', null, formatPercent(a.percent)), h('td', null, formatDuration(a.avg_s)),
        h('td', null, formatDuration(a.median_s)), h('td', null, formatDuration(a.p90_s)))))))
      : h('p', { class: 'muted' }, 'No agent answered a buyer message in this window.'),
    h('p', { class: 'help' }, '"Not recorded" gathers replies stored without an agent (imports, the API without an agent token).'));
}

function deadlineList(items, kind) {
  if (!items.length) return null;
  return h('ul', { class: 'deadlines', 'data-testid': `deadlines-${kind}` }, items.map((d) => {
    const tid = typeof d.thread === 'number' ? `T${d.thread}` : String(d.thread);
    const left = d.left_s > 0 ? `${formatDuration(d.left_s)} left` : `overdue ${formatDuration(-d.left_s)}`;
    return h('li', null,
      h('a', { href: `#/thread/${encodeURIComponent(tid)}` }, `Thread ${tid}`),
      ` · received ${formatDateTime(d.received_at)} · due ${formatDateTime(d.due_at)} · `,
      h('span', { class: ['due', kind === 'overdue' ? 'due-late' : 'due-urgent'] }, left));
  }));
}

function deadlinesCard(m) {
  const d = m.deadlines;
  return h('section', { class: 'card perf-card', 'aria-labelledby': 'dl-h' },
    h('h2', { id: 'dl-h' }, 'Deadlines'),
    h('dl', { class: 'figures' },
      figure('Due within 4 hours', String(d.due_soon_count)),
      figure('Overdue', String(d.overdue_count))),
    deadlineList(d.due_soon || [], 'due-soon'),
    deadlineList(d.overdue || [], 'overdue'),
    !d.due_soon_count && !d.overdue_count ? h('p', { class: 'muted' }, 'Nothing is due soon.') : null);
}

/** The seller's enforcement status: warnings, restriction, quota, suspension flag and violations. */
export function enforcementSection(en, { operator = false } = {}) {
  const r = en.restriction;
  const q = en.quota;
  const sp = en.suspension;
  const line = (active, on, off, reason) => h('dd', { class: active ? 'measure-on' : 'measure-off' },
    active ? h('span', { class: 'badge badge-measure' }, on) : h('span', null, off),
    reason ? h('span', { class: 'measure-reason' }, active ? ` Reason: ${reason}` : ` · last change: ${reason}`) : null);
  const vs = en.violations || [];
  const severe = vs.filter((v) => v.severity === 'severe').length;
  const anything = r.active || q.active || sp.flagged || en.warnings > 0;
  const hid = uniqueId('enf');
  return h('section', { class: 'card perf-card perf-wide enforcement', 'aria-labelledby': hid, 'data-testid': 'enforcement' },
    h('h2', { id: hid }, operator ? 'Enforcement' : 'Enforcement status'),
    h('p', { class: ['alert', anything ? 'alert-warn' : 'alert-ok'] }, anything
      ? (r.active ? 'Proactive messages are restricted: replies to buyers are still allowed.' : 'There are warnings on this account.')
      : 'In good standing: no warnings, restrictions or quotas.'),
    h('dl', { class: 'facts measures' },
      h('dt', null, 'Warnings'), h('dd', { 'data-testid': 'warnings' }, String(en.warnings), h('span', { class: 'muted' }, ' (each blocked message is one)')),
      h('dt', null, 'Proactive messaging'),
      line(r.active, `Restricted until ${formatDateTime(r.until)}`, 'Not restricted', r.reason),
      h('dt', null, 'Message quota'),
      line(q.active, `${q.per_day} messages a day until ${formatDateTime(q.until)}`, 'No quota', q.reason),
      h('dt', null, 'Suspension review'),
      line(sp.flagged, 'Flagged for suspension review', 'Not flagged', sp.reason)),
    h('h3', null, 'Violations in the last 90 days'),
    vs.length ? scrollBox('table-wrap', 'Violations', h('table', { class: 'table', 'data-testid': 'violations' },
      h('caption', { class: 'sr-only' }, `${vs.length} violations, ${severe} severe`),
      h('thead', null, h('tr', null, ['When', 'Category', 'Severity', 'Message', 'Rule'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', null, vs.map((v) => h('tr', null,
        h('td', null, formatDateTime(v.at)),
        h('td', null, categoryLabel(v.category)),
        h('td', null, h('span', { class: ['badge', v.severity === 'severe' ? 'sev-severe' : 'sev-minor'] }, v.severity === 'severe' ? 'Severe' : 'Minor')),
        h('td', { class: 'mono' }, v.message_id || '—'),
        h('td', { class: 'mono' }, v.rule || '—'))))))
      : h('p', { class: 'muted', 'data-testid': 'no-violations' }, 'No violations.'),
    h('p', { class: 'help' }, 'A severe violation (contact outside the marketplace, a review request in a message) restricts proactive messages at once; minor ones do after three in 30 days. A restricted seller also gets a daily message quota.'));
}

const MEASURES = [
  ['restrict', 'Restrict proactive messages', { days: true }],
  ['lift_restriction', 'Lift the restriction', {}],
  ['quota', 'Set a daily message quota', { days: true, quota: true }],
  ['lift_quota', 'Lift the quota', {}],
  ['flag', 'Flag for suspension review', {}],
  ['unflag', 'Remove the suspension flag', {}],
];

/** The operator's form to impose or lift a measure; onDone(enforcement) after success. */
export function measureForm(sellerId, onDone) {
  const id = uniqueId('measure');
  const action = h('select', { id: `${id}-action`, name: 'action' }, MEASURES.map(([v, label]) => h('option', { value: v }, label)));
  const days = h('input', { id: `${id}-days`, name: 'days', type: 'number', min: '1', max: '365', value: '30', inputmode: 'numeric' });
  const quota = h('input', { id: `${id}-quota`, name: 'quota_per_day', type: 'number', min: '1', max: '1000', value: '20', inputmode: 'numeric' });
  const reason = h('textarea', { id: `${id}-reason`, name: 'reason', rows: '3', class: 'editor-text plain-input', required: true, 'aria-describedby': `${id}-reason-help` });
  const daysField = h('div', { class: 'field' }, h('label', { for: days.id }, 'Days'), days);
  const quotaField = h('div', { class: 'field' }, h('label', { for: quota.id }, 'Messages a day'), quota);
  const error = errorBox({ invalid: true });
  const done = h('p', { class: 'alert alert-ok', role: 'status', hidden: true });
  const button = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Apply');
  const sync = () => {
    const opts = MEASURES.find(([v]) => v === action.value)[2];
    daysField.hidden = !opts.days;
    quotaField.hidden = !opts.quota;
  };
  action.addEventListener('change', sync);
  sync();
  const form = h('form', { class: 'card measure-form', novalidate: true, 'aria-labelledby': `${id}-h`, 'data-testid': 'measure-form', onSubmit: async (ev) => {
    ev.preventDefault();
    error.hide();
    done.hidden = true;
    const opts = MEASURES.find(([v]) => v === action.value)[2];
    const body = { action: action.value, reason: reason.value.trim() };
    if (opts.days) {
      body.days = Number(days.value);
      if (!Number.isInteger(body.days) || body.days < 1) return error.show('Enter a whole number of days, 1 or more.', days);
    }
    if (opts.quota) {
      body.quota_per_day = Number(quota.value);
      if (!Number.isInteger(body.quota_per_day) || body.quota_per_day < 1) return error.show('Enter how many messages a day, 1 or more.', quota);
    }
    if (!body.reason) return error.show('Give a reason: the seller sees it.', reason);
    button.disabled = true;
    await error.run(async () => {
      const en = await post(`/v1/sellers/${encodeURIComponent(sellerId)}/enforcement`, body);
      reason.value = '';
      reason.removeAttribute('aria-invalid');
      done.textContent = `Done: ${MEASURES.find(([v]) => v === body.action)[1].toLowerCase()}.`;
      done.hidden = false;
      announce(done.textContent);
      await onDone(en);
    });
    button.disabled = false;
  } },
  h('h3', { id: `${id}-h` }, 'Impose or lift a measure'),
  h('div', { class: 'field' }, h('label', { for: action.id }, 'Measure'), action),
  h('div', { class: 'field-row' }, daysField, quotaField),
  h('div', { class: 'field' }, h('label', { for: reason.id }, 'Reason'), reason,
    h('p', { class: 'help', id: `${id}-reason-help` }, 'Required. The seller sees it, and it goes into the audit log.')),
  error.el, done,
  h('div', { class: 'actions' }, button));
  form.addEventListener('input', () => { error.hide(); });
  return form;
}

/**
 * The performance page: the seller's own (agent, #/performance) or any seller's
 * (operator, #/sellers/<id>, with the measures form).
 */
export async function renderPerformance(el, ctx) {
  const operator = ctx.me.kind === 'operator';
  const sellerId = operator ? ctx.path[1] : ctx.me.seller_id;
  const win = WINDOWS.some(([w]) => w === ctx.query.get('window')) ? ctx.query.get('window') : '30d';
  const base = operator ? `#/sellers/${encodeURIComponent(sellerId)}` : '#/performance';
  const [m, en, sellers] = await Promise.all([
    get(`/v1/sellers/${encodeURIComponent(sellerId)}/metrics${qs({ window: win })}`),
    get(`/v1/sellers/${encodeURIComponent(sellerId)}/enforcement`),
    operator ? get('/v1/sellers').catch((e) => { if (e.status === 401) throw e; return { sellers: [] }; }) : null,
  ]);
  const seller = sellers ? (sellers.sellers || []).find((x) => x.seller_id === sellerId) : null;
  const title = operator ? `${seller ? seller.name : 'Seller'} (${sellerId})` : 'Performance';
  const tabs = h('div', { class: 'tabs', role: 'group', 'aria-label': 'Time window' }, WINDOWS.map(([w, label]) => h('button', {
    type: 'button', class: 'tab', 'aria-pressed': w === win ? 'true' : 'false', 'data-window': w,
    onClick: () => ctx.navigate(`${base}${qs({ window: w === '30d' ? '' : w })}`),
  }, `Last ${label}`)));
  const trendBox = h('section', { class: 'card perf-card perf-wide', 'aria-labelledby': 'trend-h', 'aria-busy': 'true' },
    h('h2', { id: 'trend-h' }, 'Trend: the last 90 days, week by week'),
    h('p', { class: 'loading', role: 'status' }, 'Loading the weekly figures…'));
  const enfBox = h('div', { class: 'perf-wide' }, enforcementSection(en, { operator }));
  const volume = h('section', { class: 'card perf-card perf-wide', 'aria-labelledby': 'vol-h' },
    h('h2', { id: 'vol-h' }, 'Buyer messages by hour and day'),
    volumeHeat(m.volume));
  replace(el,
    h('div', { class: 'page-head' },
      operator ? h('a', { class: 'back', href: '#/sellers' }, 'Back to sellers by risk') : null,
      h('h1', { tabindex: '-1' }, title),
      h('p', { class: 'muted perf-at' }, `Last ${win.replace('d', ' days')} to ${formatDateTime(m.at)}`)),
    tabs,
    h('div', { class: 'perf-grid', 'data-window': win },
      crtCard(m),
      complaintCard(m),
      responseCard(m),
      deadlinesCard(m),
      resolutionCard(m),
      volume,
      trendBox,
      agentsCard(m, ctx.me),
      enfBox,
      operator ? h('div', { class: 'perf-wide' }, measureForm(sellerId, async () => {
        const fresh = await get(`/v1/sellers/${encodeURIComponent(sellerId)}/enforcement`);
        replace(enfBox, enforcementSection(fresh, { operator }));
      })) : null));
  weeklyTrend(sellerId, m.at).then((points) => {
    replace(trendBox, h('h2', { id: 'trend-h' }, 'Trend: the last 90 days, week by week'), trendChart(points, thresholds(m.crt)));
    trendBox.setAttribute('aria-busy', 'false');
  }).catch((e) => {
    if (e.status === 401) return;
    replace(trendBox, h('h2', { id: 'trend-h' }, 'Trend: the last 90 days, week by week'),
      h('p', { class: 'alert alert-error' }, `The weekly figures could not be loaded: ${e.message}`));
    trendBox.setAttribute('aria-busy', 'false');
  });
}
