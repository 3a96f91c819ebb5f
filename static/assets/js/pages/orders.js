// orders.js — /orders: the buyer's orders, newest first, page by page.

import { get } from '../api.js';
import { $, append } from '../dom.js';
import { initPage, ready, busy, showError } from '../ui.js';
import { requireAccount } from '../session.js';
import { orderRow } from '../orders.js';

await initPage();
await requireAccount();
const list = $('#orders');
const more = $('#more');
let cursor = '';

async function load() {
  try {
    const page = await get(`/orders?limit=20${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    append(list, page.items.map((o) => orderRow(o)));
    cursor = page.next_cursor || '';
    more.hidden = !cursor;
    $('#orders-empty').hidden = list.childElementCount > 0;
    busy(list, false);
  } catch (err) {
    showError(list, err);
  }
}

more.addEventListener('click', load);
await load();
ready();
