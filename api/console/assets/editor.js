// @ts-check
// editor.js: a plain textarea with a line-number gutter, for Rego source,
// so that the line and column of a compile error can be found. No library
// and no inline style (the console's CSP forbids both): the gutter is a
// list of numbers beside the textarea, scrolled with it, and the textarea
// does not wrap lines, so that each number stays beside its line.

import { h } from './ui.js';

// lineEditor returns {el, textarea, set, refresh, mark, clearMarks, goTo}.
// opts: {label, name, value, rows, hint, testid, required}.
/**
 * @param {{ label: string, name: string, value?: string, rows?: number, hint?: string, testid?: string, required?: boolean }} opts
 */
export function lineEditor({ label, name, value = '', rows = 16, hint, testid, required }) {
  const id = `editor-${name}`;
  const gutter = h('div', { class: 'gutter', 'aria-hidden': 'true', 'data-testid': `${testid}-gutter` });
  const textarea = h('textarea', {
    id, name, rows, wrap: 'off', spellcheck: 'false', autocapitalize: 'off', autocomplete: 'off', required,
    class: 'mono code-input', 'data-testid': testid, 'aria-describedby': hint ? `${id}-hint` : null,
  });
  textarea.value = value;
  const el = h('div', { class: 'field' },
    h('label', { for: id }, label, required ? h('span', { class: 'req', 'aria-hidden': 'true' }, ' *') : null),
    h('div', { class: 'editor' }, gutter, textarea),
    hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null);

  // marks holds the lines with a problem and its message.
  let marks = new Map();
  let lines = 0;

  const sync = () => { gutter.scrollTop = textarea.scrollTop; };
  // refresh renders a number per line (again only when the count changed)
  // and the marks, then lines the gutter up with the text.
  const refresh = () => {
    const n = textarea.value.split('\n').length;
    if (n !== lines) {
      lines = n;
      const numbers = [];
      for (let i = 1; i <= n; i++) numbers.push(h('div', { class: 'ln', 'data-line': i }, String(i)));
      gutter.replaceChildren(...numbers);
    }
    for (const ln of gutter.children) {
      const msg = marks.get(Number(ln.dataset.line));
      ln.classList.toggle('ln-error', Boolean(msg));
      if (msg) ln.title = msg;
      else ln.removeAttribute('title');
    }
    sync();
  };
  textarea.addEventListener('input', refresh);
  textarea.addEventListener('scroll', sync);
  refresh();

  // lineStart is the offset in the text where line (1-based) begins.
  const lineStart = (line) => {
    let at = 0;
    for (let i = 1; i < line; i++) {
      const next = textarea.value.indexOf('\n', at);
      if (next < 0) return textarea.value.length;
      at = next + 1;
    }
    return at;
  };

  return {
    el,
    textarea,
    refresh,
    // set replaces the text (clearing the marks).
    set(text) {
      textarea.value = text;
      marks = new Map();
      textarea.scrollTop = 0;
      refresh();
    },
    // mark highlights the lines of problems [{line, message}].
    mark(problems) {
      marks = new Map();
      for (const p of problems) {
        if (p.line) marks.set(p.line, marks.has(p.line) ? `${marks.get(p.line)}; ${p.message}` : p.message);
      }
      refresh();
    },
    clearMarks() {
      marks = new Map();
      refresh();
    },
    // goTo puts the caret at line and column (1-based), selecting the rest
    // of the line, and scrolls it into view a third of the way down.
    goTo(line, column = 1) {
      refresh();
      const start = lineStart(line);
      const end = textarea.value.indexOf('\n', start);
      const lineEnd = end < 0 ? textarea.value.length : end;
      const at = Math.min(start + Math.max(0, column - 1), lineEnd);
      textarea.focus({ preventScroll: true });
      textarea.setSelectionRange(at, lineEnd);
      const ln = gutter.children[line - 1];
      if (ln) textarea.scrollTop = Math.max(0, Math.round(ln.offsetTop - textarea.clientHeight / 3));
      sync();
    },
  };
}
