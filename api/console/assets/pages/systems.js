// @ts-check
// Systems: list, create, edit (methods, sensitivity, TTL), delete. Each
// system shows what the active policy makes of its settings (the API's
// `effective`), and the form shows what each sensitivity would change.
// The built-in console system is marked as such, cannot be deleted, and
// asks before an edit that could keep administrators out.

import { api, enc, query } from '../api.js';
import {
  announce, badge, busy, checkboxes, confirmAction, CONSOLE_SYSTEM, consoleMark, duration, field, formValues, h, invalid, pageHeader, replace, section, table,
} from '../ui.js';

export const METHODS = ['passwordless', 'pin', 'totp', 'sso', 'password'];
const SENSITIVITIES = [['low', 'Low'], ['medium', 'Medium'], ['high', 'High']];

export async function render(view, ctx) {
  const editor = h('div');
  const list = h('div');
  view.append(pageHeader('Systems',
    h('p', { class: 'lead' }, 'A system is anything your users sign in to. It may enable several methods; each user gets one of them.')),
  editor, section('All systems', list));

  const reload = async () => {
    const { systems } = await api('GET', '/v1/admin/systems');
    if (!ctx.current()) return;
    const assumed = systems.map((s) => s.effective && s.effective.assumed).find(Boolean);
    const version = systems.map((s) => (s.effective && !s.effective.error ? s.effective.policy_version : undefined)).find((v) => v !== undefined);
    replace(list, table({
      testid: 'systems-table',
      caption: 'Systems',
      empty: 'No systems yet — create the first one above.',
      rows: systems,
      columns: [
        {
          label: 'Name',
          cell: (s) => h('span', { class: 'system-name', 'data-testid': `system-${s.name}` }, h('strong', {}, s.name), s.name === CONSOLE_SYSTEM ? consoleMark() : null),
        },
        { label: 'Methods', cell: (s) => h('span', { class: 'badges' }, s.methods.map((m) => badge(m, 'method'))) },
        { label: 'Sensitivity', cell: (s) => badge(s.sensitivity) },
        { label: 'Asks for', cell: (s) => `valid ${duration(s.ttl_seconds)}` },
        { label: 'Active policy gives', cell: (s) => effectiveList(s.effective, s.ttl_seconds, `effective-${s.name}`) },
        {
          label: 'Actions',
          cell: (s) => h('span', { class: 'row-actions' },
            h('button', { type: 'button', class: 'secondary small', 'data-testid': `edit-system-${s.name}`, 'aria-label': `Edit ${s.name}`, onclick: () => showForm(s) }, 'Edit'),
            // The console system is who administers the account: the API
            // refuses to delete it, so the console offers no way to try.
            s.name === CONSOLE_SYSTEM
              ? h('span', { class: 'muted small-text', 'data-testid': 'console-not-deletable' }, 'Built in: cannot be deleted')
              : h('button', { type: 'button', class: 'danger small', 'data-testid': `delete-system-${s.name}`, 'aria-label': `Delete ${s.name}`, onclick: () => remove(s) }, 'Delete')),
        },
      ],
    }), systems.length && assumed ? h('p', { class: 'hint', 'data-testid': 'effective-assumed' },
      `“Active policy gives” is what the account’s active policy${version !== undefined ? ` (version ${version}${version === 0 ? ', built in' : ''})` : ''} decides for ${assumed}.`) : null);
  };

  // showForm shows the create form, or the edit form of sys.
  const showForm = (sys) => {
    const editing = Boolean(sys);
    const isConsole = editing && sys.name === CONSOLE_SYSTEM;
    const s = sys || { name: '', methods: ['passwordless'], sensitivity: 'medium', ttl_seconds: 300, return_url: '' };
    const error = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'system-form-error' });
    const effects = sensitivityEffects();
    const sensitivity = field({
      label: 'Sensitivity', name: 'sensitivity', value: s.sensitivity, options: SENSITIVITIES, testid: 'system-sensitivity',
      hint: 'How much is at stake behind the system. The account’s policy reads it to decide how long a link or code lives, how many wrong codes lock the factor, where codes are sent and when to step up to an authenticator app. The table below shows what the active policy decides at each level.',
    });
    const form = h('form', { novalidate: true, 'data-testid': 'system-form' },
      isConsole ? h('div', { class: 'callout once', 'data-testid': 'console-system-note' },
        h('p', {}, consoleMark()),
        h('p', {}, 'This is the account’s console sign-in: its methods and sensitivity decide how every administrator signs in to this console. Saving a change asks you to sign in again first. Removing a method asks for confirmation, and flexauth refuses it while administrators are assigned that method. The system cannot be deleted.')) : null,
      field({ label: 'Name', name: 'name', value: s.name, required: true, readonly: editing, maxlength: 100, testid: 'system-name', hint: editing ? 'The name is how applications refer to the system; it cannot change.' : 'Unique in the account, e.g. vpn or payroll.' }),
      checkboxes({ legend: 'Methods enabled', name: 'methods', choices: METHODS, checked: s.methods, testid: 'system-methods' }),
      h('div', { class: 'row' },
        sensitivity,
        field({ label: 'Link / code valid for (seconds)', name: 'ttl_seconds', type: 'number', min: 30, max: 3600, step: 1, value: s.ttl_seconds, required: true, testid: 'system-ttl', hint: '30 to 3600 seconds. The policy may shorten it: see below.' })),
      field({ label: 'Return URL (optional)', name: 'return_url', type: 'url', value: s.return_url || '', maxlength: 2048, testid: 'system-return-url', hint: 'Where flexauth’s sign-in pages (password, single sign-on, links) send the user when done, e.g. https://app.example.com/signed-in. Leave empty to just say the sign-in is done.' }),
      effects.el,
      error,
      h('div', { class: 'actions' },
        h('button', { type: 'submit', 'data-testid': 'system-save' }, editing ? 'Save changes' : 'Create system'),
        editing ? h('button', { type: 'button', class: 'secondary', onclick: () => showForm(null) }, 'Cancel') : null));

    // The effects table follows the form: what the policy would decide for
    // the methods and validity entered, at each sensitivity.
    const current = () => {
      const v = formValues(form);
      return { name: editing ? s.name : v.name, methods: v.methods, sensitivity: v.sensitivity, ttl: Number(v.ttl_seconds) };
    };
    form.addEventListener('change', () => effects.update(current()));
    form.addEventListener('input', () => effects.update(current()));
    effects.update(current());

    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const v = formValues(form);
      const ttl = Number(v.ttl_seconds);
      if (!editing && !v.name) return invalid(error, form.elements.name, 'Enter a name.');
      if (v.methods.length === 0) return invalid(error, form.querySelector('input[name=methods]'), 'Enable at least one method.');
      if (!Number.isInteger(ttl) || ttl < 30 || ttl > 3600) return invalid(error, form.elements.ttl_seconds, 'The validity must be a whole number of seconds from 30 to 3600.');
      error.textContent = '';
      busy(form, async () => {
        const removed = editing ? s.methods.filter((m) => !v.methods.includes(m)) : [];
        if (isConsole && removed.length) {
          const ok = await confirmAction({
            title: `Remove ${removed.join(' and ')} from the console system?`,
            text: `Administrators can no longer sign in to this console with ${removed.join(' or ')}. flexauth refuses the change while any administrator is assigned ${removed.length === 1 ? 'it' : 'one of them'}: give them another method first. Saving asks you to sign in again.`,
            ok: `Remove ${removed.join(' and ')}`,
          });
          if (!ok) return;
        }
        const body = { methods: v.methods, sensitivity: v.sensitivity, ttl_seconds: ttl, return_url: (v.return_url || '').trim() };
        try {
          if (editing) await api('PATCH', `/v1/admin/systems/${enc(s.name)}`, { body, quiet: true });
          else await api('POST', '/v1/admin/systems', { body: { name: v.name, ...body }, quiet: true });
        } catch (/** @type {any} */ err) {
          error.textContent = err.message;
          return;
        }
        announce(editing ? `System ${s.name} saved.` : `System ${v.name} created.`);
        showForm(null);
        await reload();
      });
    });
    replace(editor, section(editing ? `Edit system ${s.name}` : 'Create a system', form));
    if (editing) form.querySelector('input[name=methods]').focus();
  };

  const remove = async (s) => {
    const ok = await confirmAction({
      title: `Delete system ${s.name}?`,
      text: 'Its user assignments are removed and applications can no longer sign users in to it. This cannot be undone.',
      ok: 'Delete system',
    });
    if (!ok) return;
    await api('DELETE', `/v1/admin/systems/${enc(s.name)}`);
    announce(`System ${s.name} deleted.`);
    await reload();
  };

  showForm(null);
  await reload();
}

