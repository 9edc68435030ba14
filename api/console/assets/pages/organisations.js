// @ts-check
// Organisations: the administrator's branch as a tree, with user counts;
// create a sub-organisation, rename, move within the branch, delete an
// empty one. The API answers for the administrator's own branch whatever
// organisation the switcher acts on, so this page always asks unscoped.

import { api, enc, flattenTree, forgetBranch } from '../api.js';
import { announce, busy, confirmAction, field, h, invalid, pageHeader, replace, section } from '../ui.js';

// flatten lists a tree depth first, each with its depth.
export const flatten = flattenTree;

// label is an organisation as a select option shows it: indented by depth.
export function label(o) {
  return `${'— '.repeat(o.depth)}${o.name || o.id} (${o.id})`;
}

export async function render(view) {
  const tree = h('div', { 'data-testid': 'org-tree' });
  const editor = h('div');
  view.append(pageHeader('Organisations'),
    h('p', { class: 'hint' }, 'Your organisation and its sub-organisations, to any depth. Administrators and API keys of an organisation manage it and every organisation below it, never one above or beside it. Use the switcher at the top to act on a sub-organisation.'),
    section('Tree', tree), editor);

  const reload = async () => {
    // The tree may have just changed: the branch views load it afresh.
    forgetBranch();
    const { organisations } = await api('GET', '/v1/admin/organisations', { unscoped: true });
    const all = flatten(organisations);
    replace(tree, h('ul', { class: 'org-tree' }, (organisations || []).map((o) => node(o, all))));
    showForm(all);
  };

  const node = (o, all) => h('li', { 'data-testid': `org-${o.id}` },
    h('span', { class: 'org-name' }, o.name || o.id), ' ',
    h('code', {}, o.id), ' ',
    h('span', { class: 'muted', 'data-testid': `org-users-${o.id}` }, `${o.users} user${o.users === 1 ? '' : 's'}`), ' ',
    h('button', { type: 'button', class: 'secondary small', 'data-testid': `org-edit-${o.id}`, onclick: () => showForm(all, o) }, `Edit ${o.id}`),
    o.children && o.children.length ? h('ul', {}, o.children.map((c) => node(c, all))) : null);

  // showForm shows the create form, or the edit form of org.
  const showForm = (all, org) => {
    const own = all[0];
    const error = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'org-form-error' });
    // An organisation moves under any other of the branch but itself and
    // its own descendants (the API refuses a cycle too).
    const below = new Set();
    if (org) for (const o of flatten([org])) below.add(o.id);
    const parents = all.filter((o) => !below.has(o.id)).map((o) => [o.id, label(o)]);
    const form = h('form', { novalidate: true, 'data-testid': 'org-form' },
      org ? null : field({ label: 'ID', name: 'id', required: true, maxlength: 100, testid: 'org-id', hint: 'Letters, digits, dots, dashes and underscores; it cannot change.' }),
      field({ label: 'Name', name: 'name', value: org ? org.name : '', maxlength: 200, testid: 'org-name' }),
      org && org.id === own.id ? null : field({ label: 'Parent', name: 'parent', value: org ? org.parent : own.id, options: parents, testid: 'org-parent' }),
      error,
      h('div', { class: 'actions' },
        h('button', { type: 'submit', 'data-testid': 'org-save' }, org ? 'Save changes' : 'Create sub-organisation'),
        org && org.id !== own.id ? h('button', { type: 'button', class: 'danger', 'data-testid': 'org-delete', onclick: () => remove(org) }, `Delete ${org.id}`) : null,
        org ? h('button', { type: 'button', class: 'secondary', onclick: () => showForm(all) }, 'Cancel') : null));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const id = org ? org.id : form.elements.id.value.trim();
      const name = form.elements.name.value.trim();
      if (!org && !id) return invalid(error, form.elements.id, 'Enter an ID.');
      error.textContent = '';
      busy(form, async () => {
        try {
          if (org) {
            const body = {};
            if (name !== org.name) body.name = name;
            if (form.elements.parent && form.elements.parent.value !== org.parent) body.parent = form.elements.parent.value;
            await api('PATCH', `/v1/admin/organisations/${enc(org.id)}`, { body, quiet: true, unscoped: true });
          } else {
            await api('POST', '/v1/admin/organisations', { body: { id, name, parent: form.elements.parent.value }, quiet: true, unscoped: true });
          }
        } catch (/** @type {any} */ err) {
          error.textContent = err.message;
          return;
        }
        announce(org ? `Organisation ${org.id} saved.` : `Organisation ${id} created.`);
        await reload();
      });
    });
    replace(editor, section(org ? `Edit organisation ${org.id}` : 'Create a sub-organisation', form));
  };

  const remove = async (org) => {
    const ok = await confirmAction({
      title: `Delete organisation ${org.id}?`,
      text: 'Only an organisation without users and sub-organisations can be deleted. This cannot be undone.',
      ok: `Delete ${org.id}`,
    });
    if (!ok) return;
    await api('DELETE', `/v1/admin/organisations/${enc(org.id)}`, { unscoped: true });
    announce(`Organisation ${org.id} deleted.`);
    await reload();
  };

  await reload();
}
