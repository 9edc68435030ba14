// @ts-check
// How a user signs in: one card per way (GET
// /v1/admin/users/{authid}/sign-in-methods) — Microsoft Entra ID with the
// position and phone its directory gave at sign-on, Google, another single
// sign-on provider, email and password with the security settings an
// administrator manages, and the link, PIN and TOTP methods — each with
// its sign-ins: how many, the last one and its address. A notice says when
// the user never signed in. The cards wrap to one column on a phone.

import { badge, fmtTime, h, section } from '../ui.js';

const TITLES = {
  entra: 'Microsoft Entra ID',
  google: 'Google',
  sso: 'Single sign-on',
  password: 'Email and password',
  passwordless: 'Passwordless link',
  pin: 'One-time PIN',
  totp: 'Authenticator code (TOTP)',
};

// fact is one dt/dd pair; value is text or a node.
function fact(label, value, testid) {
  return [h('dt', {}, label), h('dd', { 'data-testid': testid || null }, value)];
}

function orDash(s) {
  return s ? s : '—';
}

// directoryValue says what the directory holds, or why there is nothing.
function directoryValue(value, read) {
  if (value) return value;
  return read ? 'not in the directory' : 'not read yet';
}

// wayCard is one way's card. securityControls(way) builds the email and
// password card's security settings and actions.
function wayCard(way, securityControls) {
  const id = `way-${way.kind}-title`;
  const facts = [
    fact('Last login', way.last_login ? fmtTime(way.last_login) : 'never', `way-${way.kind}-last-login`),
    fact('Logins', String(way.count), `way-${way.kind}-count`),
    fact('Last IP', orDash(way.last_ip), `way-${way.kind}-last-ip`),
  ];
  if (way.systems && way.systems.length) facts.push(fact('Systems', way.systems.join(', ')));
  const sso = way.sso;
  if (sso) {
    facts.push(fact('Identity', sso.bound ? 'bound' : 'not bound (the first sign-on binds it)', `way-${way.kind}-bound`));
    if (way.kind === 'entra') {
      const read = Boolean(sso.profile_read_at);
      facts.push(
        fact('Position', directoryValue(sso.position, read), 'way-entra-position'),
        fact('Phone', directoryValue(sso.phone, read), 'way-entra-phone'),
        fact('Directory read', read ? fmtTime(sso.profile_read_at) : 'at the next sign-on'));
    }
  }
  return h('article', { class: 'way', 'aria-labelledby': id, 'data-testid': `way-${way.kind}` },
    h('h3', { id }, TITLES[way.kind] || way.kind),
    h('dl', { class: 'facts' }, facts),
    way.security ? securityControls(way) : null);
}

// passwordFacts are the email and password card's security settings: the
// password's dates, the authenticator's state and dates, the recovery codes.
export function passwordFacts(sec) {
  const app = sec.totp_enabled
    ? [badge('enrolled', 'active'), sec.totp_enrolled_at ? ` since ${fmtTime(sec.totp_enrolled_at)}` : null]
    : [badge(sec.totp_pending ? 'enrolment pending' : 'not enrolled', 'disabled')];
  return h('dl', { class: 'facts', 'data-testid': 'way-password-security' },
    fact('Password', sec.password_set_at ? `set ${fmtTime(sec.password_set_at)}` : 'not set yet (welcome email sent)'),
    sec.password_changed_at ? fact('Last changed', fmtTime(sec.password_changed_at)) : null,
    fact('Authenticator app', h('span', { class: 'badges' }, app), 'way-password-totp'),
    fact('Two-factor reset', sec.two_factor_reset_at ? fmtTime(sec.two_factor_reset_at) : 'never', 'way-password-reset-at'),
    fact('Recovery codes', `${sec.recovery_codes_left} unused${sec.recovery_codes_generated_at ? `, generated ${fmtTime(sec.recovery_codes_generated_at)}` : ''}`,
      'way-password-recovery'));
}

// signInWays is the section of cards. securityControls(way) builds the
// password card's settings and actions.
export function signInWays(authid, data, securityControls) {
  const ways = data.ways || [];
  return section('How the user signs in',
    data.never_signed_in
      ? h('p', { class: 'callout', 'data-testid': 'never-signed-in' },
        h('strong', {}, `${authid} has never signed in. `),
        ways.length ? 'Each card fills in after a first sign-in that way.' : '')
      : null,
    ways.length
      ? h('div', { class: 'ways', 'data-testid': 'sign-in-ways' }, ways.map((w) => wayCard(w, securityControls)))
      : h('p', { class: 'empty', 'data-testid': 'sign-in-ways-empty' },
        'No way to sign in yet: assign a system below, or turn on email login in the profile.'));
}
