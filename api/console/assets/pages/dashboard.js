// @ts-check
// Dashboard: attempts per day by outcome (an SVG chart with a table
// fallback), totals and rates, and the most recent failures — of every
// system, one system, or every system but the console (whose attempts are
// administrators signing in to this console), as the server counts them
// (GET /v1/admin/stats?system=).

import { api, query } from '../api.js';
import { CONSOLE_SYSTEM, fmtPercent, fmtTime, h, pageHeader, replace, section, table } from '../ui.js';
import { eventLabel } from '../events.js';
import { branchScope, orgHref } from '../branch.js';

// The outcomes drawn, bottom to top, with their legend labels.
const OUTCOMES = [
  ['authenticated', 'Authenticated'],
  ['expired', 'Expired'],
  ['denied', 'Denied'],
  ['locked', 'Locked'],
  ['cancelled', 'Cancelled'],
];

const RANGES = [7, 14, 30, 90];

// ALL_BUT is the stats API's "every system but" prefix.
const ALL_BUT = '!';

export async function render(view, ctx) {
  const content = h('div');
  const scope = h('p', { class: 'lead', 'data-testid': 'dash-scope', 'aria-live': 'polite' });
  const [{ systems }, branchView] = await Promise.all([api('GET', '/v1/admin/systems'), branchScope()]);
  if (!ctx.current()) return;
  const hasConsole = systems.some((s) => s.name === CONSOLE_SYSTEM);
  const select = h('select', { id: 'dash-days', 'data-testid': 'dash-days' },
    RANGES.map((d) => h('option', { value: d, selected: d === 14 }, `Last ${d} days`)));
  const system = h('select', { id: 'dash-system', 'data-testid': 'dash-system' },
    h('option', { value: '' }, 'All systems'),
    hasConsole ? h('option', { value: ALL_BUT + CONSOLE_SYSTEM }, 'All but the console (without administrators’ sign-ins)') : null,
    systems.map((s) => h('option', { value: s.name }, s.name === CONSOLE_SYSTEM ? 'console (administrators’ sign-ins only)' : s.name)));
  view.append(pageHeader('Dashboard',
    h('div', { class: 'head-actions' },
      h('div', { class: 'field inline' }, h('label', { for: 'dash-system' }, 'Systems'), system),
      h('div', { class: 'field inline' }, h('label', { for: 'dash-days' }, 'Period'), select),
      branchView.toggle(() => load())),
    scope), content);
  let seq = 0;
  const load = async () => {
    const mine = ++seq;
    const branch = branchView.branch();
    const stats = await api('GET', `/v1/admin/stats${query({ days: select.value, system: system.value, branch })}`);
    if (!ctx.current() || mine !== seq) return;
    scope.textContent = describe(Number(select.value), system.value, hasConsole)
      + (branch ? ' Sub-organisations included: a system counts with every system of its name below.' : '');
    replace(content, ...body(stats, branchView));
  };
  select.addEventListener('change', load);
  system.addEventListener('change', load);
  await load();
}

// describe says what the numbers count, so that nobody takes the
// administrators' own sign-ins for their applications' traffic.
function describe(days, system, hasConsole) {
  const period = `Attempts started in the last ${days} days (UTC)`;
  if (system === '') {
    return hasConsole
      ? `${period} on every system, administrators’ own sign-ins to this console included (system ${CONSOLE_SYSTEM}).`
      : `${period} on every system.`;
  }
  if (system.startsWith(ALL_BUT)) {
    const name = system.slice(ALL_BUT.length);
    return name === CONSOLE_SYSTEM
      ? `${period} on every system but ${CONSOLE_SYSTEM}: administrators’ sign-ins to this console are not counted.`
      : `${period} on every system but ${name}.`;
  }
  return system === CONSOLE_SYSTEM
    ? `${period} on system ${CONSOLE_SYSTEM} alone: administrators signing in to this console.`
    : `${period} on system ${system} alone.`;
}

