// The messages view: one page of GET /v1/messages at a time (never more), its filters in the address so Back and
// links keep them, cursor paging, and rows that update in place while they are not final.

import { filterNames, finalStatuses, listMessages } from './api.js';
import { announce, byId, h, statusBadge, time, toLocalInput } from './dom.js';
import { ListPages } from './pager.js';

const timeFilters = new Set(['createdAfter', 'createdBefore']);

export class ListView {
  #body = byId('messages').tBodies[0];
  #rows = new Map();
  #pages;

  constructor(onProblem) {
    this.#pages = new ListPages({
      path: '/messages',
      names: filterNames,
      form: 'filters',
      table: 'messages',
      problem: 'list-problem',
      what: 'messages',
      buttons: ['page-first', 'page-newer', 'page-older'],
      // datetime-local is the reader's local time; the API takes an instant.
      toForm: (name, value) => timeFilters.has(name) ? toLocalInput(value) : value,
      fromForm: (name, value) => timeFilters.has(name) ? new Date(value).toISOString() : value,
      onProblem,
    });
  }

  /** Shows the page the address names: filters and cursor from <paramref name="query"/>. */
  async show(query) {
    this.#pages.open(query);
    this.#rows.clear();
    this.#body.replaceChildren();
    await this.#load(false);
  }

  /** Forgets the rows (signing out leaves none of the key's messages in the page). */
  leave() {
    this.#pages.close();
    this.#rows.clear();
    this.#body.replaceChildren();
  }

  /** On the newest page new messages may arrive; on any page a row that is not final may change. */
  get wantsRefresh() {
    return !this.#pages.cursor || [...this.#rows.values()].some(row => !finalStatuses.has(row.dataset.status));
  }

  /** Reads the same page again and updates its rows in place (focus and scroll stay where they are). */
  refresh() {
    return this.#load(true);
  }

  #load(refreshing) {
    return this.#pages.load(listMessages, page => this.#render(page, refreshing));
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
    this.#pages.describe(page.items.length, {
      caption: 'messages-caption',
      empty: 'list-empty',
      noun: ['message', 'messages'],
      older: 'older messages',
      labels,
      noMatch: 'No message matches these filters.',
      none: 'No messages yet. Messages sent with this key (POST /v1/messages) appear here.',
    });
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
}

const labels = { to: 'recipient', from: 'sender', queueId: 'queue id', createdAfter: 'created after', createdBefore: 'created before' };

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
