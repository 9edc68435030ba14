// @ts-check
// Policy: the active Rego, its versions (roll back), uploading a new
// version (compiled and tested by the server before it activates; written
// in line-numbered editors, which a refusal marks and jumps to), and a
// "what would the policy decide" form.

import { api } from '../api.js';
import { announce, badge, busy, field, flash, fmtTime, h, invalid, pageHeader, replace, section, table, toRFC3339, confirmAction } from '../ui.js';
import { lineEditor } from '../editor.js';

// The file names the server gives the uploaded policy and its tests in
// problems (policies.UploadModuleFile, UploadTestsFile).
const REGO_FILE = 'policy.rego';
const TESTS_FILE = 'policy_test.rego';

export async function render(view, ctx) {
  const [pol, sys] = await Promise.all([api('GET', '/v1/admin/policy'), api('GET', '/v1/admin/systems')]);
  if (!ctx.current()) return;
  const active = pol.active || {};
  const reload = () => ctx.navigate(location.hash);

  const rollback = async (v) => {
    const ok = await confirmAction({
      title: `Activate version ${v.version}?`,
      text: `${v.builtin ? 'The built-in default policy' : `Version ${v.version}`} decides every attempt started from now on.`,
      ok: 'Activate',
    });
    if (!ok) return;
    await api('POST', '/v1/admin/policy/rollback', { body: { version: v.version } });
    flash(`Version ${v.version} is active.`);
    reload();
  };

  view.append(
    pageHeader('Policy', h('p', { class: 'lead' }, 'The Rego policy decides, per attempt, whether to allow it and with which method.')),
    section(`Active: version ${active.version ?? 0}${active.builtin ? ' (built-in default)' : ''}`,
      h('p', { class: 'muted', 'data-testid': 'policy-active-meta' },
        active.builtin ? 'The built-in default policy.' : `Uploaded ${fmtTime(active.created_at)}${active.created_by ? ` by ${active.created_by}` : ''}.`),
      codeBlock(active.rego || '', 'policy-active-rego', 'Active policy source'),
      active.tests ? h('details', {}, h('summary', {}, 'Tests'), codeBlock(active.tests, 'policy-active-tests', 'Active policy tests')) : null),
    section('Versions', table({
      testid: 'policy-versions',
      caption: 'Policy versions',
      empty: 'Only the built-in policy exists.',
      rows: pol.versions || [],
      columns: [
        { label: 'Version', cell: (v) => `${v.version}${v.builtin ? ' (built-in)' : ''}` },
        { label: 'Created', cell: (v) => (v.builtin ? '—' : fmtTime(v.created_at)) },
        { label: 'By', cell: (v) => v.created_by || '—' },
        { label: 'Status', cell: (v) => (v.active ? badge('active') : '') },
        {
          label: 'Actions',
          cell: (v) => (v.active ? '—' : h('button', {
            type: 'button', class: 'secondary small', 'data-testid': `rollback-${v.version}`, onclick: () => rollback(v),
          }, v.version < (active.version ?? 0) ? 'Roll back to this' : 'Activate')),
        },
      ],
    })),
    uploadForm(active, reload),
    evaluateForm(sys.systems || []),
  );
}

// codeBlock shows source with line numbers (CSS counters), so error line
// numbers can be found.
function codeBlock(src, testid, label) {
  return h('pre', { class: 'code', 'data-testid': testid, 'aria-label': label, tabindex: '0' },
    h('code', {}, src.split('\n').map((line) => h('span', { class: 'line' }, line, '\n'))));
}

function uploadForm(active, reload) {
  const result = h('div', { 'data-testid': 'policy-result', 'aria-live': 'polite' });
  const regoFile = h('input', { type: 'file', id: 'policy-rego-file', accept: '.rego,text/plain' });
  const rego = lineEditor({
    label: 'Policy (Rego)', name: 'rego', rows: 16, value: active.builtin ? '' : active.rego || '', required: true, testid: 'policy-rego',
    hint: 'package flexauth.risk, producing decision. Line numbers match those of compile errors.',
  });
  const tests = lineEditor({
    label: 'Tests (Rego)', name: 'tests', rows: 8, value: active.builtin ? '' : active.tests || '', testid: 'policy-tests',
    hint: 'package flexauth.risk_test; every test must pass before the policy activates.',
  });
  const editors = { [REGO_FILE]: rego, [TESTS_FILE]: tests };
  // startFromActive fills the editors with the active policy and its
  // tests, to edit rather than write from nothing.
  const startFromActive = async () => {
    const same = rego.textarea.value === (active.rego || '') && tests.textarea.value === (active.tests || '');
    const empty = !rego.textarea.value.trim() && !tests.textarea.value.trim();
    if (!same && !empty) {
      const ok = await confirmAction({
        title: 'Replace what the editors hold?',
        text: `The policy and tests you typed are replaced by those of the active version ${active.version ?? 0}${active.builtin ? ' (the built-in default)' : ''}.`,
        ok: 'Replace',
      });
      if (!ok) return;
    }
    rego.set(active.rego || '');
    tests.set(active.tests || '');
    replace(result);
    rego.textarea.focus();
    announce(`The editors hold the active policy, version ${active.version ?? 0}${active.builtin ? ' (built-in default)' : ''}.`);
  };
  const form = h('form', { novalidate: true, 'data-testid': 'policy-form' },
    h('div', { class: 'actions editor-actions' },
      h('button', { type: 'button', class: 'secondary', 'data-testid': 'policy-start-active', onclick: startFromActive }, 'Start from the active policy')),
    rego.el,
    h('div', { class: 'field' }, h('label', { for: regoFile.id }, 'Or load the policy from a file'), regoFile),
    tests.el,
    h('div', { class: 'actions' }, h('button', { type: 'submit', 'data-testid': 'policy-upload' }, 'Compile, test and activate')),
    result);
  regoFile.addEventListener('change', async () => {
    if (regoFile.files[0]) rego.set(await regoFile.files[0].text());
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const body = { rego: rego.textarea.value, tests: tests.textarea.value };
    replace(result);
    rego.clearMarks();
    tests.clearMarks();
    if (!body.rego.trim()) return invalid(result, rego.textarea, 'Paste or load the policy first.');
    busy(form, async () => {
      try {
        const r = await api('POST', '/v1/admin/policy', { body, quiet: true });
        flash(`Version ${r.version} compiled, ${(r.tests || []).length} tests passed; it is active now.`);
        reload();
      } catch (/** @type {any} */ err) {
        if (err.status === 401) return;
        const problems = (err.body && err.body.problems) || [];
        for (const [file, ed] of Object.entries(editors)) ed.mark(problems.filter((p) => p.file === file));
        replace(result, refusal(err, editors));
        result.querySelector('.callout').focus();
      }
    });
  });
  return section('Upload a new version', form);
}

