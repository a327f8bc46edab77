// What the two lists (messages, suppressions) share: their filters and cursor in the page's address, so Back and links
// keep them; the filter form; "Newest", "Newer" and "Older" ("Newer" goes back along the cursors visited since the
// newest page); reading one page at a time, and never painting a page that another query has replaced meanwhile.

import { pageQuery } from './api.js';
import { byId, showProblem } from './dom.js';

export class ListPages {
  filters = {};
  cursor = null;
  next = null;
  #path;
  #names;
  #form;
  #table;
  #problem;
  #what;
  #buttons;
  #toForm;
  #fromForm;
  #onProblem;
  // The cursors of the pages visited since the newest, so "Newer" can go back one page.
  #trail = [];
  // Bumped by every new page shown, so a read that was under way cannot paint an older query's rows.
  #generation = 0;

  /**
   * path: the view's address (#/messages); names: its filters; form, table, problem, buttons: its elements' ids;
   * what: its items, in "The … could not be read"; toForm and fromForm(name, value): a filter as the form shows it and
   * back (the identity unless given).
   */
  constructor({ path, names, form, table, problem, what, buttons, toForm, fromForm, onProblem }) {
    this.#path = path;
    this.#names = names;
    this.#form = byId(form);
    this.#table = byId(table);
    this.#problem = byId(problem);
    this.#what = what;
    this.#buttons = buttons.map(byId);
    this.#toForm = toForm ?? ((name, value) => value);
    this.#fromForm = fromForm ?? ((name, value) => value);
    this.#onProblem = onProblem;
    this.#form.addEventListener('submit', event => {
      event.preventDefault();
      location.hash = this.hash(this.#readForm(), null);
    });
    this.#form.addEventListener('reset', event => {
      event.preventDefault();
      location.hash = this.hash({}, null);
    });
    const [first, newer, older] = this.#buttons;
    first.addEventListener('click', () => { location.hash = this.hash(this.filters, null); });
    newer.addEventListener('click', () => {
      const index = this.#trail.indexOf(this.cursor);
      location.hash = this.hash(this.filters, index > 0 ? this.#trail[index - 1] : null);
    });
    older.addEventListener('click', () => { location.hash = this.hash(this.filters, this.next); });
  }

  /** The address of a page of the list: its filters and cursor. */
  hash(filters, cursor) {
    const text = pageQuery(this.#names, filters, cursor).toString();
    return text ? `#${this.#path}?${text}` : `#${this.#path}`;
  }

  /** Takes the filters and cursor the address names (<paramref name="query"/>) and shows them in the form. */
  open(query) {
    const filters = {};
    for (const name of this.#names) {
      filters[name] = query.get(name) ?? '';
    }
    const cursor = query.get('cursor');
    const sameFilters = this.#names.every(name => filters[name] === (this.filters[name] ?? ''));
    if (!sameFilters || !cursor) {
      this.#trail = [];
    }
    if (cursor && !this.#trail.includes(cursor)) {
      this.#trail.push(cursor);
    }
    this.filters = filters;
    this.cursor = cursor;
    for (const name of this.#names) {
      this.#form.elements[name].value = this.filters[name] && this.#toForm(name, this.filters[name]);
    }
    this.#generation++;
  }

  /** Forgets the page under way (a read that answers later paints nothing). */
  close() {
    this.#generation++;
  }

  /** The names of the filters that are set. */
  get active() {
    return this.#names.filter(name => this.filters[name]);
  }

  /**
   * Says what the table shows in its caption ("3 messages, newest first, filtered by recipient"; older says a page
   * after the newest, labels name the filters), and when it is empty why: noMatch when filters are set, else none.
   */
  describe(count, { caption, empty, noun: [one, many], older, labels, noMatch, none }) {
    const filtered = this.active.length ? `, filtered by ${this.active.map(name => labels[name] ?? name).join(', ')}` : '';
    byId(caption).textContent = `${count} ${count === 1 ? one : many}, ${this.cursor ? older : 'newest first'}${filtered}`;
    byId(empty).hidden = count > 0;
    byId(empty).textContent = this.active.length ? noMatch : none;
  }

  /**
   * Reads the page with read(filters, cursor) and hands it to render, unless another page was asked for meanwhile;
   * a problem shows in the view's alert, a 401 goes to onProblem.
   */
  async load(read, render) {
    const generation = this.#generation;
    this.#table.setAttribute('aria-busy', 'true');
    try {
      const page = await read(this.filters, this.cursor);
      if (generation !== this.#generation) {
        return;
      }
      showProblem(this.#problem, null);
      this.next = page.nextCursor;
      const [first, newer, older] = this.#buttons;
      first.disabled = newer.disabled = !this.cursor;
      older.disabled = !this.next;
      render(page);
    } catch (error) {
      if (!this.#onProblem(error)) {
        showProblem(this.#problem, `The ${this.#what} could not be read: ${error.describe?.() ?? error.message}`);
      }
    } finally {
      this.#table.removeAttribute('aria-busy');
    }
  }

  #readForm() {
    const data = new FormData(this.#form);
    const filters = {};
    for (const name of this.#names) {
      const value = String(data.get(name) ?? '').trim();
      filters[name] = value && this.#fromForm(name, value);
    }
    return filters;
  }
}
