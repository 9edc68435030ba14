// Systems: list, create, edit (methods, sensitivity, TTL), delete.

import { api, enc } from '../api.js';
import { announce, badge, busy, checkboxes, confirmAction, field, formValues, h, invalid, pageHeader, replace, section, table } from '../ui.js';

export const METHODS = ['passwordless', 'pin', 'totp', 'sso'];
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
    replace(list, table({
      testid: 'systems-table',
      caption: 'Systems',
      empty: 'No systems yet — create the first one above.',
      rows: systems,
      columns: [
        { label: 'Name', cell: (s) => h('strong', {}, s.name) },
        { label: 'Methods', cell: (s) => h('span', { class: 'badges' }, s.methods.map((m) => badge(m, 'method'))) },
        { label: 'Sensitivity', cell: (s) => badge(s.sensitivity) },
        { label: 'Link / code valid for', cell: (s) => duration(s.ttl_seconds) },
        {
          label: 'Actions',
          cell: (s) => h('span', { class: 'row-actions' },
            h('button', { type: 'button', class: 'secondary small', 'data-testid': `edit-system-${s.name}`, 'aria-label': `Edit ${s.name}`, onclick: () => showForm(s) }, 'Edit'),
            h('button', { type: 'button', class: 'danger small', 'data-testid': `delete-system-${s.name}`, 'aria-label': `Delete ${s.name}`, onclick: () => remove(s) }, 'Delete')),
        },
      ],
    }));
  };

  // showForm shows the create form, or the edit form of sys.
  const showForm = (sys) => {
    const editing = Boolean(sys);
    const s = sys || { name: '', methods: ['passwordless'], sensitivity: 'medium', ttl_seconds: 300 };
    const error = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'system-form-error' });
    const form = h('form', { novalidate: true, 'data-testid': 'system-form' },
      field({ label: 'Name', name: 'name', value: s.name, required: true, readonly: editing, maxlength: 100, testid: 'system-name', hint: editing ? 'The name is how applications refer to the system; it cannot change.' : 'Unique in the account, e.g. vpn or payroll.' }),
      checkboxes({ legend: 'Methods enabled', name: 'methods', choices: METHODS, checked: s.methods, testid: 'system-methods' }),
      h('div', { class: 'row' },
        field({ label: 'Sensitivity', name: 'sensitivity', value: s.sensitivity, options: SENSITIVITIES, testid: 'system-sensitivity' }),
        field({ label: 'Link / code valid for (seconds)', name: 'ttl_seconds', type: 'number', min: 30, max: 3600, step: 1, value: s.ttl_seconds, required: true, testid: 'system-ttl', hint: '30 to 3600 seconds.' })),
      error,
      h('div', { class: 'actions' },
        h('button', { type: 'submit', 'data-testid': 'system-save' }, editing ? 'Save changes' : 'Create system'),
        editing ? h('button', { type: 'button', class: 'secondary', onclick: () => showForm(null) }, 'Cancel') : null));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const v = formValues(form);
      const ttl = Number(v.ttl_seconds);
      if (!editing && !v.name) return invalid(error, form.elements.name, 'Enter a name.');
      if (v.methods.length === 0) return invalid(error, form.querySelector('input[name=methods]'), 'Enable at least one method.');
      if (!Number.isInteger(ttl) || ttl < 30 || ttl > 3600) return invalid(error, form.elements.ttl_seconds, 'The validity must be a whole number of seconds from 30 to 3600.');
      error.textContent = '';
      busy(form, async () => {
        const body = { methods: v.methods, sensitivity: v.sensitivity, ttl_seconds: ttl };
        try {
          if (editing) await api('PATCH', `/v1/admin/systems/${enc(s.name)}`, { body, quiet: true });
          else await api('POST', '/v1/admin/systems', { body: { name: v.name, ...body }, quiet: true });
        } catch (err) {
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

function duration(seconds) {
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}
