// @ts-check
// api.js: the one way the console talks to flexauth's admin API.
//
// - Same-origin fetch with the session cookie; JSON in and out.
// - Unsafe methods carry X-CSRF-Token (from GET /v1/admin/session or the
//   sign-in answer).
// - 401 sends the user to the sign-in page; 403 {"reauth":true} asks for a
//   fresh sign-in in a dialog and then retries the request once.
// - Errors are announced in the page's aria-live error region unless the
//   caller handles them itself ({quiet: true}).

import { showError } from './ui.js';

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);
const ORG_KEY = 'flexauth-organisation';
const BRANCH_KEY = 'flexauth-branch-view';

/**
 * The GET /v1/admin/session answer: the fields the console reads.
 * @typedef {{ account: string, authid: string, name?: string, csrf_token?: string }} SessionInfo
 */

/**
 * The options of request and api.
 * @typedef {object} CallOptions
 * @property {unknown} [body] sent as JSON
 * @property {BodyInit} [raw] sent as it is (a file), with contentType
 * @property {string} [contentType]
 * @property {boolean} [quiet] do not announce an error
 * @property {boolean} [unscoped] act on the administrator's own organisation
 * @property {boolean} [retried] set on the one retry after a fresh sign-in
 */

// session is what the console knows about the signed-in administrator.
export const session = {
  info: /** @type {SessionInfo | null} */ (null), // GET /v1/admin/session answer
  csrf: '',
  // org is the sub-organisation the console acts on ('' for the
  // administrator's own), chosen with the switcher; kept per tab.
  org: sessionStorage.getItem(ORG_KEY) || '',
  // pageOrg, when not null, is the organisation the page on screen acts
  // on instead of org ('' for the administrator's own): set by app.js from
  // the route's ?organisation= (e.g. a user of a sub-organisation opened
  // from a branch list), for that page alone; the switcher is untouched.
  // The API checks it like any ?organisation=: 404 outside the branch.
  pageOrg: /** @type {string | null} */ (null),
  // branchView is whether Users, Audit and Dashboard include the
  // sub-organisations (?branch=true); kept per tab like org.
  branchView: sessionStorage.getItem(BRANCH_KEY) === 'true',
};

// setBranchView turns the sub-organisations in lists and reports on or off.
export function setBranchView(on) {
  session.branchView = Boolean(on);
  if (session.branchView) sessionStorage.setItem(BRANCH_KEY, 'true');
  else sessionStorage.removeItem(BRANCH_KEY);
}

// actingOrg is the id of the organisation the console acts on now.
export function actingOrg() {
  const org = session.pageOrg !== null ? session.pageOrg : session.org;
  return org || (session.info ? session.info.account : '');
}

// branchOrganisations loads the organisations of the administrator's
// branch once (depth first, each with its depth); [] when they cannot be
// listed. forgetBranch makes the next call load them again.
/** @type {Promise<any[]> | null} */
let branchLoad = null;
export function branchOrganisations() {
  if (!branchLoad) {
    branchLoad = api('GET', '/v1/admin/organisations', { unscoped: true, quiet: true })
      .then(({ organisations }) => flattenTree(organisations))
      .catch(() => {
        branchLoad = null;
        return [];
      });
  }
  return branchLoad;
}

export function forgetBranch() {
  branchLoad = null;
}

// flattenTree lists a tree depth first, each with its depth.
export function flattenTree(orgs, depth = 0, out = []) {
  for (const o of orgs || []) {
    out.push({ ...o, depth });
    flattenTree(o.children, depth + 1, out);
  }
  return out;
}

// setOrganisation makes the console act on org ('' for the
// administrator's own organisation).
export function setOrganisation(org) {
  session.org = org || '';
  if (session.org) sessionStorage.setItem(ORG_KEY, session.org);
  else sessionStorage.removeItem(ORG_KEY);
}

