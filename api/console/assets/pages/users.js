// @ts-check
// Users: search, paging, create, and email login actions on a selection
// (enable, disable, send a password reset email: a new welcome email to
// users who have no password yet). A user's own page is user.js.

import { actingOrg, api, query } from '../api.js';
import { branchScope, orgHref } from '../branch.js';
import {
  announce, badge, busy, CONSOLE_SYSTEM, confirmAction, consoleMark, field, flash, formValues, h, invalid, pageHeader, replace, routeHref, section,
} from '../ui.js';

const PAGE_SIZE = 20;

// emailLoginBadge says whether a user may sign in with email and password.
export function emailLoginBadge(u) {
  if (!u.email_password_login) return badge('off', 'disabled');
  return u.password_set_at ? badge('on', 'active') : badge('on, no password yet', 'pending');
}

// The email login actions, as the bulk endpoint names them.
const ACTIONS = {
  enable: { label: 'Enable email login', done: 'enabled', ask: (n) => ({
    title: `Enable email login for ${n}?`,
    text: 'Each gets a welcome email with a link to create a password. Users without an email address are left as they are.',
    ok: 'Enable and send emails',
  }) },
  disable: { label: 'Disable email login', done: 'disabled', ask: (n) => ({
    title: `Disable email login for ${n}?`,
    text: 'They can no longer sign in with email and password, and the welcome links they were sent stop working.',
    ok: 'Disable email login',
  }) },
  resend: { label: 'Resend password reset email', done: 'sent', ask: (n) => ({
    title: `Send a password reset email to ${n}?`,
    text: 'Users who have a password get a link to choose a new one (it works for an hour and does not turn off their authenticator app); users who have none yet get a new welcome email. The link of that kind sent before stops working.',
    ok: 'Send',
  }) },
};