// effectiveList says, per method, what the policy decided: validity,
// wrong codes before the factor locks, and where the link or code goes.
function effectiveList(eff, asked, testid) {
  if (!eff) return '—';
  if (eff.error) return h('span', { class: 'muted', 'data-testid': testid }, eff.error);
  return h('ul', { class: 'effective', 'data-testid': testid },
    (eff.methods || []).map((m) => h('li', { 'data-method': m.method },
      h('strong', {}, m.method), ': ', effectText(m, asked))));
}

// effectText is one method's decision in words.
export function effectText(m, asked) {
  if (!m.allow) return `denied (${(m.reasons || []).join('; ') || 'no reason given'})`;
  const parts = [];
  if (m.decided_method && m.decided_method !== m.method) parts.push(`verified with ${m.decided_method}`);
  parts.push(`valid ${duration(m.ttl_seconds)}${asked && m.ttl_seconds < asked ? ` (capped from ${duration(asked)})` : ''}`);
  const method = m.decided_method || m.method;
  if (method === 'pin' || method === 'totp') parts.push(`locks after ${m.max_attempts} wrong code${m.max_attempts === 1 ? '' : 's'}`);
  else if (method === 'sso') parts.push(`locks after ${m.max_attempts} refused sign-on${m.max_attempts === 1 ? '' : 's'}`);
  if (m.channel === 'email') parts.push('sent by email');
  else if (m.channel === 'sms') parts.push('sent by SMS');
  else if (method === 'totp') parts.push('nothing sent: the authenticator app');
  return parts.join(' · ');
}

