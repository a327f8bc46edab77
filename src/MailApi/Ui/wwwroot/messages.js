// The messages view: one page of GET /v1/messages at a time (never more), its filters in the address so Back and
// links keep them, cursor paging, and rows that update in place while they are not final.

import { filterNames, finalStatuses, listMessages } from './api.js';
import { announce, byId, h, showProblem, statusBadge, time, toLocalInput } from './dom.js';

const timeFilters = new Set(['createdAfter', 'createdBefore']);

/** The address of a page of the list: its filters and cursor. */
export function listHash(filters, cursor) {
  const query = new URLSearchParams();
  for (const name of filterNames) {
    if (filters[name]) {
      query.set(name, filters[name]);
    }
  }
  if (cursor) {
    query.set('cursor', cursor);
  }
  const text = query.toString();
  return text ? `#/messages?${text}` : '#/messages';
}

export class ListView {
  #form = byId('filters');
  #body = byId('messages').tBodies[0];
  #rows = new Map();
  #filters = {};
  #cursor = null;
  #next = null;
  // The cursors of the pages visited since the newest, so "Newer" can go back one page.
  #trail = [];
  // Bumped by every new page shown, so a refresh that was under way cannot paint an older query's rows.
  #generation = 0;
  #onProblem;

  constructor(onProblem) {
    this.#onProblem = onProblem;
    this.#form.addEventListener('submit', event => {
      event.preventDefault();
      location.hash = listHash(this.#readForm(), null);
    });
    this.#form.addEventListener('reset', event => {
      event.preventDefault();
      location.hash = listHash({}, null);
    });
    byId('page-first').addEventListener('click', () => { location.hash = listHash(this.#filters, null); });
    byId('page-newer').addEventListener('click', () => {
      const index = this.#trail.indexOf(this.#cursor);
      location.hash = listHash(this.#filters, index > 0 ? this.#trail[index - 1] : null);
    });
    byId('page-older').addEventListener('click', () => { location.hash = listHash(this.#filters, this.#next); });
  }

  /** Shows the page the address names: filters and cursor from <paramref name="query"/>. */
  async show(query) {
    const filters = {};
    for (const name of filterNames) {
      filters[name] = query.get(name) ?? '';
    }
    const cursor = query.get('cursor');
    const sameFilters = filterNames.every(name => filters[name] === (this.#filters[name] ?? ''));
    if (!sameFilters || !cursor) {
      this.#trail = [];
    }
    if (cursor && !this.#trail.includes(cursor)) {
      this.#trail.push(cursor);
    }
    this.#filters = filters;
    this.#cursor = cursor;
    this.#fillForm();
    this.#rows.clear();
    this.#body.replaceChildren();
    this.#generation++;
    await this.#load(false);
  }

  /** Forgets the rows (signing out leaves none of the key's messages in the page). */
  leave() {
    this.#generation++;
    this.#rows.clear();
    this.#body.replaceChildren();
  }

  /** On the newest page new messages may arrive; on any page a row that is not final may change. */
  get wantsRefresh() {
    return !this.#cursor || [...this.#rows.values()].some(row => !finalStatuses.has(row.dataset.status));
  }

  /** Reads the same page again and updates its rows in place (focus and scroll stay where they are). */
  refresh() {
    return this.#load(true);
  }

  async #load(refreshing) {
    const table = byId('messages');
    const generation = this.#generation;
    table.setAttribute('aria-busy', 'true');
    try {
      const page = await listMessages(this.#filters, this.#cursor);
      if (generation !== this.#generation) {
        return;
      }
      showProblem(byId('list-problem'), null);
      this.#render(page, refreshing);
    } catch (error) {
      if (!this.#onProblem(error)) {
        showProblem(byId('list-problem'), `The messages could not be read: ${error.describe?.() ?? error.message}`);
      }
    } finally {
      table.removeAttribute('aria-busy');
    }
  }

  #render(page, refreshing) {
    const seen = new Set();
    const changed = [];
    let added = 0;
    // Rows keep their order (ids are creation order); a new one goes before the next row already shown.
    let anchor = this.#body.firstElementChild;
    for (const item of page.items) {
      seen.add(item.id);
      let row = this.#rows.get(item.id);
      if (!row) {
        row = h('tr', { 'data-id': item.id });
        this.#rows.set(item.id, row);
        this.#body.insertBefore(row, anchor);
        added++;
      } else {
        anchor = row.nextElementSibling;
        if (row.dataset.status !== item.status) {
          changed.push(item);
        }
      }
      fillRow(row, item);
    }
    for (const [id, row] of this.#rows) {
      if (!seen.has(id)) {
        row.remove();
        this.#rows.delete(id);
      }
    }
    this.#next = page.nextCursor;
    this.#showPager();
    const empty = byId('list-empty');
    empty.hidden = page.items.length > 0;
    empty.textContent = filterNames.some(name => this.#filters[name])
      ? 'No message matches these filters.'
      : 'No messages yet. Messages sent with this key (POST /v1/messages) appear here.';
    byId('messages-caption').textContent = this.#caption(page.items.length);
    if (refreshing && (added || changed.length)) {
      const parts = [];
      if (added) {
        parts.push(`${added} new message${added === 1 ? '' : 's'}`);
      }
      for (const item of changed.slice(0, 3)) {
        parts.push(`"${item.subject || 'no subject'}" is now ${item.status.replaceAll('_', ' ')}`);
      }
      announce(parts.join('; ') + '.');
    }
  }

  #caption(count) {
    const active = filterNames.filter(name => this.#filters[name]);
    const filtered = active.length ? `, filtered by ${active.map(label).join(', ')}` : '';
    const position = this.#cursor ? 'older messages' : 'newest first';
    return `${count} message${count === 1 ? '' : 's'}, ${position}${filtered}`;
  }

  #showPager() {
    byId('page-first').disabled = !this.#cursor;
    byId('page-newer').disabled = !this.#cursor;
    byId('page-older').disabled = !this.#next;
  }

  #readForm() {
    const data = new FormData(this.#form);
    const filters = {};
    for (const name of filterNames) {
      const value = String(data.get(name) ?? '').trim();
      // datetime-local is the reader's local time; the API takes an instant.
      filters[name] = value && timeFilters.has(name) ? new Date(value).toISOString() : value;
    }
    return filters;
  }

  #fillForm() {
    for (const name of filterNames) {
      const value = this.#filters[name];
      this.#form.elements[name].value = value && timeFilters.has(name) ? toLocalInput(value) : value;
    }
  }
}

const labels = { to: 'recipient', from: 'sender', queueId: 'queue id', createdAfter: 'created after', createdBefore: 'created before' };
const label = name => labels[name] ?? name;

const shown = new WeakMap();

/** Writes the row's cells, unless they show this very item already (a refresh keeps focus on an unchanged row). */
function fillRow(row, item) {
  const text = JSON.stringify(item);
  if (shown.get(row) === text) {
    return;
  }
  shown.set(row, text);
  row.dataset.status = item.status;
  const subject = h('a', { href: `#/messages/${item.id}` }, item.subject || '(no subject)');
  row.replaceChildren(
    h('td', { 'data-label': 'Time' }, time(item.createdAt)),
    h('td', { 'data-label': 'Status' }, statusBadge(item.status)),
    h('td', { 'data-label': 'From', class: 'address' }, item.from),
    h('td', { 'data-label': 'To', class: 'address' }, item.to.join(', ')),
    h('td', { 'data-label': 'Subject', class: 'subject' }, subject),
    h('td', { 'data-label': 'Queue id', class: 'queue-id' }, item.queueId ?? h('span', { class: 'none' }, '—')),
  );
}