const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export async function render(view, ctx) {
  let q = '';
  let offset = 0;
  const selected = new Set();
  const results = h('div');
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages of users' });
  const outcome = h('div', { 'data-testid': 'email-login-outcome' });

  const search = h('form', { role: 'search', class: 'search', 'data-testid': 'users-search' },
    field({ label: 'Search users', name: 'q', type: 'search', placeholder: 'ID, name, email or phone', testid: 'users-q' }),
    h('button', { type: 'submit', class: 'secondary' }, 'Search'));
  search.addEventListener('submit', (e) => {
    e.preventDefault();
    q = search.elements.q.value.trim();
    offset = 0;
    load();
  });

  // The actions menu: a disclosure (keyboard-operable as it is) holding a
  // button per action, which act on the users ticked on this page.
  const count = h('span', { class: 'muted', 'data-testid': 'users-selected', 'aria-live': 'polite' }, 'No users selected.');
  const buttons = Object.entries(ACTIONS).map(([action, a]) => h('button', {
    type: 'button', class: action === 'disable' ? 'danger small' : 'secondary small', disabled: true,
    'data-testid': `email-login-${action}`, onclick: () => act(action),
  }, a.label));
  const menu = h('details', { class: 'menu', 'data-testid': 'email-login-actions' },
    h('summary', { 'data-testid': 'email-login-actions-toggle' }, 'Email login actions'),
    h('div', { class: 'menu-items', role: 'group', 'aria-label': 'Email login actions for the selected users' }, buttons));
  const toolbar = h('div', { class: 'selection-bar' }, menu, count);

  const showSelection = () => {
    count.textContent = selected.size ? `${plural(selected.size, 'user')} selected.` : 'No users selected.';
    buttons.forEach((b) => { b.disabled = selected.size === 0; });
  };

  async function act(action) {
    const a = ACTIONS[action];
    const authids = [...selected];
    if (!(await confirmAction(a.ask(plural(authids.length, 'user'))))) return;
    menu.open = false;
    let out;
    try {
      out = await api('POST', '/v1/admin/users/email-login', { body: { authids, action } });
    } catch {
      return; // api() showed the error
    }
    if (!ctx.current()) return;
    const failed = (out.results || []).filter((r) => r.result === 'error');
    const s = out.summary || {};
    let said = `${a.label}: ${plural(s.changed || 0, 'user')} ${a.done}, ${s.unchanged || 0} unchanged, ${plural(failed.length, 'error')}.`;
    if (action === 'resend') {
      // Each user got the link they need: reset with a password, welcome without.
      const sent = (link) => (out.results || []).filter((r) => r.result === 'resent' && r.link === link).length;
      said = `${a.label}: ${plural(sent('reset'), 'password reset email')}, ${plural(sent('welcome'), 'welcome email')} (to users without a password yet), ${plural(failed.length, 'error')}.`;
    }
    replace(outcome, h('div', { class: failed.length ? 'callout error' : 'callout ok' },
      h('p', {}, said),
      failed.length ? h('ul', { class: 'problems', 'data-testid': 'email-login-errors' },
        failed.map((r) => h('li', {}, h('strong', {}, r.authid), `: ${r.error}`))) : null));
    announce(`${a.label}: ${plural(s.changed || 0, 'user')} ${a.done}.`);
    selected.clear();
    await load();
  }

  const scope = await branchScope();
  if (!ctx.current()) return;
  const toggle = scope.toggle(() => {
    offset = 0;
    load();
  });
  view.append(pageHeader('Users'), createForm(ctx), section('All users', search, toggle, toolbar, outcome, results, pager));

  async function load() {
    const data = await api('GET', `/v1/admin/users${query({ q, limit: PAGE_SIZE, offset, branch: scope.branch() })}`);
    if (!ctx.current()) return;
    const users = data.users || [];
    const total = typeof data.total === 'number' ? data.total : offset + users.length;
    // A selection is of the users shown.
    for (const id of [...selected]) if (!users.some((u) => u.authid === id && (!u.organisation || u.organisation === actingOrg()))) selected.delete(id);
    replace(results, usersTable(users, q, selected, showSelection, scope));
    showSelection();
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

// usersTable lists users with a box each to select them (and one for all
// on the page); on a narrow screen the CSS turns rows into cards. With a
// branch of several organisations it shows each user's; only the users
// of the organisation the console acts on can be selected (the email
// login actions act there), the others open on their own organisation.
function usersTable(users, q, selected, changed, scope) {
  const here = actingOrg();
  const selectable = (u) => !u.organisation || u.organisation === here;
  if (users.length === 0) {
    return h('p', { class: 'empty', 'data-testid': 'users-table-empty' },
      q ? `No users match “${q}”.` : 'No users yet — create the first one above, or import a file.');
  }
  const boxes = [];
  const all = h('input', {
    type: 'checkbox', id: 'users-select-all', 'data-testid': 'users-select-all',
    onchange: (e) => {
      boxes.forEach((b) => {
        b.checked = e.target.checked;
        if (b.checked) selected.add(b.value); else selected.delete(b.value);
      });
      changed();
    },
  });
  const syncAll = () => {
    all.checked = boxes.length > 0 && boxes.every((b) => b.checked);
    all.indeterminate = !all.checked && boxes.some((b) => b.checked);
  };
  const columns = [
    { label: 'User ID', cell: (u) => h('a', { href: orgHref('users', u.authid, u.organisation), 'data-testid': `user-link-${u.authid}` }, u.authid) },
    scope.multi ? { label: 'Organisation', cell: (u) => scope.orgCell(u.organisation, `user-org-${u.authid}`) } : null,
    { label: 'Name', cell: (u) => u.name || '—' },
    { label: 'Email', cell: (u) => u.email || '—' },
    { label: 'Status', cell: (u) => badge(u.status) },
    { label: 'Email login', cell: (u) => h('span', { 'data-testid': `email-login-${u.authid}` }, emailLoginBadge(u)) },
    { label: 'Systems', cell: (u) => systemsCell(u.assignments || []) },
  ].filter((c) => c !== null);
  const rows = users.map((u, i) => {
    const box = h('input', {
      type: 'checkbox', id: `users-select-${i}`, value: u.authid, checked: selectable(u) && selected.has(u.authid), disabled: !selectable(u),
      title: selectable(u) ? null : 'Email login actions act on the organisation the console acts on: open the user to act on theirs.',
      'data-testid': `select-${u.authid}`,
      onchange: (e) => {
        if (e.target.checked) selected.add(u.authid); else selected.delete(u.authid);
        syncAll();
        changed();
      },
    });
    if (selectable(u)) boxes.push(box);
    return h('tr', {},
      h('td', { 'data-label': 'Select', class: 'select' },
        h('span', { class: 'check' }, box, h('label', { for: box.id, class: 'visually-hidden' }, `Select ${u.authid}`))),
      columns.map((c) => h('td', { 'data-label': c.label }, c.cell(u))));
  });
  syncAll();
  return h('div', { class: 'table-wrap' },
    h('table', { class: 'data', 'data-testid': 'users-table' },
      h('caption', { class: 'visually-hidden' }, 'Users'),
      h('thead', {}, h('tr', {},
        h('th', { scope: 'col', class: 'select' },
          h('span', { class: 'check' }, all, h('label', { for: all.id, class: 'visually-hidden' }, 'Select all users on this page'))),
        columns.map((c) => h('th', { scope: 'col' }, c.label)))),
      h('tbody', {}, rows)));
}

function createForm(ctx) {
  const error = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'user-form-error' });
  const emailLogin = h('input', { type: 'checkbox', id: 'user-email-login', name: 'email_password_login', 'data-testid': 'user-email-login', 'aria-describedby': 'user-email-login-hint' });
  const form = h('form', { novalidate: true, 'data-testid': 'user-form' },
    h('div', { class: 'row' },
      field({ label: 'User ID', name: 'authid', required: true, maxlength: 200, testid: 'user-authid', autocapitalize: 'off', spellcheck: 'false', hint: 'The id your applications use for this user.' }),
      field({ label: 'Name', name: 'name', autocomplete: 'off', testid: 'user-name' })),
    h('div', { class: 'row' },
      field({ label: 'Email', name: 'email', type: 'email', autocomplete: 'off', testid: 'user-email' }),
      field({ label: 'Phone', name: 'phone', type: 'tel', autocomplete: 'off', testid: 'user-phone', hint: 'International format, e.g. +4915112345678.' })),
    h('div', { class: 'field' },
      h('span', { class: 'check' }, emailLogin, h('label', { for: emailLogin.id }, 'Email login (sign-in with email and password)')),
      h('p', { class: 'hint', id: 'user-email-login-hint' },
        'Needs an email address, and email and password authentication allowed on the Account page. The user gets a welcome email with a link to create a password.')),
    error,
    h('div', { class: 'actions' }, h('button', { type: 'submit', 'data-testid': 'user-create' }, 'Create user')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const v = formValues(form);
    v.email_password_login = emailLogin.checked;
    if (!v.authid) return invalid(error, form.elements.authid, 'Enter the user ID.');
    if (v.email_password_login && !v.email) return invalid(error, form.elements.email, 'Email login needs an email address: the welcome email goes there.');
    error.textContent = '';
    busy(form, async () => {
      try {
        await api('POST', '/v1/admin/users', { body: v, quiet: true });
      } catch (/** @type {any} */ err) {
        error.textContent = err.message;
        return;
      }
      flash(v.email_password_login
        ? `User ${v.authid} created; a welcome email is on its way. Assign systems below.`
        : `User ${v.authid} created. Assign systems below.`);
      ctx.navigate(routeHref('users', v.authid));
    });
  });
  return h('details', { class: 'card disclosure', 'data-testid': 'user-create-panel' },
    h('summary', { 'data-testid': 'user-create-toggle' }, 'Create a user'), form);
}
