// orders.js — buying: a product now, a flash-sale unit, or a shop's cart.
// Each returns the paid order. They all send the Idempotency-Key the
// checkout sheet made for this attempt, so retries never charge twice.

import { post, del } from './api.js';
import { h, formatDate } from './dom.js';
import { formatMoney } from './money.js';

/** checkoutBody is the shipping address and card as the API takes them. */
function checkoutBody({ address, card }) {
  return { shipping_address: address, payment_method: { card_number: card } };
}

/** buyProduct buys quantity of a product now ("Buy now": the cart is not
 * touched), at the price the buyer was shown — a changed price is refused
 * with price_changed, never charged — crediting streamID when bought from a
 * stream, with that stream's live coupon when coupon is set. */
export function buyProduct({ product, shopID, streamID, quantity, address, card, coupon, key }) {
  const items = [{ product_id: product.id, quantity, unit_price_minor: product.price_minor }];
  return checkoutShop({ shopID, streamID, items, address, card, coupon, key });
}

/** checkoutShop pays for the cart lines of one shop, or for items instead
 * of the cart. A coupon needs the stream it was offered in. */
export function checkoutShop({ shopID, streamID, items, address, card, coupon, key }) {
  return post('/checkout', {
    shop_id: shopID, stream_id: streamID || undefined, items, coupon_code: coupon || undefined, ...checkoutBody({ address, card }),
  }, { idempotencyKey: key });
}

/** reserve holds quantity units of a flash sale for the caller. */
export function reserve(saleID, quantity = 1) {
  return post(`/flash-sales/${saleID}/reservations`, { quantity });
}

/** release gives back a reservation the buyer did not pay for. */
export function release(saleID, reservationID) {
  return del(`/flash-sales/${saleID}/reservations/${reservationID}`).catch(() => {});
}

/** payReservation turns a reservation into a paid order, with a live
 * coupon of the sale's stream when coupon is set; the order it resolves to
 * carries discount_minor, what the server took off. */
export async function payReservation({ saleID, reservationID, address, card, coupon, key }) {
  const res = await post(`/flash-sales/${saleID}/reservations/${reservationID}/checkout`,
    { ...checkoutBody({ address, card }), coupon_code: coupon || undefined }, { idempotencyKey: key });
  return { ...res.order, discount_minor: res.discount_minor };
}

/** Human names of order statuses. */
export const orderStatus = {
  awaiting_payment: 'Awaiting payment',
  paid: 'Paid',
  shipped: 'Shipped',
  delivered: 'Delivered',
  cancelled: 'Cancelled',
  refunded: 'Refunded',
};

/** orderRow is one order in a list, linking to its page. A seller sees the
 * buyer's name, and extra after it (the order's controls). */
export function orderRow(o, { seller = false, extra = null } = {}) {
  const items = o.lines.reduce((n, l) => n + l.quantity, 0);
  return h('li', { dataset: { orderId: o.id } },
    h('a', { class: 'order-row', href: `/orders/${o.id}` },
      h('strong', {}, `#${o.id}`),
      h('span', { class: 'grow' }, seller ? o.buyer_name : o.shop_name,
        h('span', { class: 'hint' }, ` · ${items} item${items === 1 ? '' : 's'} · ${formatDate(o.created_at)}`)),
      h('span', { class: ['status', `status-${o.status}`] }, orderStatus[o.status] || o.status),
      h('span', { class: 'price' }, formatMoney(o.total_minor, o.currency))),
    extra);
}
