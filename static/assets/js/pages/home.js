// home.js — the front page: who is live, who goes live soon, and products.

import { get } from '../api.js';
import { $, h, replace } from '../dom.js';
import { initPage, ready, busy, showError } from '../ui.js';
import { productCard, streamCard } from '../cards.js';

const account = await initPage();
replace($('#hero-actions'), account
  ? [h('span', {}, 'Welcome back, ', h('strong', { text: account.name }), '. '),
    account.shop ? h('a', { class: 'button primary', href: '/studio' }, 'Go live') : h('a', { class: 'button', href: '/dashboard' }, 'Start selling')]
  : h('a', { class: 'button primary', href: '/signup' }, 'Create an account'));

/** fill renders a list from an API page, or its empty note, or the error. */
async function fill(list, empty, path, card) {
  try {
    const { items } = await get(path);
    replace(list, items.map(card));
    if (empty) empty.hidden = items.length > 0;
    busy(list, false);
    return items;
  } catch (err) {
    showError(list, err);
    return [];
  }
}

const [, soon] = await Promise.all([
  fill($('#live-streams'), $('#live-empty'), '/streams?status=live&limit=24', streamCard),
  fill($('#soon-streams'), null, '/streams?status=scheduled&limit=8', streamCard),
  fill($('#products'), $('#products-empty'), '/products?limit=24', productCard),
]);
$('#soon-section').hidden = soon.length === 0;
ready();
