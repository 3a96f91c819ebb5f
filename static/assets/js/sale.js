// sale.js — a flash sale on screen: its price, a countdown to its end and
// a stock bar that falls as buyers reserve. Used over the video on the
// watch page and in the studio.

import { h, replace } from './dom.js';
import { formatMoney } from './money.js';
import { thumb } from './cards.js';

/** SalePanel shows one running sale in a container. */
export class SalePanel {
  constructor(container, { buy = null } = {}) {
    this.el = container;
    this.buy = buy;
    this.sale = null;
    this.timer = null;
  }

  /** show starts displaying sale (or hides the panel for null). */
  show(sale) {
    clearInterval(this.timer);
    this.sale = sale;
    this.busy = this.upcoming = this.soldOut = this.ended = false;
    if (!sale) {
      this.el.hidden = true;
      replace(this.el);
      return;
    }
    this.countdown = h('span', { class: 'countdown', role: 'timer', 'aria-live': 'off', 'aria-label': 'Time left' });
    this.bar = h('progress', { class: 'stock-bar', max: String(sale.quantity), value: String(sale.remaining), 'aria-label': 'Units left' });
    this.left = h('span', { class: 'stock-left', 'aria-live': 'polite' });
    this.button = this.buy
      ? h('button', {
        type: 'button', class: 'primary buy-sale',
        on: {
          click: async () => {
            this.busy = true;
            this.refreshButton();
            try {
              await this.buy(this.sale);
            } finally {
              this.busy = false;
              this.refreshButton();
            }
          },
        },
      }, 'Buy now')
      : null;
    replace(this.el,
      h('div', { class: 'sale-head' },
        h('span', { class: 'badge live' }, 'Flash sale'),
        h('span', { class: 'sale-title' }, sale.title),
        this.countdown),
      h('div', { class: 'sale-body' },
        thumb(sale.image_url, sale.title, 'sale-thumb'),
        h('div', { class: 'sale-info' },
          h('span', { class: 'price' }, formatMoney(sale.price_minor, sale.currency),
            sale.list_price_minor > sale.price_minor ? h('span', { class: 'price-old' }, formatMoney(sale.list_price_minor, sale.currency)) : null),
          sale.per_buyer_limit ? h('span', { class: 'limit' }, `Limit ${sale.per_buyer_limit} per buyer`) : null,
          this.bar, this.left),
        this.button));
    this.el.hidden = false;
    this.stock(sale.remaining);
    this.tick();
    this.timer = setInterval(() => this.tick(), 250);
  }

  /** stock updates the units left. */
  stock(remaining, soldOut = false) {
    if (!this.sale) return;
    this.sale.remaining = remaining;
    this.bar.value = remaining;
    this.left.textContent = soldOut || remaining <= 0 ? 'Sold out' : `${remaining} of ${this.sale.quantity} left`;
    this.soldOut = soldOut || remaining <= 0;
    this.el.classList.toggle('sold-out', this.soldOut);
    this.refreshButton();
  }

  /** end shows why the sale ended, then hides it after a moment. */
  end(reason) {
    if (!this.sale) return;
    clearInterval(this.timer);
    this.countdown.textContent = reason === 'sold_out' ? 'Sold out' : 'Ended';
    this.ended = true;
    this.refreshButton();
    this.el.classList.add('ended');
    const sale = this.sale;
    setTimeout(() => {
      if (this.sale === sale) this.show(null);
    }, 4000);
  }

  tick() {
    const now = Date.now();
    const starts = new Date(this.sale.starts_at).getTime();
    const upcoming = starts > now;
    const ms = (upcoming ? starts : new Date(this.sale.ends_at).getTime()) - now;
    const s = Math.max(0, Math.ceil(ms / 1000));
    const clock = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
    this.countdown.textContent = upcoming ? `Starts in ${clock}` : clock;
    this.upcoming = upcoming;
    this.el.classList.toggle('upcoming', upcoming);
    this.refreshButton();
  }

  refreshButton() {
    if (this.button) this.button.disabled = Boolean(this.busy || this.upcoming || this.soldOut || this.ended);
  }
}
