// @ts-check
// Messages: the wording of every message flexauth sends (package
// messages on the server). The administrator picks a level (the account,
// or one system, whose parts win over the account's), sees each part of
// the chosen message with where it comes from (built in, the account, the
// system), edits and saves parts, returns a part to the level below, sets
// the brand, and previews the message with sample data (never a real
// link or code). The server validates every template and answers 400
// naming the message and part; the error is shown as it is.

import { api, enc } from '../api.js';
import { announce, busy, confirmAction, field, h, pageHeader, replace, section } from '../ui.js';

// names are what the page calls each message.
const names = {
  signin_link: 'Sign-in link (passwordless)',
  sso_link: 'Single sign-on link',
  signin_code: 'Sign-in code (PIN)',
  welcome: 'Welcome: create a password',
  reset: 'Password reset',
  verify_email: 'Email address confirmation',
  recover: 'Replace a lost authenticator app',
  notice: 'Security notice (frame)',
};

// partNames label the parts, in the order they are shown.
const partNames = [['subject', 'Email subject'], ['text', 'Email text'], ['html', 'Email HTML'], ['sms', 'SMS text']];

const sourceNames = { builtin: 'built in', inherited: 'an organisation above', account: 'account', system: 'system' };

/**
 * base is the API path of a level: the account's or a system's.
 * @param {string} system the system's name, or '' for the account
 * @returns {string}
 */
function base(system) {
  return system ? `/v1/admin/systems/${enc(system)}/messages` : '/v1/admin/messages';
}

