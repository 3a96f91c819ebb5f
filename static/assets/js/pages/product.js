// product.js — /product/:id: pictures, price, stock, description, reviews,
// add to cart, and a link to the live stream that is showing it.

import { get, post, ignoreApiError } from '../api.js';
import { $, h, replace, pathID, formatDate } from '../dom.js';
import { formatMoney } from '../money.js';
import { initPage, ready, busy, onSubmit, toast } from '../ui.js';
import { stars, thumb, tagLink } from '../cards.js';
import { shareButton } from '../share.js';

const account = await initPage();
const id = pathID(1);

let product = null;
try {
  product = await get(`/products/${id}`);
} catch (err) {
  replace($('main'), h('p', { class: 'notice error', role: 'alert' }, err.status === 404 ? 'There is no such product.' : err.message));
}
if (product) {
  // Tell discovery the product was seen (views feed popularity and taste); never blocks the page.
  post('/interactions', { events: [{ type: 'product_viewed', product_id: id, source: new URLSearchParams(location.search).get('from') || '' }] }).catch(() => {});
  show(product);
  busy($('#product'), false);
  wireForms();
  await Promise.all([loadShop(), loadLive(), loadReviews()]);
}
ready();

function show(p) {
  document.title = `${p.title} · Liveshop`;
  $('#product-title').textContent = p.title;
  $('#product-price').textContent = formatMoney(p.price_minor, p.currency);
  $('#product-stock').textContent = p.stock > 0 ? `${p.stock} in stock` : 'Sold out';
  $('#product-description').textContent = p.description;
  replace($('#product-hashtags'), (p.hashtags || []).map((t) => h('li', {}, tagLink(t))));
  replace($('#product-share'), shareButton({ type: 'product', id: p.id }));
  $('#rating').textContent = stars(p.rating);
  gallery(p);
  const form = $('#cart-form');
  form.hidden = p.stock <= 0 || p.status !== 'active';
  $('#quantity').max = String(p.stock);
}

function gallery(p) {
  const main = h('div', { class: 'main-image' }, thumb(p.images?.[0]?.url || '', p.title));
  const buttons = (p.images || []).length > 1 ? p.images.map((img, i) => h('button', {
    type: 'button', 'aria-label': `Picture ${i + 1} of ${p.images.length}`, 'aria-pressed': String(i === 0),
    on: {
      click: (ev) => {
        replace(main, thumb(img.url, p.title));
        for (const b of ev.currentTarget.parentElement.children) b.setAttribute('aria-pressed', String(b === ev.currentTarget));
      },
    },
  }, h('img', { src: img.url, alt: '' }))) : [];
  replace($('#gallery'), main, buttons.length ? h('div', { class: 'thumbs' }, buttons) : null);
}

async function loadShop() {
  try {
    const shop = await get(`/shops/${product.shop_id}`);
    const a = $('#product-shop');
    a.textContent = shop.name;
    a.href = `/shop/${encodeURIComponent(shop.handle)}`;
  } catch (err) {
    ignoreApiError(err); // the product page works without its shop's name
  }
}

/** loadLive links the shop's live stream when it is showing this product. */
async function loadLive() {
  try {
    const { items } = await get(`/streams?shop=${product.shop_id}&status=live&limit=10`);
    const s = items.find((st) => (st.product_ids || []).includes(product.id));
    if (!s) return;
    const p = $('#product-live');
    replace(p, h('a', { class: 'live-link', href: `/watch/${s.id}` }, h('span', { class: 'badge live' }, 'LIVE'), ` Watch it live: ${s.title}`));
    p.hidden = false;
  } catch (err) {
    ignoreApiError(err); // no link then
  }
}

async function loadReviews() {
  $('#review-form').hidden = !account;
  try {
    const { items } = await get(`/products/${id}/reviews?limit=50`);
    replace($('#reviews'), items.map((r) => h('li', { class: 'review' },
      h('span', { class: 'who' }, r.author_name), ' ',
      h('span', { 'aria-label': `${r.rating} out of 5` }, '★'.repeat(r.rating) + '☆'.repeat(5 - r.rating)), ' ',
      h('span', { class: 'hint' }, formatDate(r.created_at)),
      r.text ? h('p', { class: 'text' }, r.text) : null)));
    $('#reviews-empty').hidden = items.length > 0;
  } catch (err) {
    replace($('#reviews'), h('li', { class: 'notice error' }, err.message));
  }
}

/** wireForms makes the cart and review forms work. */
function wireForms() {
  onSubmit($('#cart-form'), async (v) => {
    if (!account) {
      location.assign(`/login?next=${encodeURIComponent(location.pathname)}`);
      return;
    }
    await post('/cart/lines', { product_id: product.id, quantity: Number(v.quantity) });
    toast(`Added to your cart`, 'ok');
    $('#go-to-cart').hidden = false;
  });

  onSubmit($('#review-form'), async (v, form) => {
    await post(`/products/${id}/reviews`, { rating: Number(v.rating), text: v.text.trim() });
    form.reset();
    toast('Thanks for your review', 'ok');
    product = await get(`/products/${id}`);
    $('#rating').textContent = stars(product.rating);
    await loadReviews();
  });
}
