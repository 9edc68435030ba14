// @ts-check
// One user: profile, assigned systems (a method each), authentication
// detail, a card per way the user signs in (user_ways.js), two-factor (TOTP
// enrolment, recovery codes, reset: in the email and password card when
// the user has one), lock-outs and recent attempts. A user assigned the console system is an administrator:
// the page says so, and asks before a change that ends their console
// access (the API refuses to leave the account without one).

import { api, branchOrganisations, enc, session } from '../api.js';
import {
  announce, badge, busy, confirmAction, CONSOLE_SYSTEM, consoleMark, copyText, field, flash, fmtTime, formValues, h, invalid, pageHeader, replace,
  section, table, textDownload,
} from '../ui.js';
import { passwordFacts, signInWays } from './user_ways.js';
import { orgHref } from '../branch.js';

// adminNote says what a change that ends authid's console access means,
// for the confirmations of those changes.
function adminNote(authid) {
  const me = session.info && session.info.authid === authid;
  return `${authid} is a console administrator: this ends their console access${me ? ' — yours: you will be signed out' : ''}. flexauth refuses it when ${authid} is the account’s last active administrator (assign the console system to someone else first), and asks you to sign in again before it goes ahead.`;
}

// organisationNote names the user's organisation; opened from a branch
// list on another organisation than the switcher's, it says that this
// page alone acts on the user's.
function organisationNote(u) {
  if (!u.organisation) return null;
  const own = session.info && u.organisation === session.info.account;
  const switched = session.org || (session.info ? session.info.account : '');
  return h('p', { class: 'muted', 'data-testid': 'user-organisation' },
    'Organisation: ', h('code', {}, u.organisation), own ? ' (yours)' : '',
    u.organisation !== switched ? ' · this page acts on it; the organisation switcher is unchanged.' : '');
}

export async function render(view, ctx) {
  const authid = ctx.param;
  const base = `/v1/admin/users/${enc(authid)}`;
  const [u, sys, att, ways, orgs] = await Promise.all([
    api('GET', base),
    api('GET', '/v1/admin/systems'),
    api('GET', `${base}/attempts?limit=20`),
    api('GET', `${base}/sign-in-methods`),
    branchOrganisations(),
  ]);
  if (!ctx.current()) return;
  const reload = () => ctx.navigate(location.hash);
  const isAdmin = (u.assignments || []).some((a) => a.system === CONSOLE_SYSTEM);

  const disable = async () => {
    const off = u.status !== 'disabled';
    if (off) {
      const ok = await confirmAction({
        title: `Disable ${authid}?`,
        text: `The user can no longer sign in to any system until enabled again. Attempts in flight fail.${isAdmin ? ` ${adminNote(authid)}` : ''}`,
        ok: 'Disable user',
      });
      if (!ok) return;
    }
    await api('PATCH', base, { body: { status: off ? 'disabled' : 'active' } });
    flash(off ? `User ${authid} disabled.` : `User ${authid} enabled.`);
    reload();
  };
  const remove = async () => {
    const ok = await confirmAction({
      title: `Delete ${authid}?`,
      text: `The user, their assignments and two-factor credentials are deleted. The audit trail keeps their history. This cannot be undone.${isAdmin ? ` ${adminNote(authid)}` : ''}`,
      ok: 'Delete user',
    });
    if (!ok) return;
    await api('DELETE', base);
    flash(`User ${authid} deleted.`);
    ctx.navigate('#/users');
  };

  view.append(
    h('p', { class: 'crumbs' }, h('a', { href: '#/users' }, '← All users')),
    pageHeader(`User ${authid}`, badge(u.status), isAdmin ? consoleMark() : null,
      h('div', { class: 'head-actions' },
        h('button', { type: 'button', class: u.status === 'disabled' ? 'secondary' : 'danger', 'data-testid': 'user-toggle-status', onclick: disable },
          u.status === 'disabled' ? 'Enable user' : 'Disable user'),
        h('button', { type: 'button', class: 'danger', 'data-testid': 'user-delete', onclick: remove }, 'Delete user'))),
    // view.append is the DOM's: a null would show as "null".
    ...[organisationNote(u)].filter(Boolean),
    h('div', { class: 'grid-2' },
      profile(u, base),
      authDetail(u)),
    // The email and password card holds the two-factor settings and
    // actions; without one they keep their own section.
    signInWays(authid, ways, (way) => h('div', { class: 'way-security' },
      h('h4', {}, 'Security settings'),
      passwordFacts(way.security),
      twoFactorActions(u, base, reload),
      passwordResetAction(u, way.security, base))),
    assignments(u, sys.systems || [], base),
    ...((ways.ways || []).some((w) => w.security) ? [] : [twoFactor(u, base, reload)]),
    lockouts(u, base, reload),
    ...[moveSection(u, base, orgs, ctx)].filter(Boolean),
    section('Recent attempts', table({
      testid: 'user-attempts',
      caption: `Recent attempts of ${authid}`,
      empty: 'No attempts yet. They appear here once an application starts one for this user.',
      rows: att.attempts || [],
      columns: [
        { label: 'Started', cell: (a) => fmtTime(a.started_at) },
        { label: 'System', cell: (a) => a.system },
        { label: 'Method', cell: (a) => a.method || '—' },
        { label: 'Outcome', cell: (a) => badge(a.state) },
        { label: 'IP', cell: (a) => a.ip || '—' },
        { label: 'Completed', cell: (a) => fmtTime(a.completed_at) },
        { label: 'Timeline', cell: (a) => h('a', { href: orgHref('audit', a.id, u.organisation), 'aria-label': `Timeline of attempt started ${fmtTime(a.started_at)}` }, 'Timeline') },
      ],
    })),
  );
}

