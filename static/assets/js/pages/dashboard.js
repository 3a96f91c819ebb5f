// dashboard.js — /dashboard, the seller's back office: open a shop, then
// products (create, edit, pictures), orders (ship, deliver, cancel,
// refund), streams, and the shop's moderators and moderator invitations.
// A moderator without a shop finds their moderator consoles here first.

import { get, post, patch, del, api } from '../api.js';
import { $, $$, h, replace, formatDate } from '../dom.js';
import { formatMoney, parseMoney, toDecimal, useExponents } from '../money.js';
import { initPage, ready, onSubmit, toast, sentence, showError } from '../ui.js';
import { requireAccount } from '../session.js';
import { tabs } from '../tabs.js';
import { thumb, imageOf } from '../cards.js';
import { orderRow } from '../orders.js';
import { sellerControls } from '../order-actions.js';
import { loadAnalytics } from '../analytics.js';
import { moderatedShops } from '../moderating.js';

// --- Opening a shop -----------------------------------------------------------
function openShopForm({ focus = true } = {}) {
  $('#open-shop').hidden = false;
  const guess = new Intl.NumberFormat().resolvedOptions().locale.startsWith('en-GB') ? 'GBP' : 'USD';
  replace($('#shop-currency'), currencies.map((c) => h('option', { value: c.code, selected: c.code === guess }, c.code)));
  const name = $('#shop-name-input');
  const handle = $('#shop-handle');
  name.addEventListener('input', () => {
    if (handle.dataset.touched) return;
    handle.value = name.value.toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 30);
  });
  handle.addEventListener('input', () => (handle.dataset.touched = '1'));
  onSubmit($('#open-shop-form'), async (v) => {
    await post('/shops', { name: v.name.trim(), handle: v.handle.trim(), currency: v.currency, description: v.description.trim() });
    location.reload();
  });
  if (focus) name.focus();
}

// --- The dashboard -------------------------------------------------------------
async function showDashboard(shop) {
  $('#dashboard').hidden = false;
  $('#dash-title').textContent = shop.name;
  $('#dash-shop-link').href = `/shop/${encodeURIComponent(shop.handle)}`;
  $$('.currency-code').forEach((el) => (el.textContent = shop.currency));
  const loaders = {
    'products-panel': () => loadProducts(shop),
    'orders-panel': () => loadOrders(shop),
    'streams-panel': () => loadStreams(shop),
    'moderators-panel': () => loadModerators(shop),
    'analytics-panel': () => loadAnalytics(shop, $('#analytics-panel')),
  };
  wireProductForm(shop);
  wireModerators(shop);
  $('#order-filter').addEventListener('change', () => loadOrders(shop));
  let first = null;
  tabs($('#dash-tabs'), (id) => {
    const loading = loaders[id]();
    first ??= loading;
  });
  await first;
}

// --- Products ---------------------------------------------------------------
let products = [];

async function loadProducts(shop) {
  const rows = $('#product-rows');
  try {
    const statuses = ['active', 'draft', 'archived'];
    const pages = await Promise.all(statuses.map((s) => get(`/shops/${shop.id}/products?status=${s}&limit=100`)));
    products = pages.flatMap((p) => p.items).sort((a, b) => b.id - a.id);
    replace(rows, products.length ? products.map((p) => h('tr', { dataset: { productId: p.id } },
      h('td', {}, h('span', { class: 'row-product' }, thumb(imageOf(p), p.title), h('a', { href: `/product/${p.id}` }, p.title))),
      h('td', {}, formatMoney(p.price_minor, p.currency)),
      h('td', {}, String(p.stock)),
      h('td', {}, p.status),
      h('td', {}, h('button', { type: 'button', class: 'small', 'aria-label': `Edit ${p.title}`, on: { click: () => editProduct(p) } }, 'Edit'))))
      : h('tr', {}, h('td', { colspan: '5', class: 'empty' }, 'No products yet. Add your first one.')));
  } catch (err) {
    replace(rows, h('tr', {}, h('td', { colspan: '5', class: 'notice error' }, sentence(err.message))));
  }
}