function body(stats, branchView) {
  const t = stats.totals || {};
  const failed = (t.expired || 0) + (t.denied || 0) + (t.locked || 0);
  const tiles = h('div', { class: 'tiles', 'data-testid': 'dash-totals' },
    tile('Attempts started', t.started ?? 0, 'started'),
    tile('Success rate', fmtPercent(stats.success_rate), 'success-rate'),
    tile('Authenticated', t.authenticated ?? 0, 'authenticated'),
    tile('Failed', failed, 'failed', 'expired, denied or locked'),
    tile('Pending now', t.pending ?? 0, 'pending'));
  const days = stats.days || [];
  return [
    tiles,
    section('Attempts per day', chart(days), dayTable(days)),
    section('Recent failures', table({
      testid: 'recent-failures',
      caption: 'Most recent failed attempts',
      empty: 'No failures recently. Denied, expired and locked attempts and rejected codes appear here.',
      rows: stats.recent_failures || [],
      columns: [
        { label: 'Time', cell: (e) => fmtTime(e.time) },
        { label: 'Event', cell: (e) => eventLabel(e.type) },
        branchView.multi ? { label: 'Organisation', cell: (e) => branchView.orgCell(e.organisation) } : null,
        { label: 'System', cell: (e) => e.system || '—' },
        { label: 'User', cell: (e) => (e.authid ? h('a', { href: orgHref('users', e.authid, e.organisation) }, e.authid) : '—') },
        { label: 'Reasons', cell: (e) => (e.reasons || []).join('; ') || '—' },
        { label: 'Attempt', cell: (e) => (e.attempt ? h('a', { href: orgHref('audit', e.attempt, e.organisation), 'aria-label': `Timeline of attempt ${e.attempt}` }, 'Timeline') : '—') },
      ].filter(Boolean),
    })),
  ];
}

function tile(label, value, id, hint) {
  return h('div', { class: 'tile', 'data-testid': `tile-${id}` },
    h('div', { class: 'tile-value' }, String(value)),
    h('div', { class: 'tile-label' }, label),
    hint ? h('div', { class: 'tile-hint' }, hint) : null);
}

// chart draws stacked bars per day. The SVG scales with its container
// (viewBox); colours come from app.css classes (no inline style: CSP).
function chart(days) {
  // Drawn for the width it gets, so that labels stay readable on a phone.
  const main = document.getElementById('main');
  const W = Math.round(Math.min(720, Math.max(300, (main ? main.clientWidth : 720) - 64)));
  const H = W < 500 ? 200 : 240;
  const pad = { left: 36, right: 8, top: 10, bottom: 28 };
  const innerW = W - pad.left - pad.right;
  const innerH = H - pad.top - pad.bottom;
  const totals = days.map((d) => OUTCOMES.reduce((s, [k]) => s + (d[k] || 0), 0));
  const max = Math.max(1, ...totals);
  const step = niceStep(max);
  const top = Math.ceil(max / step) * step;
  const y = (v) => pad.top + innerH - (v / top) * innerH;
  const slot = innerW / Math.max(1, days.length);
  const barW = Math.max(2, Math.min(36, slot * 0.7));
  const labelEvery = Math.ceil(days.length / Math.max(2, Math.floor(innerW / 56)));

  const grid = [];
  for (let v = 0; v <= top; v += step) {
    grid.push(h('line', { x1: pad.left, x2: W - pad.right, y1: y(v), y2: y(v), class: 'grid' }));
    grid.push(h('text', { x: pad.left - 6, y: y(v) + 4, class: 'axis', 'text-anchor': 'end' }, String(v)));
  }
  const bars = days.map((d, i) => {
    const x = pad.left + i * slot + (slot - barW) / 2;
    let acc = 0;
    const parts = OUTCOMES.filter(([k]) => d[k]).map(([k, label]) => {
      const r = h('rect', { x, width: barW, y: y(acc + d[k]), height: Math.max(0, y(acc) - y(acc + d[k])), class: `o-${k}` },
        h('title', {}, `${d.date}: ${d[k]} ${label.toLowerCase()}`));
      acc += d[k];
      return r;
    });
    const label = i % labelEvery === 0
      ? h('text', { x: x + barW / 2, y: H - 8, class: 'axis', 'text-anchor': 'middle' }, d.date.slice(5))
      : null;
    return h('g', {}, parts, label);
  });
  const svg = h('svg', {
    viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-labelledby': 'chart-title', 'data-testid': 'dash-chart',
  },
  h('title', { id: 'chart-title' }, `Attempts per day by outcome, ${days.length} days`),
  grid, bars);
  const legend = h('ul', { class: 'legend', 'aria-label': 'Legend' },
    OUTCOMES.map(([k, label]) => h('li', {}, h('span', { class: `swatch o-${k}`, 'aria-hidden': 'true' }), label)));
  return h('figure', { class: 'chart-figure' }, svg, legend);
}

function niceStep(max) {
  const rough = max / 4;
  const mag = 10 ** Math.floor(Math.log10(Math.max(1, rough)));
  for (const m of [1, 2, 5, 10]) {
    if (m * mag >= rough) return Math.max(1, m * mag);
  }
  return mag * 10;
}

// dayTable is the chart's accessible, exact equivalent.
function dayTable(days) {
  return h('details', { class: 'chart-table' },
    h('summary', {}, 'Show the numbers as a table'),
    table({
      testid: 'dash-table',
      caption: 'Attempts per day by outcome',
      empty: 'No days in range.',
      rows: [...days].reverse(),
      columns: [{ label: 'Day', cell: (d) => d.date }, ...OUTCOMES.map(([k, label]) => ({ label, cell: (d) => String(d[k] || 0), class: 'num' }))],
    }));
}
