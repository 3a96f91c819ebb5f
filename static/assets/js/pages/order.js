// order.js — /orders/:id: one order for its buyer or its seller: items,
// payment, shipping, the tracking timeline and the support thread (polled
// while the page is open). The seller also gets the order's actions.

import { get, post, ignoreApiError } from '../api.js';
import { $, h, replace, append, pathID, formatDate } from '../dom.js';
import { formatMoney } from '../money.js';
import { initPage, ready, busy, onSubmit } from '../ui.js';
import { requireAccount } from '../session.js';
import { orderStatus } from '../orders.js';
import { sellerControls } from '../order-actions.js';

const eventNames = {
  placed: 'Order placed', payment_authorized: 'Payment authorized', paid: 'Paid',
  payment_declined: 'Payment declined', payment_failed: 'Payment failed', flash_order_cancelled: 'Cancelled',
  shipped: 'Shipped', delivered: 'Delivered', cancelled: 'Cancelled', refunded: 'Refunded',
};

function isSeller(o) {
  return account.admin || (account.shop && account.shop.id === o.shop_id);
}

function render(o) {
  order = o;
  document.title = `Order #${o.id} · Liveshop`;
  $('#order-title').textContent = `Order #${o.id}`;
  replace($('#order-summary'),
    h('span', { class: ['status', `status-${o.status}`], 'data-testid': 'order-status' }, orderStatus[o.status] || o.status),
    ` · ${o.shop_name} · placed ${formatDate(o.created_at)}`,
    o.stream_id ? [' · ', h('a', { href: `/watch/${o.stream_id}` }, 'bought during a live stream')] : null);
  replace($('#order-lines'), o.lines.map((l) => h('tr', {},
    h('td', {}, h('a', { href: `/product/${l.product_id}` }, l.title)),
    h('td', {}, formatMoney(l.unit_price_minor, o.currency)),
    h('td', {}, String(l.quantity)),
    h('td', {}, formatMoney(l.line_total_minor, o.currency)))));
  $('#order-total').textContent = formatMoney(o.total_minor, o.currency);
  $('#order-discount-row').hidden = !(o.discount_minor > 0);
  $('#order-coupon').textContent = o.coupon_code || '';
  $('#order-discount').textContent = o.discount_minor > 0 ? `−${formatMoney(o.discount_minor, o.currency)}` : '';
  const p = o.payment || {};
  $('#order-payment').textContent = [
    p.card_brand ? `${p.card_brand[0].toUpperCase()}${p.card_brand.slice(1)} ending ${p.card_last4}` : null,
    p.status ? `payment ${p.status}` : null,
  ].filter(Boolean).join(' · ');
  const a = o.shipping_address;
  replace($('#order-address'), [a.name, a.line1, a.line2, `${a.postal_code} ${a.city}`, a.region, a.country]
    .filter(Boolean).flatMap((line, i) => (i ? [h('br'), line] : [line])));
  $('#order-tracking').textContent = o.tracking_number ? `${o.carrier}: ${o.tracking_number}` : 'Not shipped yet.';
  replace($('#timeline'), (o.timeline || []).map((t) => h('li', {},
    h('span', { class: 'when' }, formatDate(t.at)),
    h('strong', {}, eventNames[t.event] || t.event.replaceAll('_', ' ')),
    t.note ? h('span', { class: 'hint' }, ` — ${t.note}`) : null)));
  const seller = isSeller(o);
  $('#thread-with').textContent = seller ? o.buyer_name : o.shop_name;
  $('#back-link').href = seller ? '/dashboard#orders' : '/orders';
  $('#back-link').textContent = seller ? '← Shop orders' : '← Your orders';
  $('#seller-actions').hidden = !seller;
  if (seller) replace($('#seller-controls'), sellerControls(o, render) || h('p', { class: 'hint' }, 'Nothing to do for this order.'));
}

// --- Support thread -----------------------------------------------------------
let lastMessage = 0;
async function loadMessages() {
  try {
    const messages = await get(`/orders/${id}/messages${lastMessage ? `?after=${lastMessage}` : ''}`);
    for (const m of messages) addMessage(m);
  } catch (err) {
    ignoreApiError(err); // the next tick tries again
  }
}

function addMessage(m) {
  if (m.id <= lastMessage) return;
  lastMessage = m.id;
  $('#thread-empty').hidden = true;
  const list = $('#thread');
  append(list, h('li', { class: ['message', m.author_id === account.id && 'mine'], dataset: { messageId: m.id } },
    h('span', { class: 'who' }, m.author_name), ' ',
    h('span', { class: 'hint' }, formatDate(m.created_at)),
    h('p', { class: 'body' }, m.body)));
  list.scrollTop = list.scrollHeight;
}

function wireMessages() {
  onSubmit($('#message-form'), async (v, form) => {
    addMessage(await post(`/orders/${id}/messages`, { body: v.body.trim() }));
    form.reset();
  });
}

// --- Start (after every declaration above: the top-level awaits would
// otherwise run code that reads a let or const not declared yet) ----------
await initPage();
const account = await requireAccount();
const id = pathID(1);
let order = null;
try {
  order = await get(`/orders/${id}`);
} catch (err) {
  replace($('main'), h('p', { class: 'notice error', role: 'alert' }, err.status === 404 ? 'There is no such order.' : err.message));
}
if (order) {
  render(order);
  busy($('#order'), false);
  await loadMessages();
  setInterval(loadMessages, 5000);
  wireMessages();
}
ready();
