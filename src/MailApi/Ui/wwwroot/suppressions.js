// The suppressions view: the key's suppression list, one page of GET /v1/suppressions at a time, filtered by reason
// and by address or domain (in the address, as the messages list keeps its filters), with cursor paging. Remove asks
// first, in the page, and says what it does (the address is mailed again); then DELETE, and the list is read again.

import { deleteSuppression, listSuppressions, suppressionFilterNames } from './api.js';
import { announce, byId, h, showProblem, statusBadge, time } from './dom.js';
import { ListPages } from './pager.js';

const columns = 7;

export class SuppressionsView {
  #body = byId('suppressions').tBodies[0];
  #pages;
  // The page as last painted (a refresh that reads the same entries changes nothing, focus included).
  #shown = null;
  // The row that asks "Remove …?" while it is open: the list is not repainted under it.
  #asking = null;
  #onProblem;

  constructor(onProblem) {
    this.#onProblem = onProblem;
    this.#pages = new ListPages({
      path: '/suppressions',
      names: suppressionFilterNames,
      form: 'suppression-filters',
      table: 'suppressions',
      problem: 'suppressions-problem',
      what: 'suppressions',
      buttons: ['suppressions-first', 'suppressions-newer', 'suppressions-older'],
      onProblem,
    });
  }

  /** Shows the page the address names: filters and cursor from <paramref name="query"/>. */
  async show(query) {
    this.#pages.open(query);
    this.#clear();
    showProblem(byId('suppressions-done'), null);
    await this.#load();
  }

  /** Forgets the entries (signing out leaves none of the key's addresses in the page). */
  leave() {
    this.#pages.close();
    this.#clear();
  }

  /** The newest page gains entries as relays refuse addresses; it is read again unless a removal is being asked. */
  get wantsRefresh() {
    return !this.#pages.cursor && !this.#asking;
  }

  refresh() {
    return this.#load();
  }

  #clear() {
    this.#shown = null;
    this.#asking = null;
    this.#body.replaceChildren();
  }

  #load() {
    return this.#pages.load(listSuppressions, page => this.#render(page));
  }

  #render(page) {
    const text = JSON.stringify(page.items);
    if (this.#asking || text === this.#shown) {
      return;
    }
    this.#shown = text;
    const focused = this.#body.contains(document.activeElement) ? document.activeElement.dataset.address : null;
    this.#body.replaceChildren(...page.items.map(item => this.#row(item)));
    if (focused) {
      this.#body.querySelector(`button[data-address="${CSS.escape(focused)}"]`)?.focus();
    }
    this.#pages.describe(page.items.length, {
      caption: 'suppressions-caption',
      empty: 'suppressions-empty',
      noun: ['suppressed address', 'suppressed addresses'],
      older: 'older entries',
      labels: { address: 'address or domain' },
      noMatch: 'No suppressed address matches these filters.',
      none: 'No suppressed addresses. An address a relay refuses as unknown (5.1.x at RCPT TO) is listed here, and so '
        + 'is one put with PUT /v1/suppressions/{address}.',
    });
  }

  #row(item) {
    const source = item.source;
    const row = h('tr', { 'data-address': item.address },
      h('th', { scope: 'row', class: 'address' }, item.address),
      h('td', { 'data-label': 'Reason' }, statusBadge(item.reason)),
      h('td', { 'data-label': 'Created' }, time(item.createdAt)),
      h('td', { 'data-label': 'Expires' }, item.expiresAt ? time(item.expiresAt) : h('span', { class: 'none' }, 'never')),
      h('td', { 'data-label': 'Source', class: 'source' }, source?.messageId
        ? h('a', { href: `#/messages/${source.messageId}` }, h('code', {}, source.messageId))
        : h('span', { class: 'none' }, '—')),
      h('td', { 'data-label': 'Diagnostic', class: 'diagnostic' }, source?.status || source?.diagnostic
        ? [source.status ? h('code', { class: 'code' }, source.status) : null, source.status && source.diagnostic ? ' ' : null, source.diagnostic]
        : h('span', { class: 'none' }, '—')),
      h('td', { 'data-label': 'Remove' }, h('button', {
        type: 'button', class: 'secondary', 'data-address': item.address, 'aria-label': `Remove ${item.address}`,
        onclick: () => this.#ask(row, item.address),
      }, 'Remove')));
    return row;
  }

  /** Asks, right under the entry, whether to remove it and what that does; "Yes" has the focus. */
  #ask(row, address) {
    this.#asking?.remove();
    const question = h('p', { id: 'remove-question' },
      `Remove ${address} from the suppression list? Messages to it will be offered to the relay again: `
      + 'the address will be mailed again.');
    const yes = h('button', { type: 'button', class: 'danger', onclick: () => this.#remove(address) }, 'Yes, remove it');
    const no = h('button', { type: 'button', class: 'secondary', onclick: () => this.#keep(address) }, 'No, keep it');
    this.#asking = h('tr', { class: 'asking' },
      h('td', { colspan: columns }, h('div', { class: 'confirm', role: 'group', 'aria-labelledby': 'remove-question' }, question, yes, no)));
    row.after(this.#asking);
    yes.focus();
  }

  #keep(address) {
    this.#asking?.remove();
    this.#asking = null;
    this.#body.querySelector(`button[data-address="${CSS.escape(address)}"]`)?.focus();
  }

  async #remove(address) {
    this.#asking.querySelectorAll('button').forEach(b => { b.disabled = true; });
    let done = null;
    let problem = null;
    try {
      await deleteSuppression(address);
      done = `${address} was removed from the suppression list: it will be mailed again.`;
    } catch (error) {
      if (this.#onProblem(error)) {
        return;
      }
      problem = error.status === 404
        ? `${address} is no longer on the suppression list (removed meanwhile, or expired).`
        : `Not removed: ${error.describe?.() ?? error.message}`;
    }
    this.#asking = null;
    this.#shown = null;
    await this.#load();
    showProblem(byId('suppressions-done'), done);
    if (done) {
      announce(done);
    }
    if (problem) {
      showProblem(byId('suppressions-problem'), problem);
    }
    byId('suppressions-title').focus();
  }
}
