// @ts-check
// API keys: create (the secret is shown once), list, revoke.

import { api, enc } from '../api.js';
import { announce, badge, busy, confirmAction, copyText, field, fmtTime, h, invalid, pageHeader, replace, section, table } from '../ui.js';

export async function render(view, ctx) {
  const created = h('div', { 'aria-live': 'polite' });
  const list = h('div');
  const error = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'key-form-error' });
  const form = h('form', { novalidate: true, 'data-testid': 'key-form' },
    h('div', { class: 'row' },
      field({ label: 'Name', name: 'name', required: true, maxlength: 100, testid: 'key-name', hint: 'Where the key is used, e.g. "web shop production".' }),
      field({ label: 'Scope', name: 'scope', testid: 'key-scope', options: [['app', 'app — start and check attempts'], ['admin', 'admin — the admin API']] })),
    error,
    h('div', { class: 'actions' }, h('button', { type: 'submit', 'data-testid': 'key-create' }, 'Create key')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const name = form.elements.name.value.trim();
    const scope = form.elements.scope.value;
    if (!name) return invalid(error, form.elements.name, 'Enter a name for the key.');
    error.textContent = '';
    busy(form, async () => {
      let k;
      try {
        k = await api('POST', '/v1/admin/keys', { body: { name, scope }, quiet: true });
      } catch (/** @type {any} */ err) {
        error.textContent = err.message;
        return;
      }
      form.reset();
      showSecret(k);
      await reload();
    });
  });

  const showSecret = (k) => {
    const secret = h('code', { class: 'secret', 'data-testid': 'key-secret', tabindex: '0' }, k.key);
    const copy = h('button', { type: 'button', class: 'secondary small', onclick: () => copyText(k.key, secret, 'Key') }, 'Copy');
    replace(created, h('div', { class: 'callout once', 'data-testid': 'key-created' },
      h('h3', {}, `Key “${k.name}” created`),
      h('p', {}, h('strong', {}, 'Copy it now: '), 'this is the only time the key is shown. flexauth keeps only a hash.'),
      h('p', { class: 'secret-row' }, secret, copy),
      h('button', { type: 'button', class: 'link-button', onclick: () => replace(created) }, 'I have stored it — hide the key')));
    secret.focus();
  };

  const revoke = async (k) => {
    const ok = await confirmAction({
      title: `Revoke key “${k.name}”?`,
      text: 'Every request using this key is refused from now on. This cannot be undone.',
      ok: 'Revoke key',
    });
    if (!ok) return;
    await api('DELETE', `/v1/admin/keys/${enc(k.id)}`);
    announce(`Key ${k.name} revoked.`);
    await reload();
  };

  const reload = async () => {
    const { keys } = await api('GET', '/v1/admin/keys');
    if (!ctx.current()) return;
    replace(list, table({
      testid: 'keys-table',
      caption: 'API keys',
      empty: 'No API keys yet — create one above.',
      rows: keys,
      columns: [
        { label: 'Name', cell: (k) => h('strong', {}, k.name) },
        { label: 'Scope', cell: (k) => badge(k.scope) },
        { label: 'Created', cell: (k) => fmtTime(k.created_at) },
        { label: 'Last used', cell: (k) => (k.last_used_at ? fmtTime(k.last_used_at) : 'never') },
        { label: 'Status', cell: (k) => (k.revoked_at ? badge(`revoked ${fmtTime(k.revoked_at)}`, 'revoked') : badge('active')) },
        {
          label: 'Actions',
          cell: (k) => (k.revoked_at ? '—' : h('button', {
            type: 'button', class: 'danger small', 'data-testid': `revoke-${k.name}`, 'aria-label': `Revoke ${k.name}`, onclick: () => revoke(k),
          }, 'Revoke')),
        },
      ],
    }));
  };

  view.append(pageHeader('API keys',
    h('p', { class: 'lead' }, 'App keys start and check attempts; admin keys manage the account through the admin API.')),
  section('Create a key', form, created), section('All keys', list));
  await reload();
}