export async function render(view, ctx) {
  const error = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'messages-error' });
  const levelBox = h('div');
  const brandBox = h('div');
  const partsBox = h('div');
  const previewBox = h('div', { 'aria-live': 'polite' });
  let system = '';
  let message = 'signin_link';
  let set = null;

  // ours is whether a source was set at the level on screen (and so can
  // be returned to the level below).
  const ours = (source) => source === (system ? 'system' : 'account');

  const load = async () => {
    set = await api('GET', base(system));
    if (!ctx.current()) return;
    showBrand();
    showParts();
    replace(previewBox);
  };

  const reset = async (what, label) => {
    const ok = await confirmAction({
      title: `Return ${label} to the level below?`,
      text: system ? 'The account’s version (or the built-in one) applies to this system again.' : 'The built-in version applies again, except where a system sets its own.',
      ok: 'Return to the level below',
    });
    if (!ok) return;
    await api('DELETE', `${base(system)}/${what}`);
    announce(`${label} returned to the level below.`);
    await load();
  };

  const save = async (form, body, what) => {
    error.textContent = '';
    await busy(form, async () => {
      try {
        set = await api('PUT', base(system), { body, quiet: true });
      } catch (/** @type {any} */ err) {
        error.textContent = err.message;
        return;
      }
      announce(`${what} saved.`);
      showBrand();
      showParts();
    });
  };

  const showBrand = () => {
    const b = set.brand;
    const form = h('form', { novalidate: true, 'data-testid': 'brand-form' },
      h('div', { class: 'row' },
        field({ label: 'Name', name: 'name', value: b.name, maxlength: 100, testid: 'brand-name', hint: `Shown in the header and signature of messages. From: ${sourceNames[b.source.name]}.` }),
        field({ label: 'Colour', name: 'color', value: b.color, maxlength: 7, testid: 'brand-color', hint: `Hex colour of buttons and links, like #1d4ed8. From: ${sourceNames[b.source.color]}.` })),
      h('div', { class: 'actions' },
        h('button', { type: 'submit', 'data-testid': 'brand-save' }, 'Save brand'),
        ['name', 'color'].filter((f) => ours(b.source[f])).map((f) => h('button', {
          type: 'button', class: 'secondary small', 'data-testid': `brand-reset-${f}`, onclick: () => reset(`brand/${f}`, `the brand ${f}`),
        }, `Return ${f} to the level below`))));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      save(form, { brand: { name: form.elements.name.value.trim(), color: form.elements.color.value.trim() } }, 'Brand');
    });
    replace(brandBox, form);
  };

  const showParts = () => {
    const parts = set.messages[message];
    const form = h('form', { novalidate: true, 'data-testid': 'message-form' });
    for (const [part, label] of partNames) {
      const p = parts[part];
      if (!p) continue;
      const f = field({
        label: `${label} (${sourceNames[p.source]})`, name: part, type: 'textarea', rows: part === 'html' ? 14 : part === 'subject' ? 1 : 6,
        class: 'mono', spellcheck: 'false', testid: `part-${part}`,
      });
      f.querySelector('textarea').value = p.template;
      if (ours(p.source)) {
        f.append(h('div', { class: 'actions' }, h('button', {
          type: 'button', class: 'secondary small', 'data-testid': `part-reset-${part}`, onclick: () => reset(`${enc(message)}/${part}`, `the ${label.toLowerCase()}`),
        }, 'Return to the level below')));
      }
      form.append(f);
    }
    form.append(h('div', { class: 'actions' },
      h('button', { type: 'submit', 'data-testid': 'message-save' }, 'Save changed parts'),
      h('button', { type: 'button', class: 'secondary', 'data-testid': 'preview-email', onclick: () => preview('email') }, 'Preview email'),
      parts.sms ? h('button', { type: 'button', class: 'secondary', 'data-testid': 'preview-sms', onclick: () => preview('sms') }, 'Preview SMS') : null));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      // Only the parts that differ from what applies: an unchanged
      // built-in part stays built in.
      const changed = {};
      for (const [part] of partNames) {
        const el = form.elements[part];
        if (el && el.value !== parts[part].template) changed[part] = el.value;
      }
      if (Object.keys(changed).length === 0) {
        error.textContent = 'Nothing changed.';
        return;
      }
      save(form, { messages: { [message]: changed } }, names[message]);
    });
    replace(partsBox, form);
  };

  const preview = async (channel) => {
    let out;
    try {
      out = await api('POST', '/v1/admin/messages/preview', { body: { system, message, channel }, quiet: true });
    } catch (/** @type {any} */ err) {
      error.textContent = err.message;
      return;
    }
    // The HTML is shown as its source: the console's content security
    // policy (no inline styles, frames of its own origin only) would show
    // an email's inline-styled HTML blank or unstyled.
    replace(previewBox, section(`Preview (${channel}, sample data)`,
      channel === 'email' ? h('p', {}, h('strong', {}, 'Subject: '), out.subject) : null,
      h('pre', { class: 'mono', 'data-testid': 'preview-text' }, out.text),
      out.html ? h('details', {}, h('summary', {}, 'HTML as sent'), h('pre', { class: 'mono preview-html', 'data-testid': 'preview-html' }, out.html)) : null));
  };

  const { systems } = await api('GET', '/v1/admin/systems');
  if (!ctx.current()) return;
  const levels = h('form', { novalidate: true },
    h('div', { class: 'row' },
      field({
        label: 'Level', name: 'level', testid: 'messages-level',
        options: [['', 'Account (all systems)'], ...systems.map((s) => [s.name, `System ${s.name}`])],
        hint: 'A system’s parts win over the account’s, which win over those of the organisations above it, then the built-in ones, part by part.',
      }),
      field({ label: 'Message', name: 'message', testid: 'messages-message', options: Object.entries(names) })));
  levels.addEventListener('change', async () => {
    system = levels.elements.level.value;
    message = levels.elements.message.value;
    error.textContent = '';
    await load();
  });
  replace(levelBox, levels);

  view.append(pageHeader('Messages',
    h('p', { class: 'lead' }, 'The wording of the links, codes and notices flexauth sends, by email and SMS. Templates use ',
      h('code', {}, '{{.System}}'), ', ', h('code', {}, '{{.Link}}'), ', ', h('code', {}, '{{.Code}}'), ', ',
      h('code', {}, '{{minutes .ExpiresMinutes}}'), ', ', h('code', {}, '{{.Brand.Name}}'), ' and ', h('code', {}, '{{if}}'), '/', h('code', {}, '{{with}}'),
      '; a message must keep its link or code.')),
  section('Where', levelBox, error), section('Brand', brandBox), section('Templates', partsBox), previewBox);
  await load();
}
