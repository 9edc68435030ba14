// @ts-check
// Import / export users as CSV or XLSX. Export is a plain download link
// (the session cookie authenticates). Import first previews (per-row
// actions and errors), then applies every row or none.

import { api, scoped, session } from '../api.js';
import { branchScope } from '../branch.js';
import { announce, badge, busy, CONSOLE_SYSTEM, consoleMark, h, invalid, pageHeader, replace, section, table } from '../ui.js';

const MAX_BYTES = 5 << 20;
const TYPES = {
  csv: 'text/csv',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
};

export async function render(view) {
  const preview = h('div', { 'data-testid': 'import-preview', 'aria-live': 'polite' });
  const error = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'import-error' });
  const fileInput = h('input', { type: 'file', id: 'import-file', name: 'file', accept: '.csv,.xlsx,text/csv', required: true, 'data-testid': 'import-file', 'aria-describedby': 'import-file-hint' });
  const form = h('form', { novalidate: true, 'data-testid': 'import-form' },
    h('div', { class: 'field' },
      h('label', { for: fileInput.id }, 'File to import'),
      fileInput,
      h('p', { class: 'hint', id: 'import-file-hint' }, 'CSV or XLSX with the columns authid, name, email, phone, status, systems (e.g. vpn:pin;mail:passwordless), Email login enabled (Y or N; users it turns on get a welcome email) and Organisation (empty: this organisation; or any of its sub-organisations). Up to 5 MiB and 10 000 rows. Users missing from the file are left alone.'),
      h('p', { class: 'hint', 'data-testid': 'import-console-hint' }, 'The system ', h('code', {}, CONSOLE_SYSTEM), ' in the systems column is ', consoleMark(),
        ': a row that adds it makes the user an administrator of this account, and a row that removes it or disables the user ends their console access (flexauth refuses to remove the last administrator).')),
    error,
    h('div', { class: 'actions' }, h('button', { type: 'submit', 'data-testid': 'import-preview-button' }, 'Preview import')));

  let file = null;
  let format = 'csv';
  const send = (apply) => api('POST', `/v1/admin/users/import?format=${format}&apply=${apply}`, { raw: file, contentType: TYPES[format], quiet: true });

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    replace(preview);
    file = fileInput.files[0] || null;
    if (!file) return invalid(error, fileInput, 'Choose a CSV or XLSX file.');
    format = file.name.toLowerCase().endsWith('.xlsx') ? 'xlsx' : 'csv';
    if (file.size > MAX_BYTES) return invalid(error, fileInput, 'The file is larger than 5 MiB.');
    error.textContent = '';
    busy(form, async () => {
      try {
        showPreview(await send(false));
      } catch (/** @type {any} */ err) {
        if (err.body && err.body.rows) showPreview(err.body);
        else error.textContent = err.message;
      }
    });
  });

  function showPreview(r, applied = false) {
    const s = r.summary || {};
    const changes = (s.create || 0) + (s.update || 0);
    const apply = h('button', {
      type: 'button', 'data-testid': 'import-apply', disabled: !r.valid || changes === 0 || applied,
      // The file form is busy too: a preview started meanwhile would be
      // overwritten by this answer when it arrives.
      onclick: () => busy(form, () => busy(preview, async () => {
        try {
          const done = await send(true);
          showPreview(done, true);
          announce(`Import applied: ${done.summary.create} created, ${done.summary.update} updated.`);
        } catch (/** @type {any} */ err) {
          if (err.body && err.body.rows) showPreview(err.body);
          else error.textContent = err.message;
        }
      })),
    }, `Apply ${changes} change${changes === 1 ? '' : 's'}`);
    const rows = r.rows || [];
    // The Organisation column only when some row names an organisation
    // other than the one the console acts on.
    const scope = session.org || (session.info && session.info.account);
    const showOrg = rows.some((x) => x.organisation && x.organisation !== scope);
    replace(preview, h('div', { class: 'preview' }, h('h3', {}, applied ? 'Import applied' : 'Preview'),
      h('p', { class: r.valid ? 'callout ok' : 'callout error', 'data-testid': 'import-summary' },
        `${s.create || 0} to create, ${s.update || 0} to update, ${s.unchanged || 0} unchanged, ${s.errors || 0} with errors. `,
        applied ? 'Every row was applied.' : r.valid ? (changes ? 'Nothing is changed until you apply.' : 'Nothing to change.') : 'Fix the rows with errors and upload the file again: nothing is applied while any row has an error.'),
      table({
        testid: 'import-rows',
        caption: 'Rows of the file',
        empty: 'The file has no rows.',
        rows,
        columns: [
          { label: 'Line', cell: (x) => String(x.line), class: 'num' },
          { label: 'User ID', cell: (x) => x.authid || '—' },
          showOrg ? { label: 'Organisation', cell: (x) => x.organisation } : null,
          { label: 'Action', cell: (x) => ((x.errors || []).length ? badge('error', 'denied') : badge(x.action)) },
          { label: 'Changes', cell: (x) => (x.changes || []).join(', ') || '—' },
          { label: 'Errors', cell: (x) => ((x.errors || []).length ? h('ul', { class: 'problems' }, x.errors.map((m) => h('li', {}, m))) : '—') },
        ].filter(Boolean),
      }),
      applied ? null : h('div', { class: 'actions' }, apply)));
  }

  // Export: the organisation the console acts on, or with "Include
  // sub-organisations" its whole branch (every row names its organisation).
  const scope = await branchScope();
  const exportLink = (format) => h('a', {
    class: 'button secondary', download: `users.${format}`, 'data-testid': `export-${format}`,
    href: scoped(`/v1/admin/export/users?format=${format}${scope.branch() ? '&branch=true' : ''}`),
  }, `Export ${format.toUpperCase()}`);
  const links = h('div', { class: 'actions' }, exportLink('csv'), exportLink('xlsx'));
  const toggle = scope.toggle(() => replace(links, exportLink('csv'), exportLink('xlsx')));
  view.append(
    pageHeader('Import / export users'),
    section('Export',
      h('p', {}, 'Download every user with their assigned systems and organisation.'),
      toggle,
      links),
    section('Import', form, preview));
}
