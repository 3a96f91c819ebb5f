// cards.js — the small cards lists are made of: products and streams.

import { h, plural } from './dom.js';
import { formatMoney } from './money.js';

/** imageOf is a product's first picture URL, or "". */
export function imageOf(p) {
  return p.image_url || p.images?.[0]?.url || '';
}

/** thumb is an image, or a coloured tile with an initial when there is none. */
export function thumb(url, label, extra = '') {
  if (url) return h('img', { class: ['thumb', extra], src: url, alt: '', loading: 'lazy' });
  const hue = [...String(label)].reduce((n, c) => (n * 31 + c.charCodeAt(0)) % 360, 7);
  return h('div', { class: ['thumb', 'placeholder', `hue-${hue % 12}`, extra], 'aria-hidden': 'true' }, String(label).trim().charAt(0).toUpperCase() || '?');
}

/** stars says a rating in words and symbols. */
export function stars(rating) {
  if (!rating || !rating.count) return 'No reviews yet';
  return `★ ${rating.average.toFixed(1)} (${rating.count})`;
}

/** productCard links to a product page. from names the list it is in
 * (feed, search, hashtag), which the product page reports with its view.
 * Lists from discovery carry the shop's name instead of a rating. */
export function productCard(p, from = '') {
  const meta = p.stock <= 0 ? 'Sold out' : p.rating || !p.shop_name ? stars(p.rating) : p.shop_name;
  return h('li', { class: 'card product-card', dataset: { productId: p.id } },
    h('a', { class: 'cover', href: `/product/${p.id}${from ? `?from=${encodeURIComponent(from)}` : ''}` },
      thumb(imageOf(p), p.title),
      h('div', { class: 'body' },
        h('span', { class: 'title' }, p.title),
        h('span', { class: 'price' }, formatMoney(p.price_minor, p.currency)),
        h('span', { class: 'meta' }, meta))));
}

/** shopCard links to a shop page (search results). */
export function shopCard(s) {
  return h('li', { class: 'card shop-card', dataset: { shopId: s.id } },
    h('a', { class: 'cover', href: `/shop/${encodeURIComponent(s.handle)}` },
      h('div', { class: 'body' },
        thumb(s.logo_url || '', s.name, 'logo'),
        h('span', { class: 'title' }, s.name),
        h('span', { class: 'meta' }, plural(s.followers, 'follower')),
        s.description ? h('span', { class: 'meta clamp' }, s.description) : null)));
}

/** tagLink links a hashtag to its page. */
export function tagLink(tag) {
  return h('a', { class: 'tag', href: `/tag/${encodeURIComponent(tag)}` }, `#${tag}`);
}

/** streamCard links to a stream's watch page. */
export function streamCard(s) {
  const live = s.status === 'live';
  const when = live ? 'Live now' : s.status === 'ended' ? 'Ended' : `Starts ${new Date(s.scheduled_at).toLocaleString()}`;
  return h('li', { class: 'card stream-card', dataset: { streamId: s.id } },
    h('a', { class: 'cover', href: `/watch/${s.id}` },
      h('div', { class: 'poster' },
        thumb('', s.shop_name || s.title, 'portrait'),
        live ? h('span', { class: 'badge live' }, 'LIVE') : null),
      h('div', { class: 'body' },
        h('span', { class: 'title' }, s.title),
        h('span', { class: 'meta' }, s.shop_name || ''),
        h('span', { class: 'meta' }, when))));
}
