// dom.js — safe element creation.
//
// Pages build their markup with h(); text, including everything a user
// typed, only ever reaches the document as text nodes or textContent. There
// is deliberately no way to pass HTML: a comment saying
// <img src=x onerror=...> is shown as those characters.

const urlAttrs = new Set(['href', 'src', 'action', 'formaction', 'poster']);
const forbidden = new Set(['innerHTML', 'outerHTML', 'srcdoc']);

/** safeURL lets through relative, http(s), blob: and data:image URLs only. */
export function safeURL(value) {
  const s = String(value);
  try {
    const u = new URL(s, location.href);
    if (['http:', 'https:', 'blob:'].includes(u.protocol)) return s;
    if (u.protocol === 'data:' && /^data:image\/(png|jpeg|gif|webp);/i.test(s)) return s;
  } catch {
    // Unparseable: refuse.
  }
  return '#';
}

/**
 * h creates an element. props: class, text (textContent), on (event
 * listeners), dataset, hidden/disabled/... booleans, any other attribute.
 * children: nodes, strings (as text), numbers, arrays, or null/false (skipped).
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (forbidden.has(key) || key.startsWith('on') && key !== 'on') {
      throw new Error(`dom.h: ${key} is not allowed; use text and on`);
    }
    if (key === 'class') el.className = Array.isArray(value) ? value.filter(Boolean).join(' ') : value;
    else if (key === 'text') el.textContent = String(value);
    else if (key === 'on') for (const [ev, fn] of Object.entries(value)) el.addEventListener(ev, fn);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key === 'value' && 'value' in el) el.value = value;
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, urlAttrs.has(key) ? safeURL(value) : String(value));
  }
  append(el, children);
  return el;
}

/** append adds children (same forms as h) to el. */
export function append(el, ...children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** replace empties el and adds children. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** $ finds one element; throws when a page's markup lacks it. */
export function $(selector, root = document) {
  const el = root.querySelector(selector);
  if (!el) throw new Error(`missing element ${selector}`);
  return el;
}

/** $$ finds every match as an array. */
export const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

/** pathID returns the numeric ID at position n of location.pathname
 * (/watch/42 → pathID(1) = 42), or 0. */
export function pathID(n) {
  const part = location.pathname.split('/').filter(Boolean)[n];
  const id = Number(part);
  return Number.isSafeInteger(id) && id > 0 ? id : 0;
}

/** pathPart returns segment n of location.pathname, decoded. */
export function pathPart(n) {
  const part = location.pathname.split('/').filter(Boolean)[n];
  return part ? decodeURIComponent(part) : '';
}

/** timeAgo says how long ago a timestamp was, in words. */
export function timeAgo(when, now = Date.now()) {
  const s = Math.max(0, Math.round((now - new Date(when).getTime()) / 1000));
  const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
  if (s < 60) return rtf.format(-s, 'second');
  if (s < 3600) return rtf.format(-Math.floor(s / 60), 'minute');
  if (s < 86400) return rtf.format(-Math.floor(s / 3600), 'hour');
  return rtf.format(-Math.floor(s / 86400), 'day');
}

/** formatDate shows a date and time in the reader's locale. */
export function formatDate(when) {
  return new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(when));
}

/** plural says a count with its noun ("1 follower", "3 followers"). */
export function plural(n, one, many = one + 's') {
  return `${n} ${n === 1 ? one : many}`;
}
