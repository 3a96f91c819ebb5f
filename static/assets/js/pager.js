// pager.js — a list that grows a page at a time, for every cursor-paged
// API list (the For You feed, search results, hashtag pages). The first
// page loads at once; "Load more" is a real button, so it works from the
// keyboard; focus then moves to the first new item, and a polite status
// line tells screen readers what arrived.

import { h, append, replace, plural } from './dom.js';
import { busy, sentence } from './ui.js';

/** Pager fills list from an API list: fetch(cursor) resolves to
 * {items, next_cursor}; card(item) makes its <li> or returns null to skip
 * it; empty, if given, is shown while the list has nothing. */
export class Pager {
  constructor(list, { fetch, card, empty = null, noun = 'result' }) {
    this.list = list;
    this.fetch = fetch;
    this.card = card;
    this.empty = empty;
    this.noun = noun;
    this.count = 0;
    this.cursor = '';
    this.button = h('button', { type: 'button', class: 'load-more', hidden: true, on: { click: () => this.more() } }, 'Load more');
    this.status = h('span', { class: 'hint', role: 'status' });
    list.after(h('p', { class: 'pager' }, this.button, ' ', this.status));
  }

  /** start empties the list and loads the first page. */
  start() {
    this.count = 0;
    this.cursor = '';
    replace(this.list);
    return this.load(true);
  }

  /** more loads the next page, if there is one. */
  more() {
    return this.cursor ? this.load(false) : Promise.resolve();
  }

  async load(first) {
    if (this.loading) return;
    this.loading = true;
    this.button.disabled = true;
    busy(this.list, true);
    try {
      const page = await this.fetch(this.cursor);
      const cards = (page.items || []).map((item) => this.card(item)).filter(Boolean);
      append(this.list, cards);
      this.count += cards.length;
      this.cursor = page.next_cursor || '';
      this.button.hidden = !this.cursor;
      this.status.textContent = first ? '' : `${plural(cards.length, this.noun)} more.`;
      if (this.empty) this.empty.hidden = this.count > 0;
      // Keyboard users continue with what arrived, not below the list.
      if (!first) cards[0]?.querySelector('a, button')?.focus();
    } catch (err) {
      this.status.textContent = sentence(err.message);
      this.button.hidden = !this.cursor;
    } finally {
      this.loading = false;
      this.button.disabled = false;
      busy(this.list, false);
    }
  }
}
