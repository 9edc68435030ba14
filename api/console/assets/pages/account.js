// Account: what the account is, and its sign-in settings. Turning email
// login off is a sensitive change: it asks for confirmation here, and the
// server asks for a fresh sign-in (api.js shows that dialog on its own).

import { api } from '../api.js';
import { announce, badge, busy, confirmAction, h, pageHeader, replace, section } from '../ui.js';

export async function render(view, ctx) {
  const facts = h('div');
  const state = h('p', { 'data-testid': 'email-login-state', 'aria-live': 'polite' });
  const error = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'account-form-error' });
  const toggle = h('input', { type: 'checkbox', id: 'account-email-login', name: 'email_login', 'data-testid': 'email-login', 'aria-describedby': 'account-email-login-hint' });
  const form = h('form', { novalidate: true, 'data-testid': 'account-form' },
    h('div', { class: 'field' },
      h('span', { class: 'check' },
        toggle,
        h('label', { for: toggle.id }, 'Send sign-in links and codes by email')),
      h('p', { class: 'hint', id: 'account-email-login-hint' },
        'When off, nothing is sent to this account’s users by email: links and PINs go by SMS to users with a phone, and users without one cannot sign in with a delivered method. TOTP is not affected.')),
    error,
    h('div', { class: 'actions' }, h('button', { type: 'submit', 'data-testid': 'account-save' }, 'Save settings')));

  let account = null;
  const show = (acc) => {
    account = acc;
    toggle.checked = acc.email_login;
    replace(facts, h('dl', { class: 'facts', 'data-testid': 'account-facts' },
      h('dt', {}, 'Account ID'), h('dd', {}, h('code', {}, acc.id)),
      h('dt', {}, 'Name'), h('dd', {}, acc.name),
      h('dt', {}, 'Parent account'), h('dd', {}, acc.parent || '— (top-level account)')));
    replace(state, 'Email login is ', acc.email_login ? badge('on', 'active') : badge('off', 'disabled'), '.');
  };

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const emailLogin = toggle.checked;
    error.textContent = '';
    if (emailLogin === account.email_login) {
      announce('Nothing to save: the settings are unchanged.');
      return;
    }
    busy(form, async () => {
      if (!emailLogin) {
        const ok = await confirmAction({
          title: 'Turn email login off?',
          text: 'From the next sign-in, nothing is sent by email: users with a phone get their links and codes by SMS; users without a phone (console administrators included) cannot sign in with a link or PIN until it is turned back on. TOTP still works.',
          ok: 'Turn email login off',
        });
        if (!ok) {
          toggle.checked = true;
          return;
        }
      }
      let acc;
      try {
        acc = await api('PATCH', '/v1/admin/account', { body: { email_login: emailLogin }, quiet: true });
      } catch (err) {
        error.textContent = err.message;
        toggle.checked = account.email_login;
        return;
      }
      if (!ctx.current()) return;
      show(acc);
      announce(acc.email_login ? 'Email login turned on.' : 'Email login turned off.');
    });
  });

  view.append(pageHeader('Account',
    h('p', { class: 'lead' }, 'The account your users and systems belong to, and how its users may be reached.')),
  section('Account', facts), section('Email login', state, form));
  const acc = await api('GET', '/v1/admin/account');
  if (!ctx.current()) return;
  show(acc);
}