// scoped adds ?organisation= to an admin API path while the console (or
// the page on screen, see pageOrg) acts on a sub-organisation (the API answers 404 for anything outside the
// administrator's branch). The session routes are the administrator's
// own, never a sub-organisation's.
export function scoped(path) {
  const org = session.pageOrg !== null ? session.pageOrg : session.org;
  if (!org || !path.startsWith('/v1/admin/') || path.startsWith('/v1/admin/session')) return path;
  return `${path}${path.includes('?') ? '&' : '?'}organisation=${encodeURIComponent(org)}`;
}

// hooks are set by app.js: what to do on 401 and on "fresh sign-in
// required". Kept here as callbacks so this module does not import pages.
/** @type {{ unauthorized: (reason: string) => void, reauth: () => Promise<boolean> }} */
const hooks = {
  unauthorized: () => {},
  reauth: async () => false,
};

/** @param {Partial<typeof hooks>} h */
export function configure(h) {
  Object.assign(hooks, h);
}

export class ApiError extends Error {
  /**
   * @param {number} status the HTTP status, 0 when the server was not reached
   * @param {any} body the answer's JSON
   */
  constructor(status, body) {
    super((body && body.error) || (status ? `The server answered ${status}.` : 'The server cannot be reached.'));
    this.status = status;
    this.body = body || {};
  }
}

// request sends one call and returns {status, data} without judging the
// status: for flows (sign-in, check) where 202 and 403 are answers, not
// failures.
/**
 * @param {string} method
 * @param {string} path
 * @param {CallOptions} [opts]
 * @returns {Promise<{ status: number, data: any }>}
 */
export async function request(method, path, { body, raw, contentType } = {}) {
  /** @type {Record<string, string>} */
  const headers = { Accept: 'application/json' };
  let payload;
  if (raw !== undefined) {
    payload = raw;
    headers['Content-Type'] = contentType || 'application/octet-stream';
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers['Content-Type'] = 'application/json';
  }
  if (!SAFE.has(method) && session.csrf) headers['X-CSRF-Token'] = session.csrf;
  let res;
  try {
    res = await fetch(path, { method, headers, body: payload, credentials: 'same-origin', cache: 'no-store' });
  } catch {
    return { status: 0, data: { error: 'The server cannot be reached. Check the connection and try again.' } };
  }
  let data = null;
  const text = await res.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { error: text.slice(0, 200) };
    }
  }
  return { status: res.status, data };
}

// api sends one admin call and returns its JSON, or throws ApiError.
// opts: body (JSON), raw + contentType (a file), quiet (do not announce).
// unscoped: act on the administrator's own organisation whatever the
// switcher says.
/**
 * @param {string} method
 * @param {string} path
 * @param {CallOptions} [opts]
 * @returns {Promise<any>}
 */
export async function api(method, path, opts = {}) {
  let { status, data } = await request(method, opts.unscoped ? path : scoped(path), opts);

  if (status === 403 && data && /csrf/i.test(data.error || '') && !opts.retried) {
    // The token went stale (e.g. a sign-in in another tab): fetch the
    // current one and try once more.
    if (await refreshSession()) return api(method, path, { ...opts, retried: true });
  }
  if (status === 403 && data && data.reauth && !opts.retried) {
    if (await hooks.reauth()) return api(method, path, { ...opts, retried: true });
    const err = new ApiError(403, { error: 'Not changed: this change needs a fresh sign-in.' });
    if (!opts.quiet) showError(err.message);
    throw err;
  }
  if (status === 401) {
    session.info = null;
    session.csrf = '';
    hooks.unauthorized((data && data.error) || 'session expired');
    throw new ApiError(401, data);
  }
  if (status < 200 || status >= 300) {
    const err = new ApiError(status, data);
    if (!opts.quiet) showError(err.message);
    throw err;
  }
  return data || {};
}

// refreshSession loads GET /v1/admin/session; false when not signed in.
export async function refreshSession() {
  const { status, data } = await request('GET', '/v1/admin/session');
  if (status !== 200 || !data) {
    session.info = null;
    session.csrf = '';
    return false;
  }
  session.info = data;
  session.csrf = data.csrf_token || '';
  return true;
}

// query builds "?a=1&b=2" from the non-empty values of params.
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== '' && v !== null && v !== undefined) q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

export const enc = encodeURIComponent;
