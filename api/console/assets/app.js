// @ts-check
// app.js: the console shell. It loads the session, routes "#/page/param"
// to a page module under pages/, and wires the navigation, sign-out and
// the fresh-sign-in dialog. Each page module exports
// render(view, ctx) that fills `view` (a fresh element) and may register
// cleanups with ctx.onLeave (e.g. to stop polling).

import {
  api, branchOrganisations, configure, forgetBranch, refreshSession, session, setBranchView, setOrganisation,
} from './api.js';
import { clearNotices, h, replace, showError } from './ui.js';
import { reauthenticate } from './pages/signin.js';
import * as signin from './pages/signin.js';
import * as dashboard from './pages/dashboard.js';
import * as systems from './pages/systems.js';
import * as users from './pages/users.js';
import * as user from './pages/user.js';
import * as audit from './pages/audit.js';
import * as timeline from './pages/timeline.js';
import * as keys from './pages/keys.js';
import * as policy from './pages/policy.js';
import * as importPage from './pages/import.js';
import * as account from './pages/account.js';
import * as organisations from './pages/organisations.js';
import * as messagesPage from './pages/messages.js';

// routes maps the first hash segment (and whether a second one is
// present) to a page and its title.
const routes = {
  signin: { page: signin, title: 'Sign in', public: true },
  dashboard: { page: dashboard, title: 'Dashboard' },
  systems: { page: systems, title: 'Systems' },
  users: { page: users, title: 'Users', detail: { page: user, title: 'User' } },
  audit: { page: audit, title: 'Audit trail', detail: { page: timeline, title: 'Attempt timeline' } },
  keys: { page: keys, title: 'API keys' },
  policy: { page: policy, title: 'Policy' },
  import: { page: importPage, title: 'Import / export' },
  account: { page: account, title: 'Account' },
  organisations: { page: organisations, title: 'Organisations' },
  messages: { page: messagesPage, title: 'Messages' },
};

let leave = [];
let routeSeq = 0;
let afterSignIn = '#/dashboard';

function parseHash() {
  const raw = location.hash.startsWith('#/') ? location.hash.slice(2) : '';
  const [path, search = ''] = raw.split('?');
  const [name, ...rest] = path.split('/');
  const param = rest.length ? decodeURIComponent(rest.join('/')) : '';
  const org = new URLSearchParams(search).get('organisation');
  return { name: name || 'dashboard', param, org };
}

export function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

