// search.js — /search?q=: products, shops and streams matching the words,
// each list ranked by the server and paged. The query is only ever sent as
// a URL parameter and shown as text, so operators, quotes and markup are
// just characters. With no query the page offers trending hashtags.

import { get, query, ignoreApiError } from '../api.js';
import { $, h, replace } from '../dom.js';
import { initPage, ready } from '../ui.js';
import { productCard, shopCard, streamCard, tagLink } from '../cards.js';
import { Pager } from '../pager.js';

await initPage();
const q = (new URLSearchParams(location.search).get('q') || '').trim();
const input = $('#q');
input.value = q;

if (q) {
  document.title = `${q} · Search · Liveshop`;
  $('#search-title').textContent = `Results for “${q}”`;
  $('#results').hidden = false;
  const section = (kind, card, noun) => new Pager($(`#found-${kind}`), {
    fetch: (cursor) => get(`/search/${kind}${query({ q, cursor, limit: 24 })}`),
    card, noun, empty: $(`#found-${kind}-empty`),
  }).start();
  await Promise.all([
    section('products', (p) => productCard(p, 'search'), 'product'),
    section('shops', shopCard, 'shop'),
    section('streams', streamCard, 'stream'),
  ]);
} else {
  input.focus();
  try {
    const { items } = await get('/hashtags?limit=20');
    replace($('#trending'), items.map((t) => h('li', {}, tagLink(t.tag))));
    $('#trending-section').hidden = items.length === 0;
  } catch (err) {
    ignoreApiError(err); // the search box works without them
  }
}
ready();
