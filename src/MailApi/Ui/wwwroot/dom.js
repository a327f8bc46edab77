// Building the page from data: every value from the API goes in as text (never as HTML).

/** An element with attributes (a false or null value leaves it out) and children (strings become text). */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) {
      continue;
    }
    if (name.startsWith('on')) {
      element.addEventListener(name.slice(2), value);
    } else {
      element.setAttribute(name, value === true ? '' : value);
    }
  }
  element.append(...children.flat().filter(c => c !== null && c !== undefined && c !== false));
  return element;
}

export const byId = id => document.getElementById(id);

const two = n => String(n).padStart(2, '0');

/** A time as the reader's local clock shows it, to the second, with the exact instant in the markup. */
export function time(iso) {
  if (!iso) {
    return h('span', { class: 'none' }, '—');
  }
  const d = new Date(iso);
  const text = `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
  return h('time', { datetime: iso, title: iso }, text);
}

/** The value a datetime-local input shows for an instant, in local time. */
export function toLocalInput(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) {
    return '';
  }
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}T${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

/** A status as a badge; the word is the API's, with spaces for underscores. */
export const statusBadge = status =>
  h('span', { class: `status status-${status}`, 'data-status': status }, status.replaceAll('_', ' '));

/** The class of a reply code, for its colour: code-2xx … code-5xx (code-0xx when the server sent none). */
export const codeClass = code => `code-${Math.floor(code / 100)}xx`;

/** Puts a problem's text in a role=alert paragraph, or hides it. */
export function showProblem(element, text) {
  element.textContent = text ?? '';
  element.hidden = !text;
}

/** Tells screen readers what changed without moving their focus. */
export function announce(text) {
  const live = byId('live');
  live.textContent = '';
  // A new text node in a cleared region is announced even when the words repeat.
  requestAnimationFrame(() => { live.textContent = text; });
}
