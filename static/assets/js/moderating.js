// moderating.js — the shops an account moderates, each with its live and
// upcoming streams linked to their moderator consoles. The settings page
// lists them (the header's "Moderate" leads there), and so does the
// dashboard of a moderator who has no shop of their own.

import { get } from './api.js';
import { h } from './dom.js';
import { thumb } from './cards.js';
import { toast, sentence } from './ui.js';

/** moderatedShops resolves to a list item per shop of shops (/api/me's
 * moderates); a shop whose streams cannot be read says so in a toast. */
export function moderatedShops(shops) {
  return Promise.all(shops.map(async (shop) => {
    let streams = [];
    try {
      streams = (await get(`/shops/${shop.id}/streams?limit=20`)).items.filter((s) => s.status !== 'ended');
    } catch (err) {
      toast(sentence(err.message), 'error');
    }
    return h('li', { dataset: { shopId: shop.id } },
      thumb(shop.logo_url || '', shop.name, 'avatar'),
      h('a', { class: 'grow', href: `/shop/${encodeURIComponent(shop.handle)}`, text: shop.name }),
      streams.length
        ? streams.map((s) => h('a', { class: 'button small', href: `/moderate/${s.id}` },
          `Moderate “${s.title}”${s.status === 'live' ? ' (live)' : ''}`))
        : h('span', { class: 'hint' }, 'No streams coming up'));
  }));
}
