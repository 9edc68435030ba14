// @ts-check
// Audit trail: filter by user, system, event type and time; page back in
// time; export what the filter selects as CSV.

import { api, query, scoped } from '../api.js';
import { field, fmtTime, h, pageHeader, replace, section, table, toRFC3339 } from '../ui.js';
import { EVENT_TYPES, eventLabel, eventTitle } from '../events.js';
import { branchScope, orgHref } from '../branch.js';

const PAGE_SIZE = 50;

export async function render(view, ctx) {
  let filters = {};
  // pages holds the "before" cursor of every page shown so far, so that
  // "Newer" can go back.
  let cursors = [''];
  const results = h('div');
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages of events' });
  const exportLink = h('a', { class: 'button secondary', 'data-testid': 'audit-export', download: 'audit.csv' }, 'Export as CSV');

  const [{ systems }, scope] = await Promise.all([api('GET', '/v1/admin/systems'), branchScope()]);
  const form = h('form', { class: 'filters', 'data-testid': 'audit-filters' },
    field({ label: 'User ID', name: 'authid', testid: 'audit-authid', autocapitalize: 'off', spellcheck: 'false' }),
    field({ label: 'System', name: 'system', testid: 'audit-system', options: [['', 'All systems'], ...systems.map((s) => [s.name, s.name])] }),
    field({ label: 'Event type', name: 'type', testid: 'audit-type', options: [['', 'All events'], ...EVENT_TYPES.map((t) => [t, `${eventTitle(t)} (${t})`])] }),
    field({ label: 'From', name: 'since', type: 'datetime-local', testid: 'audit-since' }),
    field({ label: 'Until', name: 'until', type: 'datetime-local', testid: 'audit-until' }),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', 'data-testid': 'audit-apply' }, 'Apply filters'),
      h('button', { type: 'reset', class: 'secondary' }, 'Clear')));
  const apply = () => {
    const el = form.elements;
    filters = {
      authid: el.authid.value.trim(), system: el.system.value, type: el.type.value,
      since: toRFC3339(el.since.value), until: toRFC3339(el.until.value),
    };
    cursors = [''];
    load();
  };
  form.addEventListener('submit', (e) => { e.preventDefault(); apply(); });
  form.addEventListener('reset', () => setTimeout(apply));

  const toggle = scope.toggle(() => {
    cursors = [''];
    load();
  });
  view.append(pageHeader('Audit trail', exportLink), section('Filter', form, toggle), section('Events', results, pager));

  async function load() {
    const before = cursors[cursors.length - 1];
    const branch = scope.branch();
    exportLink.href = scoped(`/v1/admin/audit${query({ ...filters, branch, format: 'csv' })}`);
    const data = await api('GET', `/v1/admin/audit${query({ ...filters, branch, before, limit: PAGE_SIZE })}`);
    if (!ctx.current()) return;
    const events = data.events || [];
    replace(results, h('p', { class: 'muted', 'data-testid': 'audit-summary' }, summary(events.length, { ...filters, branch }, cursors.length)),
      eventsTable(events, 'No events match these filters.', scope));
    replace(pager,
      h('button', { type: 'button', class: 'secondary small', disabled: cursors.length === 1, onclick: () => { cursors.pop(); load(); } }, '← Newer'),
      h('button', { type: 'button', class: 'secondary small', 'data-testid': 'audit-older', disabled: !data.next, onclick: () => { cursors.push(String(data.next)); load(); } }, 'Older →'));
  }

  await load();
}

// summary says what the table shows, so a filter in force is never
// forgotten.
function summary(n, f, page) {
  const parts = [`${n} event${n === 1 ? '' : 's'}${page > 1 ? ` (page ${page})` : ''}`];
  if (f.authid) parts.push(`user ${f.authid}`);
  if (f.system) parts.push(`system ${f.system}`);
  if (f.type) parts.push(`type ${eventTitle(f.type)} (${f.type})`);
  if (f.since) parts.push(`from ${fmtTime(f.since)}`);
  if (f.until) parts.push(`until ${fmtTime(f.until)}`);
  if (f.branch) parts.push('sub-organisations included');
  if (parts.length === 1) parts.push('no filter');
  return parts.join(' · ');
}

// eventsTable lists events, newest first; with scope (see branch.js) of a
// branch of several organisations, each event's organisation too. Users
// and attempts open on the event's organisation.
export function eventsTable(events, empty, scope) {
  return table({
    testid: 'audit-table',
    caption: 'Audit events',
    empty,
    rows: events,
    columns: [
      { label: 'Time', cell: (e) => fmtTime(e.time) },
      { label: 'Event', cell: (e) => eventLabel(e.type) },
      scope && scope.multi ? { label: 'Organisation', cell: (e) => scope.orgCell(e.organisation, `event-org-${e.id}`) } : null,
      { label: 'System', cell: (e) => e.system || '—' },
      { label: 'User', cell: (e) => (e.authid ? h('a', { href: orgHref('users', e.authid, e.organisation) }, e.authid) : '—') },
      { label: 'IP', cell: (e) => e.ip || '—' },
      { label: 'Details', cell: (e) => details(e) },
      { label: 'Attempt', cell: (e) => (e.attempt ? h('a', { href: orgHref('audit', e.attempt, e.organisation), 'data-testid': 'timeline-link', 'aria-label': `Timeline of attempt ${e.attempt}` }, 'Timeline') : '—') },
    ].filter(Boolean),
  });
}

// details shows the reasons and who acted; the rest of detail is in the
// CSV export and the timeline.
export function details(e) {
  const parts = [];
  if (e.reasons && e.reasons.length) parts.push(e.reasons.join('; '));
  const d = e.detail || {};
  // "by" names the key or the console user; actor is its stable id.
  if (d.by) parts.push(`by ${d.actor && d.actor.startsWith('key:') ? `key “${d.by}”` : d.by}`);
  else if (d.actor) parts.push(`by ${d.actor}`);
  return parts.join(' · ') || '—';
}