// passwordState says where the user is with email and password sign-in.
function passwordState(u) {
  if (!u.email_password_login) return 'Off.';
  if (!u.password_set_at) return 'On; no password yet: the user was sent a welcome email to create one.';
  return `On; password set ${fmtTime(u.password_set_at)}${u.password_changed_at ? `, last changed ${fmtTime(u.password_changed_at)}` : ''}.`;
}

function profile(u, base) {
  const error = h('p', { class: 'form-error', role: 'alert' });
  const emailLogin = h('input', {
    type: 'checkbox', id: 'profile-email-login', name: 'email_password_login', checked: u.email_password_login,
    'data-testid': 'profile-email-login', 'aria-describedby': 'profile-email-login-hint',
  });
  const state = h('p', { class: 'hint', id: 'profile-email-login-hint', 'data-testid': 'profile-email-login-state' }, passwordState(u));
  const form = h('form', { novalidate: true, 'data-testid': 'profile-form' },
    field({ label: 'Name', name: 'name', value: u.name, testid: 'profile-name' }),
    field({ label: 'Email', name: 'email', type: 'email', value: u.email, testid: 'profile-email' }),
    field({ label: 'Phone', name: 'phone', type: 'tel', value: u.phone, testid: 'profile-phone' }),
    h('div', { class: 'field' },
      h('span', { class: 'check' }, emailLogin, h('label', { for: emailLogin.id }, 'Email login (sign-in with email and password)')),
      state),
    error,
    h('div', { class: 'actions' }, h('button', { type: 'submit', 'data-testid': 'profile-save' }, 'Save profile')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    error.textContent = '';
    const body = formValues(form);
    body.email_password_login = emailLogin.checked;
    busy(form, async () => {
      try {
        const saved = await api('PATCH', base, { body, quiet: true });
        const turnedOn = saved.email_password_login && !u.email_password_login;
        Object.assign(u, saved);
        state.textContent = passwordState(u);
        announce(turnedOn ? 'Profile saved. A welcome email is on its way.' : 'Profile saved.');
      } catch (/** @type {any} */ err) {
        error.textContent = err.message;
        emailLogin.checked = u.email_password_login;
      }
    });
  });
  return section('Profile', form);
}

