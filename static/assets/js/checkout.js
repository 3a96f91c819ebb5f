// checkout.js — the checkout sheet: a modal <dialog> that slides over the
// page (over the video on the watch page) with the shipping address and a
// card, pays, and shows the confirmed order without leaving the page.
//
// The sheet does not know what is being bought: the page passes pay(), which
// receives the form's values and an Idempotency-Key and returns the order.
// The key is made when the sheet opens and kept across retries of the same
// attempt (a network error, a timeout), so a double tap or a retry never
// charges twice; it is renewed only after the server gave a definite answer
// (a decline), because the next try is a new attempt.

import { h, replace } from './dom.js';
import { ApiError, newIdempotencyKey } from './api.js';
import { formatMoney } from './money.js';
import { sentence } from './ui.js';

/** Test cards of the built-in payment processor, shown as a hint. */
const testCard = '4242 4242 4242 4242';

const addressKey = 'liveshop.address';

let seq = 0;

/** CheckoutSheet is one reusable sheet per page. */
export class CheckoutSheet {
  constructor() {
    this.dialog = h('dialog', { class: 'sheet', 'aria-labelledby': 'checkout-title' });
    document.body.append(this.dialog);
    this.dialog.addEventListener('click', (ev) => {
      // A click on the backdrop (outside the sheet's box) closes it.
      if (ev.target === this.dialog) this.close();
    });
  }

