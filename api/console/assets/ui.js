// @ts-check
// ui.js: the small toolkit every page uses to build DOM safely (never
// innerHTML with data), announce results, confirm destructive actions and
// format values. Pages import from here; nothing here knows the API.

// h builds an element: h('a', {href: '#/x', class: 'btn'}, 'text', child).
// Attributes starting with "on" become event listeners; null/false skip.
export function h(tag, attrs = {}, ...children) {
  const svg = ['svg', 'g', 'rect', 'line', 'text', 'title', 'path'].includes(tag);
  const el = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2), v);
    } else if (k === 'value' && !svg) {
      el.value = v;
    } else if (k === 'checked' || k === 'selected' || k === 'disabled' || k === 'hidden' || k === 'required' || k === 'multiple') {
      el[k] = Boolean(v);
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// replace empties el and fills it with children.
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let idSeq = 0;

// field returns a label + control pair; every control gets a label.
// opts: {label, name, type, value, required, hint, options: [[value, text]], testid, ...attrs}
export function field(opts) {
  const id = opts.id || `f-${opts.name || 'x'}-${++idSeq}`;
  const { label, hint, options, testid, ...rest } = opts;
  const attrs = { ...rest, id, 'data-testid': testid || null, 'aria-describedby': hint ? `${id}-hint` : null };
  let control;
  if (options) {
    delete attrs.type;
    delete attrs.value;
    control = h('select', attrs, options.map(([v, t]) => h('option', { value: v, selected: String(v) === String(opts.value ?? '') }, t)));
  } else if (opts.type === 'textarea') {
    delete attrs.type;
    control = h('textarea', attrs);
  } else {
    control = h('input', { type: 'text', ...attrs });
  }
  return h('div', { class: 'field' },
    h('label', { for: id }, label, opts.required ? h('span', { class: 'req', 'aria-hidden': 'true' }, ' *') : null),
    control,
    hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null);
}

// checkboxes is a fieldset of checkboxes sharing one name.
export function checkboxes({ legend, name, choices, checked = [], testid }) {
  return h('fieldset', { class: 'checks', 'data-testid': testid || null },
    h('legend', {}, legend),
    choices.map((c) => {
      const id = `f-${name}-${c}-${++idSeq}`;
      return h('span', { class: 'check' },
        h('input', { type: 'checkbox', id, name, value: c, checked: checked.includes(c) }),
        h('label', { for: id }, c));
    }));
}

// formValues reads a form into a plain object; repeated checkbox names
// become arrays.
export function formValues(form) {
  const out = {};
  for (const el of form.elements) {
    if (!el.name || el.disabled) continue;
    if (el.type === 'checkbox') {
      out[el.name] = out[el.name] || [];
      if (el.checked) out[el.name].push(el.value);
    } else if (el.type !== 'file' && el.type !== 'submit' && el.type !== 'button') {
      out[el.name] = el.value.trim();
    }
  }
  return out;
}

// invalid shows a form's error message and marks and focuses the control
// at fault.
export function invalid(errorEl, control, message) {
  errorEl.textContent = message;
  if (control) {
    control.setAttribute('aria-invalid', 'true');
    control.focus();
    control.addEventListener('input', () => control.removeAttribute('aria-invalid'), { once: true });
  }
}

// The two live regions in index.html: status (polite) and error (assertive).
export function announce(message) {
  const el = document.getElementById('status');
  clearError();
  el.textContent = message;
  el.classList.add('shown');
}

export function showError(message) {
  const el = document.getElementById('error');
  el.textContent = message;
  el.classList.add('shown');
}

export function clearError() {
  const el = document.getElementById('error');
  el.textContent = '';
  el.classList.remove('shown');
}

// flash announces a message after the next page change (e.g. "created",
// then the new object's page opens).
let pendingFlash = '';
export function flash(message) {
  pendingFlash = message;
}

// clearNotices empties both regions when a page opens, then shows the
// pending flash, if any.
export function clearNotices() {
  clearError();
  const el = document.getElementById('status');
  el.textContent = pendingFlash;
  el.classList.toggle('shown', Boolean(pendingFlash));
  pendingFlash = '';
}

// A dialog's close event is queued after it closes, while the browser gives
// the focus back at once: a quick user (or test) can open the dialog again
// before the earlier closing's event arrives. So an opening is answered by
// the first of its close event and the next opening, which finds the dialog
// closed and takes the answer then; the late close event is skipped.
const dialogAnswers = new WeakMap();

function answersOf(dlg) {
  let s = dialogAnswers.get(dlg);
  if (!s) {
    s = { answer: null, late: 0 };
    const state = s;
    dialogAnswers.set(dlg, state);
    dlg.addEventListener('close', () => {
      if (state.late > 0) {
        state.late -= 1;
        return;
      }
      settleDialog(dlg, state);
    });
  }
  return s;
}

function settleDialog(dlg, s) {
  const answer = s.answer;
  s.answer = null;
  if (answer) answer(dlg.returnValue === 'ok');
}

// confirmAction asks before a destructive action in a modal <dialog>; the
// browser traps focus in it, and focus returns where it was afterwards.
export function confirmAction({ title, text, ok = 'Confirm' }) {
  const dlg = document.getElementById('confirm-dialog');
  const s = answersOf(dlg);
  if (s.answer && !dlg.open) {
    settleDialog(dlg, s);
    s.late += 1;
  }
  const before = /** @type {HTMLElement | null} */ (document.activeElement);
  document.getElementById('confirm-title').textContent = title;
  document.getElementById('confirm-text').textContent = text;
  document.getElementById('confirm-ok').textContent = ok;
  dlg.returnValue = '';
  return new Promise((resolve) => {
    s.answer = (yes) => {
      if (before && before.isConnected) before.focus();
      resolve(yes);
    };
    dlg.showModal();
    // The safe choice has focus, so Enter does not destroy by accident.
    document.getElementById('confirm-cancel').focus();
  });
}

// busy disables a form's buttons while an action runs.
export async function busy(form, fn) {
  const buttons = [...form.querySelectorAll('button')];
  buttons.forEach((b) => { b.disabled = true; });
  form.setAttribute('aria-busy', 'true');
  try {
    return await fn();
  } finally {
    buttons.forEach((b) => { b.disabled = false; });
    form.removeAttribute('aria-busy');
  }
}

// table renders rows, or the empty state when there are none. columns:
// [{label, cell: (row) => node|string, class}]. On a narrow screen the
// CSS turns rows into cards, labelled by data-label.
export function table({ columns, rows, empty, testid, caption }) {
  if (!rows || rows.length === 0) {
    return h('p', { class: 'empty', 'data-testid': testid ? `${testid}-empty` : null }, empty);
  }
  return h('div', { class: 'table-wrap' },
    h('table', { class: 'data', 'data-testid': testid || null },
      caption ? h('caption', { class: 'visually-hidden' }, caption) : null,
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.class || null }, c.label)))),
      h('tbody', {}, rows.map((r) => h('tr', {}, columns.map((c) => h('td', { 'data-label': c.label, class: c.class || null }, c.cell(r))))))));
}