function authDetail(u) {
  const dl = h('dl', { class: 'facts', 'data-testid': 'auth-detail' },
    h('dt', {}, 'Last login'), h('dd', {}, fmtTime(u.last_login_at)),
    h('dt', {}, 'Logins'), h('dd', { 'data-testid': 'login-count' }, String(u.login_count ?? 0)),
    h('dt', {}, 'Last IP'), h('dd', {}, u.last_ip || '—'),
    h('dt', {}, 'Single sign-on'), h('dd', { 'data-testid': 'sso-bound' },
      u.sso_bound ? 'provider identity bound' : 'not bound (the first sign-on binds it)'),
    h('dt', {}, 'Created'), h('dd', {}, fmtTime(u.created_at)));
  // Per way (method, provider): the cards below.
  return section('Authentication', dl);
}

// assignments edits every (system, method) pair at once: a checkbox per
// system and the method this user gets there.
function assignments(u, systems, base) {
  // current is what the server holds, updated after each save.
  let current = new Map((u.assignments || []).map((a) => [a.system, a.method]));
  if (systems.length === 0) {
    return section('Systems', h('p', { class: 'empty' }, 'No systems yet — ', h('a', { href: '#/systems' }, 'create one'), ' first.'));
  }
  const error = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'assign-error' });
  const rows = systems.map((s) => {
    const assigned = current.has(s.name);
    const method = current.get(s.name) || s.methods[0];
    const select = h('select', {
      name: `method:${s.name}`, id: `assign-method-${s.name}`, disabled: !assigned, 'data-testid': `assign-method-${s.name}`,
    }, s.methods.map((m) => h('option', { value: m, selected: m === method }, m)));
    const box = h('input', {
      type: 'checkbox', id: `assign-${s.name}`, name: 'assign', value: s.name, checked: assigned, 'data-testid': `assign-${s.name}`,
      onchange: (e) => { select.disabled = !e.target.checked; },
    });
    const isConsole = s.name === CONSOLE_SYSTEM;
    return h('tr', { class: isConsole ? 'console-row' : null },
      h('td', { 'data-label': 'Assigned' }, h('span', { class: 'check' }, box, h('label', { for: box.id }, s.name)),
        isConsole ? h('div', { class: 'console-assign' }, consoleMark(),
          h('p', { class: 'hint' }, 'Giving, changing or taking away console access asks you to sign in again.')) : null),
      h('td', { 'data-label': 'Method' },
        h('label', { for: select.id, class: 'visually-hidden' }, `Method for ${s.name}`), select),
      h('td', { 'data-label': 'Sensitivity' }, badge(s.sensitivity)));
  });
  const form = h('form', { novalidate: true, 'data-testid': 'assign-form' },
    h('div', { class: 'table-wrap' }, h('table', { class: 'data' },
      h('caption', { class: 'visually-hidden' }, 'Systems assigned to this user'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'System'), h('th', { scope: 'col' }, 'Method'), h('th', { scope: 'col' }, 'Sensitivity'))),
      h('tbody', {}, rows))),
    error,
    h('div', { class: 'actions' }, h('button', { type: 'submit', 'data-testid': 'assign-save' }, 'Save assignments')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const chosen = [...form.querySelectorAll('input[name=assign]:checked')].map((b) => ({
      system: b.value,
      method: form.elements[`method:${b.value}`].value,
    }));
    error.textContent = '';
    busy(form, async () => {
      if (!await confirmConsoleChange(u, current.get(CONSOLE_SYSTEM), chosen.find((a) => a.system === CONSOLE_SYSTEM))) return;
      try {
        await api('PUT', `${base}/systems`, { body: { assignments: chosen }, quiet: true });
        current = new Map(chosen.map((a) => [a.system, a.method]));
        announce(chosen.length ? `Assignments saved: ${chosen.map((a) => `${a.system} (${a.method})`).join(', ')}.` : 'All assignments removed.');
      } catch (/** @type {any} */ err) {
        invalid(error, null, err.message);
      }
    });
  });
  return section('Systems', h('p', { class: 'muted' }, 'Tick the systems this user may sign in to and choose the method for each.'), form);
}

