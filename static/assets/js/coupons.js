// coupons.js — live-exclusive coupons: what a code takes off (said the
// same way in the checkout sheet and the studio) and the studio's panel,
// where a seller creates a stream's coupons and watches them being used.
// The server decides every discount; discount() only previews it in the
// checkout sheet with the server's own rule.

import { h, replace } from './dom.js';
import { get, post } from './api.js';
import { formatMoney, parseMoney } from './money.js';
import { onSubmit, sentence } from './ui.js';

/** couponLabel says what a coupon takes off ("10% off", "$2.00 off"). */
export function couponLabel(c) {
  return c.kind === 'percent' ? `${c.value}% off` : `${formatMoney(c.value, c.currency)} off`;
}

/** discount is what coupon c takes off total (minor units): a percentage
 * rounded down, or the fixed amount, always leaving at least one unit. */
export function discount(c, total) {
  const d = c.kind === 'percent' ? Math.floor((total * c.value) / 100) : c.value;
  return Math.max(0, Math.min(d, total - 1));
}

/** CouponPanel is the studio's coupon form and list for one stream at a
 * time. form holds code, kind, value and max_uses fields; list is a <ul>. */
export class CouponPanel {
  constructor(form, list, empty, { currency }) {
    this.form = form;
    this.list = list;
    this.empty = empty;
    this.currency = currency;
    this.streamID = 0;
    const kind = form.querySelector('[name=kind]');
    const valueLabel = form.querySelector('label[for="coupon-value"]');
    const value = form.querySelector('[name=value]');
    const relabel = () => {
      const percent = kind.value === 'percent';
      valueLabel.textContent = percent ? 'Percent off (1–90)' : `Amount off (${currency})`;
      value.inputMode = percent ? 'numeric' : 'decimal';
    };
    kind.addEventListener('change', relabel);
    relabel();
    onSubmit(form, async (v) => {
      const amount = v.kind === 'percent' ? Number(v.value) : parseMoney(v.value, currency);
      if (!Number.isInteger(amount) || amount <= 0) {
        throw new Error(v.kind === 'percent' ? 'Percent off: write a whole number from 1 to 90.' : `Amount off: write an amount in ${currency}.`);
      }
      await post(`/streams/${this.streamID}/coupons`, { code: v.code.trim(), kind: v.kind, value: amount, max_uses: Number(v.max_uses) });
      form.querySelector('[name=code]').value = '';
      await this.refresh();
    });
  }

  /** show switches to a stream's coupons. */
  show(streamID) {
    this.streamID = streamID;
    return this.refresh();
  }

  /** refresh reloads the list with each coupon's uses. */
  async refresh() {
    if (!this.streamID) return;
    try {
      const { items } = await get(`/streams/${this.streamID}/coupons`);
      replace(this.list, items.map((c) => h('li', { dataset: { code: c.code } },
        h('strong', { class: 'code' }, c.code),
        h('span', { class: 'grow' }, couponLabel(c)),
        h('span', { class: 'uses' }, `${c.used} of ${c.max_uses} used`))));
      this.empty.hidden = items.length > 0;
    } catch (err) {
      replace(this.list, h('li', { class: 'notice error' }, sentence(err.message)));
    }
  }
}
