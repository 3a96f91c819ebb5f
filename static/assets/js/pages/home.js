// home.js — the front page: who is live (the shops the viewer follows
// first), who goes live soon, and the For You feed — a ranked mix of live
// streams and products, a page at a time. Visitors get the popular/live
// mix; signed-in viewers their own ranking.

import { get, query } from '../api.js';
import { $, h, replace } from '../dom.js';
import { initPage, ready, busy, showError } from '../ui.js';
import { productCard, streamCard } from '../cards.js';
import { Pager } from '../pager.js';

const account = await initPage();
replace($('#hero-actions'), account
  ? [h('span', {}, 'Welcome back, ', h('strong', { text: account.name }), '. '),
    account.shop ? h('a', { class: 'button primary', href: '/studio' }, 'Go live') : h('a', { class: 'button', href: '/dashboard' }, 'Start selling')]
  : h('a', { class: 'button primary', href: '/signup' }, 'Create an account'));

/** fill renders a list from an API list, or its empty note, or the error. */
async function fill(list, empty, path) {
  try {
    const { items } = await get(path);
    replace(list, items.map((s) => streamCard(s)));
    if (empty) empty.hidden = items.length > 0;
    busy(list, false);
    return items;
  } catch (err) {
    showError(list, err);
    return [];
  }
}

const [live, soon] = await Promise.all([
  fill($('#live-streams'), $('#live-empty'), '/discover/live?limit=24'),
  fill($('#soon-streams'), null, '/streams?status=scheduled&limit=8'),
]);
$('#soon-section').hidden = soon.length === 0;

// The feed ranks live streams too; those already under "Live now" are not
// shown twice.
const shown = new Set(live.map((s) => s.id));
const feed = new Pager($('#feed'), {
  fetch: (cursor) => get(`/feed${query({ cursor, limit: 24 })}`),
  card: (item) => item.type === 'stream'
    ? (shown.has(item.stream.id) ? null : streamCard(item.stream))
    : productCard(item.product, 'feed'),
  empty: $('#feed-empty'),
  noun: 'item',
});
await feed.start();
ready();