// confirmConsoleChange asks before a save that takes away the user's
// console access, or changes how they sign in to the console, naming what
// follows; it resolves true when the save may go ahead.
async function confirmConsoleChange(u, before, after) {
  if (before && !after) {
    return confirmAction({
      title: `Remove ${u.authid}’s console access?`,
      text: `${u.authid} will no longer be an administrator of this account. ${adminNote(u.authid)}`,
      ok: 'Remove console access',
    });
  }
  if (before && after && after.method !== before) {
    const noApp = after.method === 'totp' && !u.totp_enabled;
    return confirmAction({
      title: `Change how ${u.authid} signs in to the console?`,
      text: `${u.authid} signs in to the console with ${after.method} instead of ${before} from now on.${noApp ? ` ${u.authid} has no authenticator app enrolled: they cannot sign in to the console with totp until one is enrolled.` : ''} Saving asks you to sign in again.`,
      ok: `Use ${after.method}`,
    });
  }
  return true;
}

// twoFactor is the two-factor section of a user without email and
// password; twoFactorActions is the same controls, without the state the
// email and password card shows already.
function twoFactor(u, base, reload) {
  const parts = twoFactorParts(u, base, reload);
  return section('Two-factor', parts.area, h('h3', {}, 'Recovery codes'), parts.left, parts.recovery);
}

function twoFactorActions(u, base, reload) {
  const parts = twoFactorParts(u, base, reload, { compact: true });
  return [parts.area, parts.recovery];
}