async function route() {
  // Only "#/..." is a route: "#main" is the skip link.
  if (location.hash && !location.hash.startsWith('#/')) return;
  for (const fn of leave) fn();
  leave = [];

  const { name, param, org } = parseHash();
  // "#/users/ID?organisation=ORG" acts on ORG for this page alone (a user
  // of another organisation of the branch); the switcher stays as it is.
  setPageOrganisation(org);
  let r = routes[name];
  if (!r) {
    navigate('#/dashboard');
    return;
  }
  if (param && r.detail) r = r.detail;
  if (!r.public && !session.info) {
    afterSignIn = location.hash || '#/dashboard';
    navigate('#/signin');
    return;
  }
  if (name === 'signin' && session.info) {
    navigate('#/dashboard');
    return;
  }

  clearNotices();
  // The switcher is ready (once per session) before the page renders, so
  // that a page on screen always comes with the switcher it acts under.
  const mine = ++routeSeq;
  await showChrome();
  if (mine !== routeSeq) return; // another route started meanwhile
  const main = document.getElementById('main');
  const view = h('div', { class: `view view-${name}`, 'data-testid': `page-${param ? `${name}-detail` : name}` });
  replace(main, view);
  document.title = `${r.title} · flexauth console`;
  for (const a of /** @type {NodeListOf<HTMLAnchorElement>} */ (document.querySelectorAll('#nav a'))) {
    if (a.dataset.route === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  closeMenu();

  const ctx = {
    param,
    onLeave: (fn) => leave.push(fn),
    // current reports whether this view is still on screen, so late
    // answers do not paint over another page.
    current: () => view.isConnected,
    navigate,
    signedIn: () => {
      const to = afterSignIn;
      afterSignIn = '#/dashboard';
      navigate(to === '#/signin' ? '#/dashboard' : to);
    },
  };
  try {
    await r.page.render(view, ctx);
  } catch (/** @type {any} */ err) {
    if (err && err.status === 401) return;
    if (view.isConnected) {
      view.append(h('p', { class: 'empty' }, 'This page could not be loaded. ', h('a', { href: location.hash }, 'Try again')));
      if (!(err && err.status)) showError(String(err && err.message ? err.message : err));
    }
  }
  if (!view.isConnected) return;
  // Move focus to the page heading so keyboard and screen-reader users
  // start at the new content, unless they are already in it.
  const heading = view.querySelector('h1');
  if (heading && !view.contains(document.activeElement)) {
    heading.setAttribute('tabindex', '-1');
    heading.focus({ preventScroll: true });
  }
  // data-ready names the route once its page is complete (tests wait on it).
  view.dataset.ready = location.hash;
}

// showChrome shows the navigation only to a signed-in administrator; its
// promise settles once the organisation switcher is loaded.
async function showChrome() {
  const signedIn = Boolean(session.info);
  document.getElementById('nav').hidden = !signedIn;
  document.getElementById('nav-toggle').hidden = !signedIn;
  document.getElementById('who').hidden = !signedIn;
  document.body.classList.toggle('signed-in', signedIn);
  if (signedIn) {
    const i = /** @type {import('./api.js').SessionInfo} */ (session.info); // signedIn: set
    document.getElementById('who-name').textContent = `${i.name || i.authid} · ${i.account}`;
    // An administrator's own user page: how they sign in, their
    // authenticator, recovery codes and password reset, like any user's.
    // Their own organisation, whatever the switcher acts on.
    const mine = `#/users/${encodeURIComponent(i.authid)}`;
    document.getElementById('my-security').href = session.org ? `${mine}?organisation=${encodeURIComponent(i.account)}` : mine;
    await loadSwitcher(i);
  }
}

// loadSwitcher offers the organisations of the administrator's branch,
// once per session, when there is more than one: the console then acts on
// the one chosen (every admin call carries ?organisation=).
let switcherFor = '';
async function loadSwitcher(info) {
  const key = `${info.account}/${info.authid}`;
  if (switcherFor === key) return;
  switcherFor = key;
  // [] from an older server, or without the right to list: the console
  // acts on its own organisation.
  const all = await branchOrganisations();
  if (all.length === 0) return;
  const box = document.getElementById('org-switch');
  const select = document.getElementById('org-switcher');
  if (!all.some((o) => o.id === session.org)) setOrganisation('');
  box.hidden = all.length < 2;
  replace(select, ...all.map((o, i) => h('option', { value: i === 0 ? '' : o.id, selected: (i === 0 ? '' : o.id) === session.org }, organisations.label(o))));
  select.onchange = () => {
    setOrganisation(select.value);
    route();
  };
}

// setPageOrganisation makes the page about to render act on org (null:
// on the switcher's choice). The administrator's own organisation needs
// no ?organisation=.
function setPageOrganisation(org) {
  if (org === null || org === undefined) session.pageOrg = null;
  else session.pageOrg = session.info && org === session.info.account ? '' : org;
}

function closeMenu() {
  const toggle = document.getElementById('nav-toggle');
  toggle.setAttribute('aria-expanded', 'false');
  document.getElementById('nav').classList.remove('open');
}

async function signOut() {
  try {
    await api('DELETE', '/v1/admin/session');
  } catch {
    // Signed out locally anyway; the cookie is HttpOnly and expires.
  }
  session.info = null;
  session.csrf = '';
  setOrganisation('');
  setBranchView(false);
  forgetBranch();
  switcherFor = '';
  document.getElementById('org-switch').hidden = true;
  navigate('#/signin');
}

async function start() {
  configure({
    unauthorized: (reason) => {
      if (location.hash !== '#/signin') afterSignIn = location.hash || '#/dashboard';
      sessionStorage.setItem('flexauth-signin-reason', reason === 'session expired' ? 'Your session expired. Sign in again.' : 'Sign in to continue.');
      navigate('#/signin');
    },
    reauth: reauthenticate,
  });
  document.getElementById('sign-out').addEventListener('click', signOut);
  document.getElementById('nav-toggle').addEventListener('click', (e) => {
    const toggle = /** @type {HTMLButtonElement} */ (e.currentTarget);
    const open = toggle.getAttribute('aria-expanded') !== 'true';
    toggle.setAttribute('aria-expanded', String(open));
    document.getElementById('nav').classList.toggle('open', open);
  });
  document.getElementById('skip-link').addEventListener('click', (e) => {
    e.preventDefault();
    document.getElementById('main').focus();
  });
  window.addEventListener('hashchange', route);
  await refreshSession();
  route();
}

start();
