// @ts-check
// One attempt's timeline, oldest first: started, policy decision with its
// reasons, delivered, then confirmed / rejected / expired ...

import { api, query } from '../api.js';
import { badge, fmtTime, h, pageHeader, section } from '../ui.js';
import { orgHref } from '../branch.js';
import { eventKind, eventTitle } from '../events.js';

export async function render(view, ctx) {
  const id = ctx.param;
  const { events } = await api('GET', `/v1/admin/audit${query({ attempt: id, limit: 200 })}`);
  if (!ctx.current()) return;
  const steps = [...(events || [])].reverse();
  const first = steps[0] || {};
  view.append(
    h('p', { class: 'crumbs' }, h('a', { href: '#/audit' }, '← Audit trail')),
    pageHeader('Attempt timeline'),
    h('dl', { class: 'facts', 'data-testid': 'timeline-summary' },
      h('dt', {}, 'Attempt'), h('dd', {}, h('code', {}, id)),
      h('dt', {}, 'User'), h('dd', {}, first.authid ? h('a', { href: orgHref('users', first.authid, first.organisation) }, first.authid) : '—'),
      h('dt', {}, 'System'), h('dd', {}, first.system || '—'),
      h('dt', {}, 'IP'), h('dd', {}, first.ip || '—')),
    section('Events',
      steps.length === 0
        ? h('p', { class: 'empty' }, 'No events recorded for this attempt.')
        : h('ol', { class: 'timeline', 'data-testid': 'timeline' }, steps.map((e) => h('li', { class: `step step-${eventKind(e.type)}`, 'data-testid': 'timeline-step', 'data-type': e.type },
          h('div', { class: 'step-head' }, h('strong', {}, eventTitle(e.type)), ' ', badge(e.type, eventKind(e.type))),
          h('div', { class: 'muted' }, h('time', { datetime: e.time }, fmtTime(e.time))),
          e.reasons && e.reasons.length ? h('ul', { class: 'reasons' }, e.reasons.map((r) => h('li', {}, r))) : null,
          detailList(e.detail)))),
    ));
}

// detailList shows an event's detail object as a definition list.
function detailList(detail) {
  const entries = Object.entries(detail || {}).filter(([, v]) => v !== null && v !== '' && v !== undefined);
  if (entries.length === 0) return null;
  return h('dl', { class: 'detail' }, entries.flatMap(([k, v]) => [
    h('dt', {}, k.replace(/_/g, ' ')),
    h('dd', {}, typeof v === 'object' ? JSON.stringify(v) : String(v)),
  ]));
}