function twoFactorParts(u, base, reload, { compact = false } = {}) {
  const area = h('div', { 'data-testid': 'totp-area' });
  const codesArea = h('div', { 'data-testid': 'recovery-area' });
  const leftText = (n) => `${n} unused recovery code${n === 1 ? '' : 's'}.`;
  const left = h('p', { 'data-testid': 'recovery-left' }, leftText(u.recovery_codes_left ?? 0));

  const enrol = async () => {
    const t = await api('POST', `${base}/totp`);
    const error = h('p', { class: 'form-error', role: 'alert' });
    const form = h('form', { novalidate: true, 'data-testid': 'totp-verify-form' },
      field({ label: 'Code from the authenticator', name: 'code', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 6, required: true, testid: 'totp-code' }),
      error,
      h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Verify and activate')));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const code = form.elements.code.value.trim();
      if (!/^\d{6}$/.test(code)) return invalid(error, form.elements.code, 'Enter the 6-digit code.');
      busy(form, async () => {
        try {
          await api('POST', `${base}/totp/verify`, { body: { code }, quiet: true });
          flash('Authenticator verified: TOTP is active.');
          reload();
        } catch (/** @type {any} */ err) {
          invalid(error, form.elements.code, err.message);
        }
      });
    });
    replace(area, h('div', { class: 'enrol' },
      t.qr_png ? h('img', { src: t.qr_png, alt: 'QR code for the authenticator app', width: 200, height: 200, class: 'qr', 'data-testid': 'totp-qr' }) : null,
      h('div', {},
        h('p', {}, 'Scan the QR code with the user’s authenticator app, or type the secret. Then enter a code from the app.'),
        h('p', {}, 'Secret: ', h('code', { class: 'secret', 'data-testid': 'totp-secret' }, t.secret)),
        form)));
    form.elements.code.focus();
  };

  const reset = async () => {
    const ok = await confirmAction({
      title: 'Reset two-factor?',
      text: 'The TOTP seed and all recovery codes are removed. The user must enrol again before signing in with TOTP.',
      ok: 'Reset two-factor',
    });
    if (!ok) return;
    await api('DELETE', `${base}/totp`);
    flash('Two-factor reset.');
    reload();
  };

  const generate = async () => {
    if ((u.recovery_codes_left || 0) > 0) {
      const ok = await confirmAction({
        title: 'Generate new recovery codes?',
        text: `The ${u.recovery_codes_left} unused codes stop working.`,
        ok: 'Generate new codes',
      });
      if (!ok) return;
    }
    const { codes } = await api('POST', `${base}/recovery-codes`);
    u.recovery_codes_left = codes.length;
    left.textContent = leftText(codes.length);
    // In the email and password card the count is one of its facts.
    const fact = area.closest('.way-security')?.querySelector('[data-testid=way-password-recovery]');
    if (fact) fact.textContent = `${codes.length} unused, generated ${fmtTime(new Date().toISOString())}`;
    const list = h('ol', { class: 'codes' }, codes.map((c) => h('li', {}, h('code', {}, c))));
    const file = [
      `flexauth recovery codes of ${u.authid}`,
      'Each code works once, in place of a code from the authenticator app. Keep them somewhere safe.',
      `Generated ${new Date().toISOString()}`,
      '',
      ...codes,
      '',
    ].join('\n');
    replace(codesArea, h('div', { class: 'callout once', 'data-testid': 'recovery-codes' },
      h('p', {}, h('strong', {}, 'Shown once. '), 'Give these codes to the user now; each works once in place of a TOTP code.'),
      list,
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'secondary', 'data-testid': 'recovery-copy', onclick: () => copyText(`${codes.join('\n')}\n`, list, 'Recovery codes') }, 'Copy'),
        textDownload({ filename: `recovery-codes-${u.authid}.txt`, text: file, label: 'Download .txt', testid: 'recovery-download' }))));
  };

  replace(area,
    compact ? null : h('p', { 'data-testid': 'totp-status' }, 'TOTP: ', u.totp_enabled ? badge('enrolled', 'active') : badge('not enrolled', 'disabled')),
    // An active authenticator is never replaced (the API answers 409):
    // two-factor is reset first, then the user enrols again.
    u.totp_enabled ? h('p', { class: 'muted', 'data-testid': 'totp-replace-hint' }, 'To enrol a new authenticator, reset two-factor first.') : null,
    h('div', { class: 'actions' },
      u.totp_enabled ? null : h('button', { type: 'button', class: 'secondary', 'data-testid': 'totp-enrol', onclick: enrol }, 'Enrol an authenticator'),
      h('button', { type: 'button', class: 'danger', 'data-testid': 'totp-reset', onclick: reset, disabled: !u.totp_enabled && !u.recovery_codes_left }, 'Reset two-factor')));
  // Recovery codes stand in for the authenticator's codes: without an
  // enrolled authenticator they would sign in to nothing, so they are
  // offered only once one is.
  return {
    area,
    left: compact ? null : left,
    recovery: [
      u.totp_enabled ? null : h('p', { class: 'hint', id: 'recovery-reason', 'data-testid': 'recovery-reason' },
        'Enrol an authenticator app first: recovery codes stand in for its codes when the app is lost.'),
      h('div', { class: 'actions' }, h('button', {
        type: 'button', class: 'secondary', 'data-testid': 'recovery-generate', onclick: generate,
        disabled: !u.totp_enabled, 'aria-describedby': u.totp_enabled ? null : 'recovery-reason',
      }, 'Generate recovery codes')),
      codesArea],
  };
}

// passwordResetAction sends the user a link to choose a new password (a
// welcome link when they have none yet): the API answers which.
function passwordResetAction(u, security, base) {
  if (!security.email_password_login || !u.email) return null;
  const send = async () => {
    const ok = await confirmAction({
      title: `Send ${u.authid} a password reset email?`,
      text: `A one-time link to choose a new password goes to ${u.email}; it works for an hour. It does not change two-factor: signing in still asks for a code.`,
      ok: 'Send reset email',
    });
    if (!ok) return;
    const out = await api('POST', `${base}/password-reset`);
    announce(out.link === 'welcome' ? `${u.authid} has no password yet: a welcome email is on its way.` : `A password reset email is on its way to ${u.email}.`);
  };
  return h('div', { class: 'actions' },
    h('button', { type: 'button', class: 'secondary', 'data-testid': 'password-reset-send', onclick: send }, 'Send a password reset email'));
}

