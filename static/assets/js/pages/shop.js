// shop.js — /shop/:handle: a shop's followers and Follow button, its
// streams (live first) and products.

import { get } from '../api.js';
import { $, h, replace, pathPart } from '../dom.js';
import { initPage, ready, busy } from '../ui.js';
import { productCard, streamCard, thumb } from '../cards.js';
import { followButton } from '../follow.js';

const account = await initPage();
const handle = encodeURIComponent(pathPart(1));

try {
  const shop = await get(`/shops/${handle}`);
  document.title = `${shop.name} · Liveshop`;
  $('#shop-name').textContent = shop.name;
  $('#shop-description').textContent = shop.description;
  replace($('#shop-logo'), thumb(shop.logo_url || '', shop.name));
  replace($('#shop-follow'), followButton(shop, { account, count: $('#shop-followers') }));
  busy($('#shop-head'), false);

  const [streams, products] = await Promise.all([
    get(`/shops/${shop.id}/streams?limit=24`),
    get(`/shops/${shop.id}/products?limit=60`),
  ]);
  const order = { live: 0, scheduled: 1, ended: 2 };
  const shown = streams.items.filter((s) => s.status !== 'ended').sort((a, b) => order[a.status] - order[b.status]);
  replace($('#shop-streams'), shown.map(streamCard));
  $('#shop-streams-section').hidden = shown.length === 0;
  replace($('#shop-products'), products.items.map(productCard));
  $('#shop-products-empty').hidden = products.items.length > 0;
  busy($('#shop-products'), false);
} catch (err) {
  replace($('main'), h('p', { class: 'notice error', role: 'alert' }, err.status === 404 ? 'There is no such shop.' : err.message));
}
ready();
