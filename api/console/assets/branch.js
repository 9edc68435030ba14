// @ts-check
// branch.js: what the Users, Audit and Dashboard pages share to show the
// organisation the console acts on alone, or with its sub-organisations
// (?branch=true), and to link a row to its own organisation.

import { branchOrganisations, enc, session, setBranchView } from './api.js';
import { h, routeHref } from './ui.js';

// branchScope finds out whether the administrator's branch has more than
// one organisation: only then do the pages offer the toggle and show each
// row's organisation.
export async function branchScope() {
  const orgs = await branchOrganisations();
  const names = new Map(orgs.map((o) => [o.id, o.name || o.id]));
  const multi = orgs.length > 1;
  return {
    multi,
    // branch is the ?branch= value of the next call ('' leaves it out).
    branch: () => (multi && session.branchView ? 'true' : ''),
    // toggle is the "Include sub-organisations" checkbox; onChange
    // reloads the page's data.
    toggle(onChange) {
      if (!multi) return null;
      const box = h('input', {
        type: 'checkbox', id: 'branch-toggle', 'data-testid': 'branch-toggle', checked: session.branchView,
        'aria-describedby': 'branch-toggle-hint',
        onchange: (e) => {
          setBranchView(e.target.checked);
          onChange();
        },
      });
      return h('div', { class: 'field inline branch-toggle' },
        h('span', { class: 'check' }, box, h('label', { for: box.id }, 'Include sub-organisations')),
        h('p', { class: 'hint visually-hidden', id: 'branch-toggle-hint' },
          'Also show the organisations below the one the console acts on.'));
    },
    // orgCell shows an organisation's name with its id.
    orgCell(id, testid) {
      const name = names.get(id);
      return h('span', { 'data-testid': testid || null, title: id },
        name && name !== id ? `${name} (${id})` : id || '—');
    },
  };
}

// orgHref links to a console route for a row of organisation org: on
// that organisation for that page alone when the switcher acts on another
// ("#/users/ann?organisation=paris"; app.js reads it, the API checks it).
export function orgHref(base, id, org) {
  const href = routeHref(base, id);
  const switched = session.org || (session.info ? session.info.account : '');
  if (!org || org === switched) return href;
  return `${href}?organisation=${enc(org)}`;
}