  /**
   * open shows the sheet for item: {title, image_url, price_minor, currency}
   * plus either quantity (fixed, e.g. a reservation) or maxQuantity (the
   * buyer picks), and optionally note (shown by the price), extraMinor and
   * extraNote (other cart lines paid together), hideQuantity (a whole cart). pay(values, key) places the
   * order and resolves to it. done(order) runs after the buyer saw the
   * confirmation; cancelled() when the sheet closes without an order.
   */
  open(item, pay, { done = () => {}, cancelled = () => {} } = {}) {
    this.key = newIdempotencyKey();
    this.paid = false;
    this.dialog.onclose = () => {
      if (!this.paid) cancelled();
    };
    const id = `co${++seq}`;
    const field = (name, label, attrs = {}) => h('div', { class: 'field' },
      h('label', { for: `${id}-${name}` }, label),
      h('input', { id: `${id}-${name}`, name, ...attrs }));
    const saved = loadAddress();
    const fixed = Boolean(item.quantity);
    const qty = h('input', {
      id: `${id}-quantity`, name: 'quantity', type: 'number', min: '1', max: String(item.quantity || item.maxQuantity || 99),
      value: String(item.quantity || 1), required: true, inputmode: 'numeric', readonly: fixed,
    });
    const total = h('span', { class: 'price', 'data-testid': 'checkout-total' });
    const showTotal = () => {
      const n = Math.max(1, Math.min(Number(qty.value) || 1, Number(qty.max)));
      total.textContent = formatMoney(item.price_minor * n + (item.extraMinor || 0), item.currency);
    };
    qty.addEventListener('input', showTotal);
    const error = h('p', { class: 'form-error', role: 'alert' });
    const submit = h('button', { type: 'submit', class: 'primary pay' }, 'Pay');
    const form = h('form', { class: 'stack checkout-form', novalidate: true },
      h('div', { class: 'sheet-item' },
        item.image_url ? h('img', { src: item.image_url, alt: '', class: 'sheet-thumb' }) : null,
        h('div', {},
          h('p', { class: 'title' }, item.title),
          h('p', {}, h('span', { class: 'price' }, formatMoney(item.price_minor, item.currency)),
            item.note ? h('span', { class: 'hint' }, ' · ', item.note) : null))),
      h('div', { class: 'field quantity-field', hidden: Boolean(item.hideQuantity) }, h('label', { for: qty.id }, 'Quantity'), qty),
      h('fieldset', {},
        h('legend', {}, 'Ship to'),
        field('name', 'Full name', { autocomplete: 'name', required: true, maxlength: '100', value: saved.name }),
        field('line1', 'Address', { autocomplete: 'address-line1', required: true, maxlength: '200', value: saved.line1 }),
        h('div', { class: 'field-row' },
          field('city', 'City', { autocomplete: 'address-level2', required: true, maxlength: '100', value: saved.city }),
          field('postal_code', 'Postal code', { autocomplete: 'postal-code', required: true, maxlength: '20', value: saved.postal_code }),
          field('country', 'Country code', { autocomplete: 'country', required: true, maxlength: '2', minlength: '2', pattern: '[A-Za-z]{2}', value: saved.country || 'US' }))),
      h('fieldset', {},
        h('legend', {}, 'Card'),
        field('card', 'Card number', { autocomplete: 'cc-number', inputmode: 'numeric', required: true, pattern: '[0-9 \\-]{12,23}', 'aria-describedby': `${id}-card-hint` }),
        h('p', { class: 'hint', id: `${id}-card-hint` }, `Test mode: use ${testCard} (any expiry, any CVC).`)),
      item.extraNote ? h('p', { class: 'hint' }, item.extraNote) : null,
      h('div', { class: 'sheet-total' }, h('span', {}, 'Total'), total),
      error,
      h('div', { class: 'button-row' },
        submit,
        h('button', { type: 'button', on: { click: () => this.close() } }, 'Cancel')));
    showTotal();

    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      error.textContent = '';
      if (!form.checkValidity()) {
        const bad = form.querySelector(':invalid');
        error.textContent = `${bad.labels?.[0]?.textContent || bad.name}: ${bad.validationMessage}`;
        bad.focus();
        return;
      }
      const v = Object.fromEntries(new FormData(form).entries());
      const values = {
        quantity: Number(v.quantity),
        address: { name: v.name.trim(), line1: v.line1.trim(), city: v.city.trim(), postal_code: v.postal_code.trim(), country: v.country.trim().toUpperCase() },
        card: v.card.replace(/[\s-]/g, ''),
      };
      submit.disabled = true;
      submit.textContent = 'Paying…';
      try {
        const order = await pay(values, this.key);
        this.paid = true;
        saveAddress(values.address);
        this.confirmed(order, done);
      } catch (err) {
        error.textContent = sentence(err.message);
        // A definite answer ends this attempt; the next one gets a new key.
        if (err instanceof ApiError && err.status >= 400 && err.status < 500) this.key = newIdempotencyKey();
      } finally {
        submit.disabled = false;
        submit.textContent = 'Pay';
      }
    });

    replace(this.dialog,
      h('div', { class: 'sheet-head' },
        h('h2', { id: 'checkout-title' }, 'Checkout'),
        h('button', { type: 'button', class: 'close', 'aria-label': 'Close checkout', on: { click: () => this.close() } }, '×')),
      form);
    this.dialog.showModal();
    (saved.name ? form.querySelector('[name=card]') : form.querySelector('[name=name]')).focus();
  }

  confirmed(order, done) {
    const total = formatMoney(order.total_minor, order.currency);
    const close = h('button', { type: 'button', class: 'primary', on: { click: () => { this.close(); done(order); } } }, 'Keep watching');
    replace(this.dialog,
      h('div', { class: 'sheet-done', role: 'status', 'data-testid': 'order-confirmed' },
        h('div', { class: 'done-mark', 'aria-hidden': 'true' }, '✓'),
        h('h2', { id: 'checkout-title' }, 'Order confirmed'),
        h('p', {}, `Order #${order.id} · ${total}`),
        h('p', { class: 'hint' }, 'We will let you know when it ships.'),
        h('div', { class: 'button-row' },
          close,
          h('a', { class: 'button', href: `/orders/${order.id}`, target: '_blank', rel: 'noopener' }, 'View order'))));
    close.focus();
  }

  close() {
    if (this.dialog.open) this.dialog.close();
  }
}

function loadAddress() {
  try {
    return JSON.parse(localStorage.getItem(addressKey)) || {};
  } catch {
    return {};
  }
}

function saveAddress(a) {
  try {
    localStorage.setItem(addressKey, JSON.stringify(a));
  } catch {
    // private mode: fine
  }
}