// lockouts shows the user's runs of wrong codes per factor and lets an
// administrator end them (a sensitive change: it lets guessing go on).
function lockouts(u, base, reload) {
  const runs = u.lockouts || [];
  const clear = async () => {
    const ok = await confirmAction({
      title: `Clear the lock-out of ${u.authid}?`,
      text: 'The runs of wrong codes are forgotten and locked factors open again. Do this once you know the user, not someone guessing, made the mistakes.',
      ok: 'Clear lock-out',
    });
    if (!ok) return;
    await api('DELETE', `${base}/lockout`);
    flash(`Lock-out of ${u.authid} cleared.`);
    reload();
  };
  const state = (l) => {
    if (l.hard_locked) return badge('locked until cleared', 'denied');
    if (l.locked) return badge(`locked until ${fmtTime(l.locked_until)}`, 'locked');
    return badge('open', 'active');
  };
  return section('Lock-outs',
    table({
      testid: 'user-lockouts',
      caption: `Wrong codes of ${u.authid} by factor`,
      empty: 'No wrong codes since the last success.',
      rows: runs,
      columns: [
        { label: 'Factor', cell: (l) => l.factor },
        { label: 'Wrong in a row', cell: (l) => String(l.failures) },
        { label: 'State', cell: state },
        { label: 'Last wrong code', cell: (l) => fmtTime(l.last_failure_at) },
      ],
    }),
    runs.length ? h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'danger', 'data-testid': 'lockout-clear', onclick: clear }, 'Clear lock-out')) : null);
}

// moveSection moves the user to another organisation of the branch
// (POST .../move; the API asks for a fresh sign-in): the user keeps its
// credentials, assignments carry over to systems of the same name and
// method, the console's never. The answer is shown, and the page then
// opens on the user's new organisation.
function moveSection(u, base, orgs, ctx) {
  const others = (orgs || []).filter((o) => o.id !== u.organisation);
  if (!u.organisation || others.length === 0) return null;
  const error = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'user-move-error' });
  const outcome = h('div', { 'data-testid': 'user-move-outcome', 'aria-live': 'polite' });
  const form = h('form', { novalidate: true, 'data-testid': 'user-move-form' },
    field({ label: 'Organisation', name: 'organisation', testid: 'user-move-organisation', options: [['', 'Choose an organisation'], ...others.map((o) => [o.id, `${'— '.repeat(o.depth)}${o.name || o.id} (${o.id})`])] }),
    field({ label: 'Reason', name: 'reason', testid: 'user-move-reason', maxlength: 500, hint: 'Optional; kept in the audit trail of both organisations.' }),
    error,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'secondary', 'data-testid': 'user-move' }, 'Move to organisation…')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const v = formValues(form);
    if (!v.organisation) return invalid(error, form.elements.organisation, 'Choose the organisation to move the user to.');
    error.textContent = '';
    busy(form, async () => {
      const ok = await confirmAction({
        title: `Move ${u.authid} to ${v.organisation}?`,
        text: `${u.authid} keeps their password, authenticator and recovery codes. Their systems carry over where ${v.organisation} has a system of the same name with the same method; the others, and console access, are dropped. Their sessions end and sign-ins in progress are cancelled.`,
        ok: 'Move user',
      });
      if (!ok) return;
      let out;
      try {
        out = await api('POST', `${base}/move`, { body: { organisation: v.organisation, reason: v.reason || '' }, quiet: true });
      } catch (/** @type {any} */ err) {
        error.textContent = err.message;
        return;
      }
      if (!ctx.current()) return;
      const list = (as) => (as || []).map((a) => `${a.system} (${a.method})`).join(', ') || 'none';
      const said = `${u.authid} moved from ${out.from} to ${out.organisation}. Systems carried over: ${list(out.assignments)}. Dropped: ${list(out.dropped_assignments)}.`;
      replace(outcome, h('div', { class: 'callout ok' }, h('p', {}, said),
        h('p', {}, h('a', { href: orgHref('users', u.authid, out.organisation), 'data-testid': 'user-move-open' }, `Open ${u.authid} in ${out.organisation}`))));
      announce(said);
    });
  });
  return section('Organisation', h('p', { class: 'hint' }, 'Move this user to another organisation of your branch.'), form, outcome);
}
