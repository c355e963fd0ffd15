// A tiny DOM builder: h('td', {class: 'num'}, '12') creates elements whose
// text is always set as text, never parsed as HTML.

/**
 * h creates an element: attrs sets attributes (class, data-*, aria-*, …;
 * a function value for on* adds a listener; null, undefined and false skip
 * it), children are nodes, strings or numbers (as text), and arrays of
 * them; null and false children are skipped.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c == null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** table builds a table: caption, column headers (strings or {text, num}) and rows of cells (values or nodes); opts.rowAttrs(row index) gives each row's attributes. */
export function table(caption, headers, rows, opts = {}) {
  const numeric = headers.map((hd) => typeof hd === 'object' && hd.num);
  return h('table', { class: opts.class },
    caption && h('caption', {}, caption),
    h('thead', {}, h('tr', {}, headers.map((hd, i) =>
      h('th', { scope: 'col', class: numeric[i] ? 'num' : null }, typeof hd === 'object' ? hd.text : hd)))),
    h('tbody', {}, rows.map((r, ri) => h('tr', opts.rowAttrs ? opts.rowAttrs(ri) : {}, r.map((v, i) =>
      i === 0 && opts.rowHeaders
        ? h('th', { scope: 'row' }, v)
        : h('td', { class: numeric[i] ? 'num' : null }, v))))));
}

/** facts builds a description list from [term, description] pairs; a null description skips the pair. */
export function facts(pairs, cls) {
  return h('dl', { class: cls || 'facts' }, pairs.filter((p) => p && p[1] != null).map(([t, d]) => [h('dt', {}, t), h('dd', {}, d)]));
}