// refusal explains why the server refused a policy: each problem with
// file, line and column (and a button that shows that place in its
// editor), and the failing tests.
function refusal(err, editors) {
  const b = err.body || {};
  const problems = b.problems || [];
  const tests = (b.tests || []).filter((t) => !t.passed);
  const goTo = (p) => {
    const ed = editors[p.file];
    if (!ed || !p.line) return null;
    return h('button', {
      type: 'button', class: 'link-button', 'data-testid': 'policy-goto',
      onclick: () => ed.goTo(p.line, p.column || 1),
    }, `Show line ${p.line} in the editor`);
  };
  return h('div', { class: 'callout error', tabindex: '-1', 'data-testid': 'policy-refused' },
    h('h3', {}, 'Policy refused — nothing changed'),
    h('p', {}, err.message),
    problems.length ? h('ul', { class: 'problems', 'data-testid': 'policy-problems' }, problems.map((p) => h('li', {},
      h('strong', {}, `${p.file || 'policy'}${p.line ? `, line ${p.line}` : ''}${p.column ? `, column ${p.column}` : ''}: `), p.message, ' ', goTo(p)))) : null,
    tests.length ? h('ul', { class: 'problems', 'data-testid': 'policy-failed-tests' }, tests.map((t) => h('li', {},
      h('strong', {}, `Test ${t.name} failed`), t.message ? `: ${t.message}` : ''))) : null);
}

function evaluateForm(systems) {
  const out = h('div', { 'data-testid': 'evaluate-result', 'aria-live': 'polite' });
  const error = h('p', { class: 'form-error', role: 'alert' });
  const form = h('form', { novalidate: true, 'data-testid': 'evaluate-form' },
    h('div', { class: 'row' },
      field({ label: 'User ID', name: 'authid', required: true, testid: 'evaluate-authid', autocapitalize: 'off', spellcheck: 'false' }),
      field({ label: 'System', name: 'system', testid: 'evaluate-system', options: systems.map((s) => [s.name, s.name]) })),
    h('div', { class: 'row' },
      field({ label: 'IP address', name: 'ip', value: '203.0.113.9', testid: 'evaluate-ip', inputmode: 'decimal' }),
      field({ label: 'Time', name: 'time', type: 'datetime-local', testid: 'evaluate-time', hint: 'Empty: now.' })),
    error,
    h('div', { class: 'actions' }, h('button', { type: 'submit', 'data-testid': 'evaluate-submit' }, 'What would the policy decide?')),
    out);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const el = form.elements;
    if (!el.authid.value.trim()) return invalid(error, el.authid, 'Enter a user ID.');
    if (!el.system.value) return invalid(error, el.system, 'Create a system first.');
    error.textContent = '';
    const body = { authid: el.authid.value.trim(), system: el.system.value, ip: el.ip.value.trim() };
    if (el.time.value) body.time = toRFC3339(el.time.value);
    busy(form, async () => {
      try {
        const { decision: d } = await api('POST', '/v1/admin/policy/evaluate', { body, quiet: true });
        replace(out, h('div', { class: `callout ${d.allow ? 'ok' : 'error'}`, 'data-testid': 'decision' },
          h('h3', {}, d.allow ? `Allowed with ${d.method}` : 'Denied'),
          h('dl', { class: 'facts' },
            h('dt', {}, 'Risk'), h('dd', {}, d.risk ?? '—'),
            d.allow ? [h('dt', {}, 'Valid for'), h('dd', {}, `${d.ttl_seconds} s`),
              h('dt', {}, 'Wrong codes allowed'), h('dd', {}, String(d.max_attempts ?? '—'))] : null,
            d.channel ? [h('dt', {}, 'Channel'), h('dd', {}, d.channel)] : null),
          h('h4', {}, 'Reasons'),
          (d.reasons || []).length ? h('ul', {}, d.reasons.map((r) => h('li', {}, r))) : h('p', {}, 'None given.')));
        announce('Decision computed; nothing was recorded or sent.');
      } catch (/** @type {any} */ err) {
        error.textContent = err.message;
      }
    });
  });
  return section('What would the policy decide?', h('p', { class: 'muted' }, 'The active policy’s answer for a user, as a real attempt would build it. Nothing is recorded or sent.'), form);
}
