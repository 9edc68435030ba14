// @ts-check
// events.js: what audit event types mean, in words. The audit list, the
// attempt timeline and the dashboard all show an event by its plain title
// from this one mapping, keeping the raw type (what the API, the filters
// and the CSV export use) beside it.

import { h } from './ui.js';

// EVENT_TITLES maps each event type flexauth records to its plain title,
// in the order the audit filter offers them.
const EVENT_TITLES = {
  'attempt.started': 'Attempt started',
  'policy.decision': 'Policy decided',
  'challenge.delivered': 'Challenge delivered',
  'code.rejected': 'Code rejected',
  'recovery_code.used': 'Recovery code used',
  'password.accepted': 'Password accepted (second factor next)',
  'factor.locked': 'Factor locked after wrong codes',
  'attempt.authenticated': 'Authenticated',
  'attempt.denied': 'Denied',
  'attempt.expired': 'Expired',
  'attempt.locked': 'Locked',
  'attempt.cancelled': 'Cancelled (superseded)',
  'sso.redirected': 'Sent to the identity provider',
  'sso.bound': 'Single sign-on identity bound',
  'sso.refused': 'Single sign-on refused',
  'sso.wrong_browser': 'Single sign-on returned to another browser',
  'sso.approved': 'Single sign-on identity approved',
  'sso.unbound': 'Single sign-on identity unbound',
  'console.signed_in': 'Signed in to the console',
  'console.signed_out': 'Signed out of the console',
  'system.created': 'System created',
  'system.updated': 'System changed',
  'system.deleted': 'System deleted',
  'messages.updated': 'Message templates changed',
  'messages.reset': 'Message template reset to the level below',
  'user.created': 'User created',
  'user.updated': 'User changed',
  'user.deleted': 'User deleted',
  'assignments.updated': 'Assigned systems changed',
  'user.lockout_cleared': 'Lock-out cleared',
  'totp.enrolment_started': 'Authenticator enrolment started',
  'totp.enrolled': 'Authenticator enrolled',
  'totp.reset': 'Two-factor reset',
  'recovery_codes.generated': 'Recovery codes generated',
  'key.created': 'API key created',
  'key.revoked': 'API key revoked',
  'policy.uploaded': 'Policy uploaded',
  'policy.activated': 'Policy version activated',
  'account.updated': 'Account settings changed',
  'account.credentials_deleted': 'Passwords and second factors deleted (email and password turned off)',
  'welcome.requested': 'Welcome email requested',
  'welcome.sent': 'Welcome email sent',
  'welcome.delayed': 'Welcome email delayed',
  'welcome.failed': 'Welcome email failed',
  'welcome.refused': 'Welcome email refused',
  'welcome.limited': 'Welcome email not sent (too many lately)',
  'password.set': 'Password created',
  'reset.requested': 'Password reset requested',
  'reset.sent': 'Password reset email sent',
  'reset.delayed': 'Password reset email delayed',
  'reset.failed': 'Password reset email failed',
  'reset.refused': 'Password reset refused',
  'reset.limited': 'Password reset not sent (too many lately)',
  'password.reset': 'Password reset',
  'notice.sent': 'Security notice sent',
  'notice.delayed': 'Security notice delayed',
  'notice.failed': 'Security notice failed',
  'users.exported': 'Users exported',
};

// EVENT_TYPES are the types the audit filter offers; the API accepts any.
export const EVENT_TYPES = Object.keys(EVENT_TITLES);

// eventTitle is the plain title of type; a type this console does not
// know shows as it is.
export function eventTitle(type) {
  return EVENT_TITLES[type] || type;
}

// eventKind is the badge colour of type: its last part (denied, locked,
// rejected, authenticated...).
export function eventKind(type) {
  // split returns at least one part, so pop always has one to give.
  return /** @type {string} */ (String(type).split('.').pop());
}

// eventLabel shows an event's plain title as a badge, and its raw type on
// a small line below it (and as the badge's tooltip).
export function eventLabel(type) {
  return h('span', { class: 'event', 'data-testid': 'event', 'data-type': type },
    h('span', { class: `badge badge-${eventKind(type).replace(/[^a-z0-9_-]/gi, '')}`, title: type, 'data-testid': 'event-title' }, eventTitle(type)),
    h('code', { class: 'event-type', 'data-testid': 'event-type' }, type));
}
