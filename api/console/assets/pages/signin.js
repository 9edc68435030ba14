// @ts-check
// Sign-in through flexauth itself: the console is the account's `console`
// system, so signing in runs a normal attempt (policy, method, delivery).
// The same widget serves the sign-in page and the "fresh sign-in" dialog.

import { refreshSession, request, session } from '../api.js';
import { field, h, replace } from '../ui.js';

const POLL_MS = 2000;

export async function render(view, ctx) {
  const reason = sessionStorage.getItem('flexauth-signin-reason');
  sessionStorage.removeItem('flexauth-signin-reason');
  const outbox = outboxPanel();
  ctx.onLeave(outbox.stop);
  const widget = signInWidget({
    account: localStorage.getItem('flexauth-account') || '',
    onDone: async () => {
      await refreshSession();
      ctx.signedIn();
    },
  });
  ctx.onLeave(widget.stop);
  view.append(h('div', { class: 'signin-layout' },
    h('section', { class: 'card signin-card' },
      h('h1', {}, 'Sign in to the console'),
      reason ? h('p', { class: 'callout', 'data-testid': 'signin-reason' }, reason) : null,
      widget.el),
    outbox.el));
}

// signInWidget: account + user ID, then one screen for everybody: the
// server answers every sign-in alike, so the page never learns (or says)
// whether the user is an administrator or how they sign in. It polls the
// check and always offers a code field; a link confirmed in this browser
// signs this page in too. onDone(answer) runs once authenticated.
export function signInWidget({ account = '', authid = '', fixed = false, onDone }) {
  const el = h('div', { class: 'signin-widget' });
  let timer = null;
  let finished = false;
  // generation tells the current screen's answers from late answers to
  // a screen the person has left (Start again).
  let generation = 0;
  const stop = () => {
    if (timer) clearTimeout(timer);
    timer = null;
  };

  const done = (data) => {
    if (finished) return;
    finished = true;
    stop();
    session.csrf = data.csrf_token || session.csrf;
    onDone(data);
  };

  function start(message = '') {
    stop();
    generation += 1;
    finished = false;
    const error = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'signin-error' }, message);
    const form = h('form', { novalidate: true, 'data-testid': 'signin-form' },
      field({ label: 'Account', name: 'account', value: account, required: true, autocomplete: 'organization', readonly: fixed, testid: 'signin-account', autocapitalize: 'off', spellcheck: 'false' }),
      field({ label: 'User ID', name: 'authid', value: authid, required: true, autocomplete: 'username', readonly: fixed, testid: 'signin-authid', autocapitalize: 'off', spellcheck: 'false' }),
      error,
      h('div', { class: 'actions' }, h('button', { type: 'submit', 'data-testid': 'signin-submit' }, 'Sign in')));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      account = form.elements.account.value.trim();
      authid = form.elements.authid.value.trim();
      if (!account || !authid) {
        error.textContent = 'Enter both the account and your user ID.';
        (account ? form.elements.authid : form.elements.account).focus();
        return;
      }
      form.querySelector('button').disabled = true;
      const { status, data } = await request('POST', '/v1/admin/session', { body: { account, authid } });
      form.querySelector('button').disabled = false;
      if (status === 200 && data && data.result === 'pending') {
        localStorage.setItem('flexauth-account', account);
        waitForSignIn();
        return;
      }
      error.textContent = (data && data.error) || 'Sign-in is unavailable right now. Try again in a moment.';
      form.elements.authid.focus();
    });
    replace(el, form);
    if (!fixed) (account ? form.elements.authid : form.elements.account).focus();
  }

  function restart() {
    return h('button', { type: 'button', class: 'link-button', 'data-testid': 'signin-restart', onclick: () => start() }, 'Start again');
  }

  // ended handles the answers that end the sign-in (403 and the like).
  function ended(data) {
    if (data && data.reason === 'confirmed elsewhere') {
      start('This sign-in was confirmed in another browser, which is now signed in. To use the console here, sign in again and confirm the link in this browser.');
    } else if (data && data.result === 'expired') {
      start('The sign-in expired. Start again to get a new link or code.');
    } else {
      start((data && data.error) || 'Sign-in failed. Start again.');
    }
  }

  // waitForSignIn: the one screen after the sign-in started.
  function waitForSignIn() {
    const mine = ++generation;
    const current = () => el.isConnected && !finished && mine === generation;
    const error = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'signin-error' });
    const form = h('form', { novalidate: true, 'data-testid': 'signin-code-form' },
      field({
        label: 'Code', name: 'pin', required: true,
        autocomplete: 'one-time-code', testid: 'signin-code', autocapitalize: 'off', spellcheck: 'false',
        hint: 'The code from the message or your authenticator app, or a recovery code.',
      }),
      error,
      h('div', { class: 'actions' }, h('button', { type: 'submit', 'data-testid': 'signin-verify' }, 'Verify'), restart()));
    replace(el, h('div', { class: 'waiting', 'data-testid': 'signin-sent' },
      h('h2', {}, 'Check your messages'),
      h('p', { 'data-testid': 'signin-sent-text' }, `If ${authid} is an administrator of ${account}, a sign-in link or code is on its way.`),
      h('p', { class: 'muted' }, 'Got a link? Open it in this browser and confirm: this page continues by itself. Got a code, or use an authenticator app? Enter it here.'),
      form,
      h('p', { class: 'muted', 'data-testid': 'signin-waiting' }, 'Waiting for you to confirm…')));

    // While a code is being checked the poll waits: both could open the
    // session, and only one may.
    let checkingCode = false;
    const poll = async () => {
      timer = null;
      if (!current()) return;
      if (checkingCode) {
        timer = setTimeout(poll, POLL_MS);
        return;
      }
      const { status, data } = await request('POST', '/v1/admin/session/check', { body: {} });
      if (!current()) return;
      if (status === 200 && data && data.result === 'authenticated') return done(data);
      if (status === 202 || status === 0 || status >= 500) {
        if (!timer) timer = setTimeout(poll, POLL_MS);
        return;
      }
      ended(data);
    };
    // pollSoon checks again shortly: a code the server judged after
    // answering signs in on the next check.
    const pollSoon = (ms) => {
      stop();
      timer = setTimeout(poll, ms);
    };

    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const pin = form.elements.pin.value.trim();
      if (!pin) {
        error.textContent = 'Enter the code.';
        form.elements.pin.focus();
        return;
      }
      error.textContent = '';
      form.querySelector('button').disabled = true;
      checkingCode = true;
      const { status, data } = await request('POST', '/v1/admin/session/check', { body: { pin } });
      checkingCode = false;
      form.querySelector('button').disabled = false;
      if (!current()) return;
      if (status === 200 && data && data.result === 'authenticated') return done(data);
      if (status === 202) {
        error.textContent = 'That code was not accepted. Check it and try again.';
        form.elements.pin.select();
        pollSoon(500);
        return;
      }
      if (status === 400) {
        error.textContent = (data && data.error) || 'That is not a code.';
        form.elements.pin.select();
        return;
      }
      if (status === 0 || status >= 500) {
        error.textContent = (data && data.error) || 'Sign-in is unavailable right now. Try again in a moment.';
        return;
      }
      ended(data);
    });
    form.elements.pin.focus();
    timer = setTimeout(poll, POLL_MS);
  }

  start();
  return { el, stop };
}