function editProduct(p) {
  const form = $('#product-form');
  form.hidden = false;
  form.reset();
  $('#product-form-title').textContent = p ? `Edit ${p.title}` : 'New product';
  form.elements.id.value = p ? p.id : '';
  if (p) {
    form.elements.title.value = p.title;
    form.elements.description.value = p.description;
    form.elements.price.value = toDecimal(p.price_minor, p.currency);
    form.elements.stock.value = p.stock;
    form.dataset.loadedStock = p.stock;
    form.elements.status.value = p.status;
    form.elements.hashtags.value = (p.hashtags || []).join(', ');
  }
  showImages(p);
  form.elements.title.focus();
}

function showImages(p) {
  replace($('#p-images'), (p?.images || []).map((img) => h('li', {},
    h('img', { src: img.url, alt: '' }),
    h('button', {
      type: 'button', class: 'small', 'aria-label': 'Remove this picture',
      on: {
        click: async () => {
          try {
            const updated = await del(`/products/${p.id}/images/${encodeURIComponent(img.name)}`);
            showImages(updated);
          } catch (err) {
            toast(sentence(err.message), 'error');
          }
        },
      },
    }, 'Remove'))));
}

function wireProductForm(shop) {
  const form = $('#product-form');
  $('#new-product').addEventListener('click', () => editProduct(null));
  $('#cancel-product').addEventListener('click', () => {
    form.hidden = true;
    $('#new-product').focus();
  });
  onSubmit(form, async (v) => {
    const price = parseMoney(v.price, shop.currency);
    if (Number.isNaN(price)) throw new Error(`Price: write an amount in ${shop.currency}, like ${toDecimal(1999, shop.currency)}.`);
    const body = {
      title: v.title.trim(), description: v.description.trim(), price_minor: price, status: v.status,
      hashtags: v.hashtags.split(',').map((t) => t.trim().replace(/^#/, '')).filter(Boolean),
    };
    // An edit sends the stock only when the seller changed it, and only
    // over the value the form loaded: units sold meanwhile are not undone.
    const stock = Number(v.stock);
    if (!v.id) body.stock = stock;
    else if (String(stock) !== form.dataset.loadedStock) {
      body.stock = stock;
      body.expected_stock = Number(form.dataset.loadedStock);
    }
    let p;
    try {
      p = v.id ? await patch(`/products/${v.id}`, body) : await post(`/shops/${shop.id}/products`, { ...body, currency: shop.currency });
    } catch (err) {
      if (err.code !== 'stock_changed') throw err;
      const now = await get(`/products/${v.id}`);
      form.dataset.loadedStock = now.stock;
      throw new Error(`Stock changed to ${now.stock} while you edited (units were sold or returned). Check the stock and save again.`);
    }
    form.elements.id.value = p.id;
    form.dataset.loadedStock = p.stock;
    const file = form.elements.image.files[0];
    if (file) {
      const data = new FormData();
      data.append('image', file);
      p = await api(`/products/${p.id}/images/upload`, { method: 'POST', body: data });
      form.elements.image.value = '';
    }
    showImages(p);
    $('#product-form-title').textContent = `Edit ${p.title}`;
    toast(`Saved ${p.title}`, 'ok');
    await loadProducts(shop);
  });
}

// --- Orders ------------------------------------------------------------------
async function loadOrders(shop) {
  const list = $('#shop-orders');
  const status = $('#order-filter').value;
  try {
    const { items } = await get(`/shops/${shop.id}/orders?limit=100${status ? `&status=${status}` : ''}`);
    replace(list, items.map((o) => orderRow(o, { seller: true, extra: sellerControls(o, () => loadOrders(shop)) })));
    $('#shop-orders-empty').hidden = items.length > 0;
  } catch (err) {
    showError(list, err);
  }
}

// --- Streams -----------------------------------------------------------------
async function loadStreams(shop) {
  const rows = $('#stream-rows');
  try {
    const { items } = await get(`/shops/${shop.id}/streams?limit=100`);
    replace(rows, items.map((s) => h('tr', { dataset: { streamId: s.id } },
      h('td', {}, s.title),
      h('td', {}, s.status === 'live' ? h('span', { class: 'badge live' }, 'LIVE') : s.status),
      h('td', {}, formatDate(s.started_at || s.scheduled_at)),
      h('td', {}, h('span', { class: 'button-row' },
        h('a', { href: `/watch/${s.id}` }, 'Watch'),
        s.status !== 'ended' ? h('a', { href: `/studio?stream=${s.id}` }, 'Studio') : null,
        h('a', { href: `/moderate/${s.id}` }, 'Moderate'))))));
    $('#streams-empty').hidden = items.length > 0;
  } catch (err) {
    replace(rows, h('tr', {}, h('td', { colspan: '4', class: 'notice error' }, sentence(err.message))));
  }
}

// --- Moderators ------------------------------------------------------------------
// Moderators are appointed by invitation: the seller invites an email
// address, and whoever signs in with it accepts. The page shows an email
// only where the seller typed it (the API never returns another).
async function loadModerators(shop) {
  await Promise.all([loadModeratorList(shop), loadInvitations(shop)]);
}

async function loadModeratorList(shop) {
  const list = $('#moderators');
  try {
    const mods = await get(`/shops/${shop.id}/moderators`);
    replace(list, mods.map((m) => h('li', { dataset: { accountId: m.account_id } },
      h('span', { class: 'grow' }, h('strong', { text: m.name }), m.email ? [' ', h('span', { class: 'hint', text: m.email })] : null),
      h('button', {
        type: 'button', class: 'small danger', 'aria-label': `Remove ${m.name} as moderator`,
        on: {
          click: async () => {
            try {
              await del(`/shops/${shop.id}/moderators/${m.account_id}`);
              toast(`${m.name} is no longer a moderator`, 'ok');
              await loadModeratorList(shop);
            } catch (err) {
              toast(sentence(err.message), 'error');
            }
          },
        },
      }, 'Remove'))));
    $('#moderators-empty').hidden = mods.length > 0;
  } catch (err) {
    showError(list, err);
  }
}

const invitationStates = {
  pending: (i) => `Waiting for an answer · expires ${formatDate(i.expires_at)}`,
  accepted: (i) => `Accepted ${formatDate(i.answered_at)}`,
  declined: (i) => `Declined ${formatDate(i.answered_at)}`,
  revoked: (i) => `Withdrawn ${formatDate(i.answered_at)}`,
  expired: (i) => `Expired ${formatDate(i.expires_at)}`,
};

async function loadInvitations(shop) {
  const list = $('#invitations');
  try {
    const { items } = await get(`/shops/${shop.id}/moderator-invitations?limit=50`);
    replace(list, items.map((i) => h('li', { dataset: { invitationId: i.id, status: i.status } },
      h('span', { class: 'grow' }, h('strong', { text: i.email }), ' ',
        h('span', { class: 'hint', text: (invitationStates[i.status] || (() => i.status))(i) })),
      i.status === 'pending' ? h('button', {
        type: 'button', class: 'small', 'aria-label': `Withdraw the invitation to ${i.email}`,
        on: {
          click: async () => {
            try {
              await del(`/shops/${shop.id}/moderator-invitations/${i.id}`);
              toast(`Invitation to ${i.email} withdrawn`, 'ok');
            } catch (err) {
              toast(sentence(err.message), 'error');
            }
            await loadModerators(shop);
          },
        },
      }, 'Withdraw') : null)));
    $('#invitations-empty').hidden = items.length > 0;
  } catch (err) {
    showError(list, err);
  }
}

function wireModerators(shop) {
  onSubmit($('#moderator-form'), async (v, form) => {
    const inv = await post(`/shops/${shop.id}/moderator-invitations`, { email: v.email.trim() });
    form.reset();
    toast(`Invitation sent to ${inv.email}`, 'ok');
    await loadInvitations(shop);
  });
}

// --- Start (after every declaration above: the top-level awaits would
// otherwise run code that reads a let or const not declared yet) ----------
await initPage();
const account = await requireAccount();
const currencies = await get('/currencies');
useExponents(currencies);

if (!account.shop) {
  // A moderator came to the header's "Sell" for their streams, not only
  // to open a shop: their consoles come first.
  if (account.moderates?.length) {
    $('#dashboard-moderating').hidden = false;
    replace($('#dash-moderated-shops'), await moderatedShops(account.moderates));
  }
  openShopForm({ focus: !account.moderates?.length });
} else {
  await showDashboard(account.shop);
}
ready();
