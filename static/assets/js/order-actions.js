// order-actions.js — what a seller does to an order (ship with tracking,
// mark delivered, cancel, refund), shared by the order page and the
// dashboard's order list. Cancel and refund move money, so each carries an
// Idempotency-Key kept for retries of the same click.

import { post, newIdempotencyKey } from './api.js';
import { h } from './dom.js';
import { formatMoney } from './money.js';
import { toast, sentence } from './ui.js';

let seq = 0;

/** sellerControls returns the controls that fit the order's status;
 * changed(order) runs with the updated order after each action. */
export function sellerControls(order, changed) {
  const id = `oa${++seq}`;
  const run = (label, fn, confirmText) => async (ev) => {
    ev.preventDefault();
    if (confirmText && !window.confirm(confirmText)) return;
    const controls = ev.currentTarget.closest('.order-actions');
    controls.querySelectorAll('button').forEach((b) => (b.disabled = true));
    try {
      changed(await fn());
      toast(label, 'ok');
    } catch (err) {
      toast(sentence(err.message), 'error');
    } finally {
      controls.querySelectorAll('button').forEach((b) => (b.disabled = false));
    }
  };
  const moneyKey = newIdempotencyKey();
  const total = formatMoney(order.total_minor, order.currency);
  const out = [];
  if (order.status === 'paid') {
    const form = h('form', { class: 'inline-form ship-form' },
      h('label', { for: `${id}-carrier`, class: 'visually-hidden' }, 'Carrier'),
      h('input', { id: `${id}-carrier`, name: 'carrier', placeholder: 'Carrier', required: true, maxlength: '50' }),
      h('label', { for: `${id}-tracking`, class: 'visually-hidden' }, 'Tracking number'),
      h('input', { id: `${id}-tracking`, name: 'tracking', placeholder: 'Tracking number', required: true, maxlength: '100' }),
      h('button', { type: 'submit', class: 'primary' }, 'Ship'));
    form.addEventListener('submit', run(`Order #${order.id} shipped`, () => {
      const f = new FormData(form);
      return post(`/orders/${order.id}/ship`, { carrier: f.get('carrier').trim(), tracking_number: f.get('tracking').trim() });
    }));
    out.push(form);
  }
  if (order.status === 'shipped') {
    out.push(h('button', { type: 'button', on: { click: run(`Order #${order.id} delivered`, () => post(`/orders/${order.id}/deliver`)) } }, 'Mark delivered'));
  }
  if (order.status === 'paid') {
    out.push(h('button', {
      type: 'button', class: 'danger',
      on: {
        click: run(`Order #${order.id} cancelled and refunded`,
          () => post(`/orders/${order.id}/cancel`, { reason: 'cancelled by the seller' }, { idempotencyKey: moneyKey }),
          `Cancel order #${order.id} and refund ${total}?`),
      },
    }, 'Cancel and refund'));
  }
  if (order.status === 'delivered' || (order.status === 'cancelled' && order.payment?.status === 'captured')) {
    out.push(h('button', {
      type: 'button', class: 'danger',
      on: {
        click: run(`Order #${order.id} refunded`,
          () => post(`/orders/${order.id}/refund`, { reason: 'refunded by the seller' }, { idempotencyKey: moneyKey }),
          `Refund ${total} to ${order.buyer_name}?`),
      },
    }, 'Refund'));
  }
  return out.length ? h('div', { class: 'order-actions button-row' }, out) : null;
}