// outboxPanel shows the dev outbox beside the form when the server runs
// in dev mode (the page carries a flexauth-dev-token meta tag, and GET
// /v1/admin/dev/outbox with that token answers 200), so the link or code
// can be used without a mail server. Elsewhere it stays empty and hidden.
export function outboxPanel() {
  const devToken = /** @type {HTMLMetaElement | null} */ (document.querySelector('meta[name="flexauth-dev-token"]'))?.content || '';
  const list = h('div', { 'aria-live': 'polite' });
  const el = h('aside', { class: 'card outbox', hidden: true, 'aria-labelledby': 'outbox-title', 'data-testid': 'dev-outbox' },
    h('h2', { id: 'outbox-title' }, 'Dev outbox'),
    h('p', { class: 'muted' }, 'Development mode: messages flexauth sent, newest first.'),
    list);
  let timer = null;
  let last = '';
  let stopped = false;
  const load = async () => {
    if (!devToken) return; // not dev mode: no panel, no polling
    const { status, data } = await fetchOutbox(devToken);
    if (stopped) return;
    if (status !== 200 || !data) return; // not dev mode: no panel, no polling
    el.hidden = false;
    const messages = data.messages || [];
    const key = messages.map((m) => m.id).join(',');
    if (key !== last) {
      last = key;
      replace(list, messages.length === 0
        ? h('p', { class: 'empty' }, 'No messages yet. Sign in to receive one.')
        : h('ul', { class: 'outbox-list' }, messages.map((m) => h('li', { 'data-testid': 'outbox-message' },
          h('div', { class: 'outbox-meta' }, `${new Date(m.time).toLocaleTimeString()} · ${m.channel || ''} to ${m.to || '?'}${m.system ? ` · ${m.system}` : ''}`),
          h('div', { class: 'outbox-subject' }, m.subject || '(no subject)'),
          // A PIN message carries a code and no link: only a message with a
          // link offers one.
          safeLink(m.link) ? h('a', { href: m.link, target: '_blank', rel: 'noopener', 'data-testid': 'outbox-link' }, 'Open sign-in link') : null,
          m.code ? h('div', {}, 'Code: ', h('code', { 'data-testid': 'outbox-code' }, m.code)) : null))));
    }
    timer = setTimeout(load, POLL_MS);
  };
  load();
  return {
    el,
    stop: () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}

// fetchOutbox reads the dev outbox, sending the token the server put in
// the page.
async function fetchOutbox(token) {
  try {
    const res = await fetch('/v1/admin/dev/outbox', {
      headers: { Accept: 'application/json', 'X-Flexauth-Dev-Token': token },
      credentials: 'same-origin',
      cache: 'no-store',
    });
    return { status: res.status, data: res.ok ? await res.json() : null };
  } catch {
    return { status: 0, data: null };
  }
}

// safeLink accepts only http(s) links, so that nothing else in the file
// can become a script URL in the page; an empty one is no link (resolved,
// it would be this page's own URL).
function safeLink(link) {
  if (typeof link !== 'string' || link === '') return false;
  try {
    return ['http:', 'https:'].includes(new URL(link, location.href).protocol);
  } catch {
    return false;
  }
}

// reauthenticate asks for a fresh sign-in in a dialog, as the same user;
// it resolves true once signed in again, false when cancelled.
export function reauthenticate() {
  const dlg = document.getElementById('reauth-dialog');
  const body = document.getElementById('reauth-body');
  const before = /** @type {HTMLElement | null} */ (document.activeElement);
  const info = /** @type {Partial<import('../api.js').SessionInfo>} */ (session.info || {});
  return new Promise((resolve) => {
    const outbox = outboxPanel();
    let ok = false;
    const widget = signInWidget({
      account: info.account || '',
      authid: info.authid || '',
      fixed: Boolean(info.account),
      onDone: async () => {
        ok = true;
        await refreshSession();
        dlg.close();
      },
    });
    replace(body, widget.el, outbox.el);
    const cancel = () => dlg.close();
    document.getElementById('reauth-cancel').addEventListener('click', cancel);
    dlg.addEventListener('close', () => {
      widget.stop();
      outbox.stop();
      document.getElementById('reauth-cancel').removeEventListener('click', cancel);
      if (before && before.isConnected) before.focus();
      resolve(ok);
    }, { once: true });
    dlg.showModal();
    const submit = /** @type {HTMLElement | null} */ (body.querySelector('[data-testid="signin-submit"]'));
    if (submit) submit.focus();
  });
}
