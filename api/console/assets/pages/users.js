// Users: search, paging, create. A user's own page is user.js.

import { api, query } from '../api.js';
import {
  badge, busy, CONSOLE_SYSTEM, consoleMark, field, flash, formValues, h, invalid, pageHeader, replace, routeHref, section, table,
} from '../ui.js';

const PAGE_SIZE = 20;

export async function render(view, ctx) {
  let q = '';
  let offset = 0;
  const results = h('div');
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages of users' });

  const search = h('form', { role: 'search', class: 'search', 'data-testid': 'users-search' },
    field({ label: 'Search users', name: 'q', type: 'search', placeholder: 'ID, name, email or phone', testid: 'users-q' }),
    h('button', { type: 'submit', class: 'secondary' }, 'Search'));
  search.addEventListener('submit', (e) => {
    e.preventDefault();
    q = search.elements.q.value.trim();
    offset = 0;
    load();
  });

  view.append(pageHeader('Users'), createForm(ctx), section('All users', search, results, pager));

  async function load() {
    const data = await api('GET', `/v1/admin/users${query({ q, limit: PAGE_SIZE, offset })}`);
    if (!ctx.current()) return;
    const users = data.users || [];
    const total = typeof data.total === 'number' ? data.total : offset + users.length;
    replace(results, table({
      testid: 'users-table',
      caption: 'Users',
      empty: q ? `No users match “${q}”.` : 'No users yet — create the first one above, or import a file.',
      rows: users,
      columns: [
        { label: 'User ID', cell: (u) => h('a', { href: routeHref('users', u.authid), 'data-testid': `user-link-${u.authid}` }, u.authid) },
        { label: 'Name', cell: (u) => u.name || '—' },
        { label: 'Email', cell: (u) => u.email || '—' },
        { label: 'Status', cell: (u) => badge(u.status) },
        { label: 'Systems', cell: (u) => systemsCell(u.assignments || []) },
      ],
    }));
    const from = users.length ? offset + 1 : 0;
    replace(pager,
      h('span', { class: 'muted', 'data-testid': 'users-count' }, users.length ? `${from}–${offset + users.length} of ${total}` : ''),
      h('button', { type: 'button', class: 'secondary small', disabled: offset === 0, onclick: () => { offset = Math.max(0, offset - PAGE_SIZE); load(); } }, '← Previous'),
      h('button', { type: 'button', class: 'secondary small', disabled: offset + users.length >= total, onclick: () => { offset += PAGE_SIZE; load(); } }, 'Next →'));
  }

  await load();
}

// systemsCell lists a user's systems with their methods; console access
// is marked as what it is.
function systemsCell(assignments) {
  if (assignments.length === 0) return '—';
  const text = assignments.map((a) => `${a.system} (${a.method})`).join(', ');
  return assignments.some((a) => a.system === CONSOLE_SYSTEM) ? h('span', { class: 'system-name' }, text, consoleMark()) : text;
}

function createForm(ctx) {
  const error = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'user-form-error' });
  const form = h('form', { novalidate: true, 'data-testid': 'user-form' },
    h('div', { class: 'row' },
      field({ label: 'User ID', name: 'authid', required: true, maxlength: 200, testid: 'user-authid', autocapitalize: 'off', spellcheck: 'false', hint: 'The id your applications use for this user.' }),
      field({ label: 'Name', name: 'name', autocomplete: 'off', testid: 'user-name' })),
    h('div', { class: 'row' },
      field({ label: 'Email', name: 'email', type: 'email', autocomplete: 'off', testid: 'user-email' }),
      field({ label: 'Phone', name: 'phone', type: 'tel', autocomplete: 'off', testid: 'user-phone', hint: 'International format, e.g. +4915112345678.' })),
    error,
    h('div', { class: 'actions' }, h('button', { type: 'submit', 'data-testid': 'user-create' }, 'Create user')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const v = formValues(form);
    if (!v.authid) return invalid(error, form.elements.authid, 'Enter the user ID.');
    error.textContent = '';
    busy(form, async () => {
      try {
        await api('POST', '/v1/admin/users', { body: v, quiet: true });
      } catch (err) {
        error.textContent = err.message;
        return;
      }
      flash(`User ${v.authid} created. Assign systems below.`);
      ctx.navigate(routeHref('users', v.authid));
    });
  });
  return h('details', { class: 'card disclosure', 'data-testid': 'user-create-panel' },
    h('summary', { 'data-testid': 'user-create-toggle' }, 'Create a user'), form);
}
