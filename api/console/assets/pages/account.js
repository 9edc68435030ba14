// @ts-check
// Account: what the account is, and its sign-in settings: whether links
// and codes may go by email (email delivery), and whether its users may be
// given sign-in with email and password. Turning either off asks for
// confirmation here, and the server asks for a fresh sign-in (api.js shows
// that dialog on its own). Turning email and password sign-in off deletes
// users' passwords and second factors: the server answers 409 with the
// number of users affected, this page asks the administrator to confirm
// that number, and sends it back with the change.

import { ApiError, api } from '../api.js';
import { announce, badge, busy, confirmAction, h, pageHeader, replace, section } from '../ui.js';

// toggle is a labelled checkbox with a hint.
function toggle({ id, name, testid, label, hint }) {
  const box = h('input', { type: 'checkbox', id, name, 'data-testid': testid, 'aria-describedby': `${id}-hint` });
  const el = h('div', { class: 'field' },
    h('span', { class: 'check' }, box, h('label', { for: id }, label)),
    h('p', { class: 'hint', id: `${id}-hint` }, hint));
  return { box, el };
}

const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

const onOff = (on) => (on ? badge('on', 'active') : badge('off', 'disabled'));

export async function render(view, ctx) {
  const facts = h('div');
  const deliveryState = h('p', { 'data-testid': 'email-delivery-state', 'aria-live': 'polite' });
  const passwordState = h('p', { 'data-testid': 'email-password-state', 'aria-live': 'polite' });
  const error = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'account-form-error' });
  const outcome = h('p', { 'data-testid': 'account-outcome' });
  const delivery = toggle({
    id: 'account-email-delivery', name: 'email_delivery', testid: 'email-delivery',
    label: 'Send sign-in links and codes by email',
    hint: 'When off, nothing is sent to this account’s users by email: links and PINs go by SMS to users with a phone, and users without one cannot sign in with a delivered method. TOTP is not affected. Welcome emails cannot be sent either.',
  });
  const password = toggle({
    id: 'account-email-password', name: 'email_password_login', testid: 'email-password-login',
    label: 'Allow email and password authentication',
    hint: 'When on, administrators can turn email and password sign-in on for users (on a user’s page, with “Email login actions” on the users list, or with the “Email login enabled” column of an import); each of them gets a welcome email to create a password. Turning it off deletes the passwords, authenticator apps and recovery codes of those users (they keep their setting; other sign-in methods keep working); turning it back on sends each of them a welcome email to set a password and enrol again.',
  });
  const form = h('form', { novalidate: true, 'data-testid': 'account-form' },
    h('h3', {}, 'Email delivery'), deliveryState, delivery.el,
    h('h3', {}, 'Email and password authentication'), passwordState, password.el,
    error, outcome,
    h('div', { class: 'actions' }, h('button', { type: 'submit', 'data-testid': 'account-save' }, 'Save settings')));

  // setBy says, at a sub-organisation, that the top organisation sets the
  // email and password switch for its whole tree (the API answers 409
  // anywhere else): the box is shown disabled, with why.
  const setBy = h('p', { class: 'hint', 'data-testid': 'email-password-set-by', id: 'account-email-password-set-by', hidden: true });
  password.el.append(setBy);
  let policySource = null;

  let account = null;
  const show = (acc) => {
    account = acc;
    delivery.box.checked = acc.email_delivery;
    password.box.checked = acc.email_password_login;
    const top = acc.top_organisation && acc.top_organisation !== acc.id ? acc.top_organisation : '';
    password.box.disabled = Boolean(top);
    setBy.hidden = !top;
    password.box.setAttribute('aria-describedby', top ? `${setBy.id} ${password.box.id}-hint` : `${password.box.id}-hint`);
    if (top) {
      replace(setBy, h('strong', {}, `Set by ${top}`),
        `: email and password authentication is set by the top organisation ${top} for itself and all its sub-organisations, this one included. Change it on the Account page of ${top}.`);
    }
    replace(facts, h('dl', { class: 'facts', 'data-testid': 'account-facts' },
      h('dt', {}, 'Account ID'), h('dd', {}, h('code', {}, acc.id)),
      h('dt', {}, 'Name'), h('dd', {}, acc.name),
      h('dt', {}, 'Parent account'), h('dd', {}, acc.parent || '— (top-level account)'),
      top ? [h('dt', {}, 'Top organisation'), h('dd', {}, h('code', {}, top))] : null,
      policySource ? [h('dt', {}, 'Active policy'), h('dd', { 'data-testid': 'account-policy-source' }, policySource)] : null));
    replace(deliveryState, 'Email delivery is ', onOff(acc.email_delivery), '.');
    replace(passwordState, 'Email and password authentication is ', onOff(acc.email_password_login), '.',
      top ? [' ', badge(`Set by ${top}`, 'inherited')] : null);
  };

  // confirmOff asks before each setting that goes off; false when the
  // administrator cancels one.
  const confirmOff = async (change) => {
    if (change.email_delivery === false) {
      const ok = await confirmAction({
        title: 'Turn email delivery off?',
        text: 'From the next sign-in, nothing is sent by email: users with a phone get their links and codes by SMS; users without a phone (console administrators included) cannot sign in with a link or PIN until it is turned back on. TOTP still works. Welcome emails cannot be sent.',
        ok: 'Turn email delivery off',
      });
      if (!ok) return false;
    }
    return true;
  };

  // confirmAffected asks before deleting the credentials of n users.
  const confirmAffected = (n) => confirmAction({
    title: `Delete the passwords and second factors of ${plural(n, 'user')}?`,
    text: `Turning email and password authentication off deletes the password, authenticator app and recovery codes of the ${plural(n, 'user')} who ${n === 1 ? 'has' : 'have'} email login on or a password, and stops every welcome and password reset link. They keep their email login setting and can still sign in with the other methods. Turning it back on sends each of them a welcome email: they create a password and enrol their authenticator again. This cannot be undone.`,
    ok: `Delete for ${plural(n, 'user')} and turn off`,
  });

  // save sends the change; turning email and password sign-in off is
  // sent again with the confirmed count when the server asks for it.
  const save = async (change) => {
    try {
      return await api('PATCH', '/v1/admin/account', { body: change, quiet: true });
    } catch (err) {
      const n = err instanceof ApiError && err.status === 409 ? err.body.affected_users : undefined;
      if (typeof n !== 'number' || 'confirm_affected_users' in change) throw err;
      if (!(await confirmAffected(n))) return null;
      return api('PATCH', '/v1/admin/account', { body: { ...change, confirm_affected_users: n }, quiet: true });
    }
  };

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    error.textContent = '';
    outcome.textContent = '';
    const change = {};
    if (delivery.box.checked !== account.email_delivery) change.email_delivery = delivery.box.checked;
    if (password.box.checked !== account.email_password_login) change.email_password_login = password.box.checked;
    if (Object.keys(change).length === 0) {
      announce('Nothing to save: the settings are unchanged.');
      return;
    }
    busy(form, async () => {
      if (!(await confirmOff(change))) {
        show(account);
        return;
      }
      let acc;
      try {
        acc = await save(change);
      } catch (/** @type {any} */ err) {
        error.textContent = err.message;
        show(account);
        return;
      }
      if (!acc) {
        show(account);
        return;
      }
      if (!ctx.current()) return;
      show(acc);
      const said = [];
      if ('email_delivery' in change) said.push(acc.email_delivery ? 'Email delivery turned on.' : 'Email delivery turned off.');
      if ('email_password_login' in change) {
        said.push(acc.email_password_login ? 'Email and password authentication turned on.' : 'Email and password authentication turned off.');
      }
      const deleted = acc.credentials_deleted;
      if (deleted) {
        said.push(`Deleted ${plural(deleted.passwords, 'password')}, ${plural(deleted.authenticators, 'authenticator app')} and ${plural(deleted.recovery_codes, 'recovery code')} of ${plural(deleted.users, 'user')}.`);
      }
      if (acc.welcome_links > 0) said.push(`${plural(acc.welcome_links, 'welcome email')} on the way.`);
      replace(outcome, said.join(' '));
      announce(said.join(' '));
    });
  });

  view.append(pageHeader('Account',
    h('p', { class: 'lead' }, 'The account your users and systems belong to, and how its users may be reached and sign in.')),
  section('Account', facts), section('Sign-in settings', form));
  const [acc, policy] = await Promise.all([
    api('GET', '/v1/admin/account'),
    api('GET', '/v1/admin/policy', { quiet: true }).catch(() => null),
  ]);
  if (!ctx.current()) return;
  policySource = describePolicy(policy && policy.active);
  show(acc);
}

// describePolicy says which policy decides and where it comes from: the
// organisation's own, or an ancestor's (inherited_from) when it has none.
function describePolicy(active) {
  if (!active) return null;
  const which = active.builtin ? 'the built-in policy' : `version ${active.version}`;
  if (active.inherited_from) {
    return [`${which}, inherited from `, h('code', {}, active.inherited_from),
      ': this organisation has no active policy of its own. Uploading one on the Policy page makes it its own.'];
  }
  return `${which}, this organisation’s own.`;
}