// sensitivityEffects is the table beside the sensitivity: for the methods
// and validity in the form, what the active policy decides at each level
// (GET /v1/admin/policy/effective). It asks again, shortly after the form
// changes, and shows only the latest answer.
function sensitivityEffects() {
  const body = h('div', { 'data-testid': 'sensitivity-effects' });
  const el = h('div', { class: 'sensitivity-effects' },
    h('h3', { id: 'sensitivity-effects-title' }, 'What each sensitivity changes'),
    body);
  let timer = null;
  let seq = 0;
  let last = '';
  const update = ({ name, methods, sensitivity, ttl }) => {
    const ttlOK = Number.isInteger(ttl) && ttl >= 30 && ttl <= 3600;
    if (!methods.length || !ttlOK) {
      last = '';
      replace(body, h('p', { class: 'muted' }, 'Choose at least one method and a validity from 30 to 3600 seconds to see what the policy decides.'));
      return;
    }
    const q = query({ methods: methods.join(','), ttl_seconds: ttl, system: /^[A-Za-z0-9._-]{1,100}$/.test(name || '') ? name : '' });
    const key = `${q}|${sensitivity}`;
    if (key === last) return;
    last = key;
    clearTimeout(timer);
    const mine = ++seq;
    timer = setTimeout(async () => {
      let data;
      try {
        data = await api('GET', `/v1/admin/policy/effective${q}`, { quiet: true });
      } catch (/** @type {any} */ err) {
        if (mine === seq) replace(body, h('p', { class: 'muted' }, `What the policy decides could not be loaded: ${err.message}`));
        return;
      }
      if (mine !== seq || !el.isConnected) return;
      const levels = data.sensitivities || [];
      replace(body, table({
        testid: 'sensitivity-table',
        caption: 'What the active policy decides at each sensitivity',
        empty: 'No answer.',
        rows: levels,
        columns: [
          {
            label: 'Sensitivity',
            cell: (l) => h('span', { 'data-sensitivity': l.sensitivity }, badge(l.sensitivity), l.sensitivity === sensitivity ? h('span', { class: 'chosen' }, ' (chosen)') : null),
          },
          {
            label: 'Active policy gives',
            cell: (l) => (l.error ? l.error : h('ul', { class: 'effective' }, (l.methods || []).map((m) => h('li', { 'data-method': m.method },
              h('strong', {}, m.method), ': ', effectText(m, ttl))))),
          },
        ],
      }), levels[0] && levels[0].assumed ? h('p', { class: 'hint' }, `For ${levels[0].assumed}.`) : null);
    }, 250);
  };
  return { el, update };
}
