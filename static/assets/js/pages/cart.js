// cart.js — /cart: the cart by shop (an order is per shop), quantities,
// removal, and checkout of one shop's lines in the checkout sheet — with a
// live coupon while the shop is live (the order is then credited to the
// stream whose coupon it used).

import { get, api, del, ignoreApiError } from '../api.js';
import { $, h, replace } from '../dom.js';
import { formatMoney } from '../money.js';
import { initPage, ready, busy, showError, toast, sentence } from '../ui.js';
import { requireAccount } from '../session.js';
import { thumb } from '../cards.js';
import { CheckoutSheet } from '../checkout.js';
import { checkoutShop } from '../orders.js';

await initPage();
await requireAccount();
const sheet = new CheckoutSheet();
const box = $('#cart');

async function load() {
  try {
    render(await get('/cart'));
  } catch (err) {
    showError(box, err);
  }
}

/** change runs a cart update and shows the cart it returns. */
async function change(request) {
  try {
    render(await request());
  } catch (err) {
    toast(sentence(err.message), 'error');
  }
}

function render(cart) {
  $('#cart-empty').hidden = cart.lines.length > 0;
  replace(box, cart.shops.map((shop) => {
    const lines = cart.lines.filter((l) => l.shop_id === shop.shop_id);
    return h('section', { class: 'panel cart-shop', 'aria-label': `From ${shop.shop_name}` },
      h('h2', {}, shop.shop_name),
      h('ul', { class: 'cart-lines' }, lines.map(line)),
      h('div', { class: 'cart-foot' },
        h('span', {}, 'Subtotal ', h('strong', { class: 'price' }, formatMoney(shop.subtotal_minor, shop.currency))),
        h('button', { type: 'button', class: 'primary', on: { click: () => checkout(shop, lines) } }, `Check out ${shop.shop_name}`)));
  }));
  busy(box, false);
}

function line(l) {
  const qty = h('input', {
    type: 'number', min: '1', max: String(Math.max(l.stock, l.quantity)), value: String(l.quantity), inputmode: 'numeric',
    'aria-label': `Quantity of ${l.title}`, class: 'qty',
    on: { change: (ev) => change(() => api(`/cart/lines/${l.product_id}`, { method: 'PATCH', body: { quantity: Number(ev.target.value) } })) },
  });
  const changed = l.current_price_minor !== l.unit_price_minor;
  return h('li', { class: ['cart-line', !l.available && 'unavailable'], dataset: { productId: l.product_id } },
    h('a', { href: `/product/${l.product_id}`, tabindex: '-1', 'aria-hidden': 'true' }, thumb(l.image_url, l.title)),
    h('div', { class: 'grow' },
      h('a', { href: `/product/${l.product_id}`, class: 'title' }, l.title),
      h('div', {}, h('span', { class: 'price' }, formatMoney(l.current_price_minor, l.currency)),
        changed ? h('span', { class: 'hint' }, ` (was ${formatMoney(l.unit_price_minor, l.currency)} when added)`) : null),
      l.available ? null : h('p', { class: 'notice error' }, 'No longer available in this quantity.')),
    qty,
    h('button', { type: 'button', class: 'small', 'aria-label': `Remove ${l.title}`, on: { click: () => change(() => del(`/cart/lines/${l.product_id}`)) } }, 'Remove'));
}

async function checkout(shop, lines) {
  const count = lines.reduce((n, l) => n + l.quantity, 0);
  let live = [];
  try {
    live = (await get(`/streams?shop=${shop.shop_id}&status=live&limit=10`)).items;
  } catch (err) {
    ignoreApiError(err); // checkout works without coupons
  }
  sheet.open({
    title: `${count} item${count === 1 ? '' : 's'} from ${shop.shop_name}`, image_url: lines[0]?.image_url,
    price_minor: shop.subtotal_minor, currency: shop.currency, quantity: 1, hideQuantity: true,
  }, async (v, key) => {
    const streamID = v.coupon ? (await liveCoupon(live, v.coupon)).stream_id : 0;
    return checkoutShop({ shopID: shop.shop_id, streamID, address: v.address, card: v.card, coupon: v.coupon, key });
  }, { done: load, coupon: live.length ? (code) => liveCoupon(live, code) : null });
}

/** liveCoupon finds which of the shop's live streams offers code, and
 * resolves to the coupon with that stream_id. */
async function liveCoupon(streams, code) {
  let refused;
  for (const s of streams) {
    try {
      return { ...await get(`/streams/${s.id}/coupons/${encodeURIComponent(code)}`), stream_id: s.id };
    } catch (err) {
      if (err.code !== 'coupon_wrong_stream') throw err;
      refused = err;
    }
  }
  throw refused;
}

await load();
ready();