export function section(title, ...children) {
  return h('section', { class: 'card' }, h('h2', {}, title), children);
}

export function pageHeader(title, ...extra) {
  return h('div', { class: 'page-head' }, h('h1', {}, title), extra);
}

// Formatting.

export function fmtTime(value) {
  if (!value) return '—';
  const d = new Date(value);
  if (Number.isNaN(d.getTime()) || d.getUTCFullYear() < 2) return '—';
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

export function fmtPercent(rate) {
  if (rate === null || rate === undefined || Number.isNaN(rate)) return '—';
  return `${Math.round(rate * 1000) / 10}%`;
}

export function badge(text, kind = text) {
  return h('span', { class: `badge badge-${String(kind).replace(/[^a-z0-9_-]/gi, '')}` }, text);
}

// duration says a number of seconds in minutes when it is whole minutes.
export function duration(seconds) {
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

// The account's built-in `console` system: being assigned it is what makes
// a user an administrator who signs in to this console. Wherever it
// appears it carries consoleMark, so that it is never taken for an
// ordinary system.
export const CONSOLE_SYSTEM = 'console';
export const CONSOLE_ACCESS = 'console access — makes the user an administrator';

export function consoleMark() {
  return h('span', { class: 'badge badge-console', 'data-testid': 'console-mark' }, CONSOLE_ACCESS);
}

// copyText puts text on the clipboard, announcing the outcome. Where the
// Clipboard API is refused (an insecure origin, a browser without it) it
// selects fallback, the element showing the text, and asks the browser to
// copy the selection, or leaves it selected for the person to copy.
export async function copyText(text, fallback, what) {
  try {
    await navigator.clipboard.writeText(text);
    announce(`${what} copied to the clipboard.`);
    return;
  } catch {
    // Fall back to copying the selection.
  }
  /** @type {Selection} */ (window.getSelection()).selectAllChildren(fallback);
  let copied = false;
  try {
    copied = document.execCommand('copy');
  } catch {
    copied = false;
  }
  announce(copied ? `${what} copied to the clipboard.` : `${what} selected: press Ctrl+C (⌘C on a Mac) to copy.`);
}

// textDownload is a link that saves text as a .txt file, from a Blob URL
// (no request leaves the page). The URL is made when the link is used and
// released a minute later.
export function textDownload({ filename, text, label, testid }) {
  const link = h('a', { class: 'button secondary', href: '#', download: filename, 'data-testid': testid || null }, label);
  link.addEventListener('click', () => {
    const url = URL.createObjectURL(new Blob([text], { type: 'text/plain;charset=utf-8' }));
    link.href = url;
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  });
  return link;
}

// toRFC3339 turns a datetime-local value (local time) into RFC 3339.
export function toRFC3339(local) {
  if (!local) return '';
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

// routeHref builds a hash route with an escaped segment.
export function routeHref(base, id) {
  return `#/${base}/${encodeURIComponent(id)}`;
}
