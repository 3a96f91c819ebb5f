// tag.js — /tag/:name, a hashtag page: the live and upcoming streams that
// carry it, then its products, hottest first and paged. An unknown
// hashtag is an empty page, never an error.

import { get, query, ignoreApiError } from '../api.js';
import { $, replace, pathPart } from '../dom.js';
import { initPage, ready } from '../ui.js';
import { productCard, streamCard } from '../cards.js';
import { Pager } from '../pager.js';

await initPage();
const tag = pathPart(1).replace(/^#/, '');
const path = `/hashtags/${encodeURIComponent(tag)}`;
document.title = `#${tag} · Liveshop`;
$('#tag-title').textContent = `#${tag}`;

/** empty treats "no such hashtag" as a page with nothing on it. */
const empty = (err) => {
  if (err.status === 404) return { items: [] };
  throw err;
};

const products = new Pager($('#tag-products'), {
  fetch: (cursor) => get(`${path}/products${query({ cursor, limit: 24 })}`).catch(empty),
  card: (p) => productCard(p, 'hashtag'),
  empty: $('#tag-empty'),
  noun: 'product',
});
const streams = get(`${path}/streams?limit=12`).catch(empty).then(({ items }) => {
  replace($('#tag-streams'), items.map((s) => streamCard(s)));
  $('#tag-streams-section').hidden = items.length === 0;
}).catch(ignoreApiError);
await Promise.all([products.start(), streams]);
ready();
