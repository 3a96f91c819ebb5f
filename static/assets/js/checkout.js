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
import { couponLabel, discount } from './coupons.js';

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
   * buyer picks), and optionally note (shown by the price) and
   * hideQuantity (a whole cart). pay(values, key) places the order and
   * resolves to it. done(order) runs after the buyer saw the
   * confirmation; cancelled() when the sheet closes without an order.
   * coupon(code), when given, adds a live coupon field: it resolves to the
   * coupon ({code, kind, value, currency}) or rejects with why it does not
   * apply; the code the buyer typed reaches pay() as values.coupon, and the
   * confirmation shows the order's discount_minor, what the server took off.
   * returnFocus() names the control that gets focus back when the sheet
   * closes and the one that opened it is gone (the page re-rendered it
   * meanwhile); the dialog itself gives focus back to the opener otherwise.
   */
  open(item, pay, { done = () => {}, cancelled = () => {}, coupon = null, returnFocus = () => null } = {}) {
    this.key = newIdempotencyKey();
    this.paid = false;
    this.dialog.onclose = () => {
      const at = document.activeElement;
      if (!at || at === document.body || this.dialog.contains(at)) returnFocus()?.focus();
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
    const saving = h('p', { class: 'sheet-saving', hidden: true, 'data-testid': 'checkout-discount' });
    let applied = null;
    const showTotal = () => {
      const n = Math.max(1, Math.min(Number(qty.value) || 1, Number(qty.max)));
      const subtotal = item.price_minor * n;
      const off = applied ? discount(applied, subtotal) : 0;
      total.textContent = formatMoney(subtotal - off, item.currency);
      saving.textContent = off ? `Coupon ${applied.code}: −${formatMoney(off, item.currency)}` : '';
      saving.hidden = !off;
    };
    qty.addEventListener('input', showTotal);
    const couponBox = coupon ? couponField(id, coupon, (c) => {
      applied = c;
      showTotal();
    }) : null;
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
      couponBox?.el,
      saving,
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
        coupon: (v.coupon || '').trim().toUpperCase(),
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
        if (couponBox && /^coupon_/.test(err.code)) couponBox.refuse();
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
        order.discount_minor > 0 ? h('p', { 'data-testid': 'order-discount' }, `Your coupon took ${formatMoney(order.discount_minor, order.currency)} off.`) : null,
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

/**
 * couponField is the live coupon code with its Apply button: {el, refuse}.
 * Enter in the field applies the code (it never pays); changing the code
 * drops the applied one. onApplied(coupon or null) updates the total;
 * refuse() marks the code wrong after the server refused it at payment.
 */
function couponField(id, check, onApplied) {
  const input = h('input', {
    id: `${id}-coupon`, name: 'coupon', maxlength: '32', autocomplete: 'off', spellcheck: 'false',
    autocapitalize: 'characters', 'aria-describedby': `${id}-coupon-status`,
  });
  const status = h('p', { class: 'hint coupon-status', id: `${id}-coupon-status`, 'aria-live': 'polite', 'data-testid': 'coupon-status' });
  const say = (text, bad = false) => {
    status.textContent = text;
    status.classList.toggle('error', bad);
    if (bad) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  };
  let asked = 0;
  const apply = async () => {
    const code = input.value.trim().toUpperCase();
    const mine = ++asked;
    onApplied(null);
    if (!code) {
      say('');
      return;
    }
    say('Checking…');
    try {
      const c = await check(code);
      if (mine !== asked) return;
      say(`${c.code}: ${couponLabel(c)} applied.`);
      onApplied(c);
    } catch (err) {
      if (mine === asked) say(sentence(err.message), true);
    }
  };
  input.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter') {
      ev.preventDefault();
      apply();
    }
  });
  input.addEventListener('input', () => {
    asked++;
    onApplied(null);
    say('');
  });
  const el = h('div', { class: 'field coupon-field' },
    h('label', { for: input.id }, 'Live coupon code'),
    h('div', { class: 'inline-form' }, input, h('button', { type: 'button', class: 'small apply-coupon', on: { click: apply } }, 'Apply')),
    status);
  const refuse = () => {
    onApplied(null);
    say('This code was not applied.', true);
    input.focus();
  };
  return { el, refuse };
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
