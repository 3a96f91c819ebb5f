// studio.js — /studio, where a seller goes live: pick or create a stream,
// preview camera and microphone (with device pickers), go live over WHIP
// and end; the product line-up with Pin/Unpin; flash sales with their stock
// falling live; live coupons with their uses; the comments with
// moderation buttons; and live counters.

import { get, post, patch, ignoreApiError } from '../api.js';
import { $, $$, h, replace } from '../dom.js';
import { formatMoney, parseMoney, toDecimal, useExponents } from '../money.js';
import { initPage, ready, onSubmit, toast, sentence } from '../ui.js';
import { requireAccount } from '../session.js';
import { Room } from '../room.js';
import { Camera } from '../media.js';
import { Publisher } from '../whip.js';
import { CommentFeed } from '../comments.js';
import { SalePanel } from '../sale.js';
import { Moderation } from '../moderation.js';
import { imageOf, thumb } from '../cards.js';
import { CouponPanel } from '../coupons.js';

await initPage();
const account = await requireAccount();

const state = {
  shop: account.shop,
  streams: [],
  stream: null,
  products: [],
  room: null,
  publisher: null,
  pinned: 0,
};
const camera = new Camera($('#preview'), {
  onChange: (media) => {
    state.publisher?.replaceTrack(media.getVideoTracks()[0]);
    state.publisher?.replaceTrack(media.getAudioTracks()[0]);
  },
});
const feed = new CommentFeed($('#chat'), { max: 200, newestFirst: true, follow: false, empty: $('#chat-empty') });
const salePanel = new SalePanel($('#studio-sale'));
let coupons = null; // a CouponPanel once the shop's currency is known

// --- Streams ------------------------------------------------------------------
async function loadStreams() {
  const { items } = await get(`/shops/${state.shop.id}/streams?limit=100`);
  state.streams = items.filter((s) => s.status !== 'ended');
  const select = $('#stream-select');
  replace(select,
    state.streams.map((s) => h('option', { value: String(s.id) }, `${s.title}${s.status === 'live' ? ' (live)' : ''}`)),
    h('option', { value: 'new' }, 'New stream…'));
  if (state.stream) select.value = String(state.stream.id);
  $('#stream-picker').hidden = false;
}

async function selectStream(id) {
  state.room?.stop();
  state.stream = await get(`/streams/${id}`);
  $('#stream-select').value = String(id);
  $('#new-stream-form').hidden = true;
  $('#studio').hidden = false;
  history.replaceState(null, '', `/studio?stream=${id}`);
  replace($('#studio-links'),
    h('a', { href: `/watch/${id}`, target: '_blank', rel: 'noopener' }, 'Watch page'), ' · ',
    h('a', { href: `/moderate/${id}`, target: '_blank', rel: 'noopener' }, 'Moderator console'));
  showLive(state.stream.status === 'live', false);
  renderLineup();
  connectRoom(id);
  coupons?.show(id);
}

function showNewStreamForm() {
  $('#new-stream-form').hidden = false;
  $('#studio').hidden = true;
  $('#new-stream-title').focus();
}

// --- Room: comments, counters, pins, sales -------------------------------------
function connectRoom(id) {
  const room = new Room(id);
  state.room = room;
  const mod = new Moderation(id, state.shop.id);
  feed.actions = mod.commentActions({ me: account });
  room.on('snapshot', (d) => {
    if (!d.continues) feed.reset(d.comments);
    setPinned(d.pinned?.id || 0);
    salePanel.show(d.flash_sale);
    $('#stop-sale-row').hidden = !d.flash_sale;
    $('#count-viewers').textContent = d.viewers;
    $('#count-likes').textContent = d.likes;
    if (d.stream.status === 'live') showLive(true, Boolean(state.publisher));
  });
  room.on('comment', (c) => feed.add(c));
  room.on('comment_held', (c) => feed.add(c));
  room.on('comment_removed', (d) => feed.remove(d.id));
  room.on('viewers', (d) => ($('#count-viewers').textContent = d.count));
  room.on('likes', (d) => ($('#count-likes').textContent = d.total));
  room.on('pinned', (d) => setPinned(d.product.id));
  room.on('unpinned', () => setPinned(0));
  room.on('stream_started', () => showLive(true, Boolean(state.publisher)));
  room.on('stream_ended', () => showLive(false, false));
  room.on('flash_sale_started', (s) => {
    salePanel.show(s);
    $('#stop-sale-row').hidden = false;
  });
  room.on('flash_sale_stock', (d) => {
    if (salePanel.sale?.id === d.id) salePanel.stock(d.remaining, d.sold_out);
  });
  room.on('flash_sale_ended', (d) => {
    if (salePanel.sale?.id === d.id) salePanel.end(d.reason);
    $('#stop-sale-row').hidden = true;
    loadProducts();
  });
  room.on('purchase', () => refreshSales());
  room.start();
  refreshSales();
}

// --- Camera and going live ----------------------------------------------------
async function startCamera() {
  $('#camera-error').textContent = '';
  try {
    await camera.open();
    await camera.fillPickers($('#video-device'), $('#audio-device'));
    $('#camera-on').hidden = true;
  } catch (err) {
    $('#camera-error').textContent = `Camera unavailable: ${err.message}`;
    $('#camera-on').hidden = false;
  }
}

async function switchDevices() {
  try {
    await camera.use($('#video-device').value, $('#audio-device').value);
  } catch (err) {
    toast(`Cannot use that device: ${err.message}`, 'error');
  }
}

function keyName(id) {
  return `liveshop.streamkey.${id}`;
}

/** streamKey returns the stream's publish key: the one shown at creation
 * (kept for this browser session), or a fresh one. Rotating invalidates
 * the previous key, which matters only to an encoder such as OBS. */
async function streamKey(id, fresh = false) {
  let key = fresh ? null : sessionStorage.getItem(keyName(id));
  if (!key) {
    key = (await post(`/streams/${id}/key`)).stream_key;
    sessionStorage.setItem(keyName(id), key);
  }
  return key;
}

async function goLive() {
  const id = state.stream.id;
  const button = $('#go-live');
  button.disabled = true;
  try {
    if (!camera.stream) await startCamera();
    if (!camera.stream) return;
    const start = async (key) => {
      const p = new Publisher(id, key, { onState: publisherState });
      await p.start(camera.stream);
      return p;
    };
    try {
      state.publisher = await start(await streamKey(id));
    } catch (err) {
      if (err.status !== 401) throw err;
      state.publisher = await start(await streamKey(id, true)); // the kept key was rotated elsewhere
    }
    showLive(true, true);
  } catch (err) {
    toast(`Could not go live: ${sentence(err.message)}`, 'error');
    publisherState('closed');
  } finally {
    button.disabled = false;
  }
}

// publisherState shows the publisher's state; a failure the publisher gave
// up on comes with the reason (stream ended, key rotated...), shown as text.
function publisherState(s, err) {
  const label = { connecting: 'Connecting…', connected: 'On air', reconnecting: 'Reconnecting…', failed: 'Connection failed', closed: 'Off air' }[s];
  if (label) $('#live-state').textContent = s === 'failed' && err?.message ? err.message : label;
  $('#live-state').classList.toggle('on', s === 'connected');
  $('#on-air').hidden = s !== 'connected';
}

function showLive(live, publishing) {
  $('#go-live').hidden = publishing;
  $('#end-stream').hidden = !(publishing || live);
  $('#stream-select').disabled = publishing;
  $('#start-sale').disabled = !live;
  if (!publishing) {
    publisherState('closed');
    // Live without this page publishing: another encoder, or this page
    // before a reload (Go live again continues the same stream).
    if (live) $('#live-state').textContent = 'Live, not from this page';
  }
}

async function endStream() {
  if (!window.confirm('End this stream for everyone? It cannot go live again.')) return;
  try {
    await state.publisher?.stop();
    state.publisher = null;
    await post(`/streams/${state.stream.id}/end`);
    toast('Stream ended', 'ok');
    showLive(false, false);
    await loadStreams();
    const next = state.streams[0];
    if (next) await selectStream(next.id);
    else showNewStreamForm();
  } catch (err) {
    toast(sentence(err.message), 'error');
  }
}

// --- Line-up and pins -----------------------------------------------------------
async function loadProducts() {
  const { items } = await get(`/shops/${state.shop.id}/products?limit=100`);
  state.products = items;
  if (state.stream) renderLineup();
}

function productByID(id) {
  return state.products.find((p) => p.id === id);
}

function setPinned(id) {
  state.pinned = id;
  renderLineup();
}

function renderLineup() {
  if (!state.stream) return;
  const ids = state.stream.product_ids || [];
  const list = ids.map(productByID).filter(Boolean);
  replace($('#lineup'), list.map((p) => {
    const pinned = p.id === state.pinned;
    return h('li', { class: pinned && 'is-pinned', dataset: { productId: p.id } },
      thumb(imageOf(p), p.title),
      h('div', { class: 'info' },
        h('span', { class: 'title' }, p.title),
        h('span', { class: 'meta' }, `${formatMoney(p.price_minor, p.currency)} · ${p.stock} in stock`)),
      h('button', {
        type: 'button', class: ['small', pinned ? null : 'primary'], 'aria-pressed': String(pinned),
        'aria-label': `${pinned ? 'Unpin' : 'Pin'} ${p.title}`, dataset: { action: pinned ? 'unpin' : 'pin' },
        on: { click: () => pin(pinned ? 0 : p.id) },
      }, pinned ? 'Unpin' : 'Pin'),
      h('button', { type: 'button', class: 'small', 'aria-label': `Remove ${p.title} from the line-up`, on: { click: () => setLineup(ids.filter((x) => x !== p.id)) } }, '×'));
  }));
  $('#lineup-empty').hidden = list.length > 0;
  const others = state.products.filter((p) => !ids.includes(p.id));
  replace($('#lineup-add'), others.map((p) => h('option', { value: String(p.id) }, p.title)));
  $('#lineup-form').hidden = others.length === 0;
  const saleSelect = $('#sale-product');
  const chosen = saleSelect.value;
  const saleChoices = [...list, ...others];
  replace(saleSelect, saleChoices.map((p) => h('option', { value: String(p.id) }, `${p.title} (${formatMoney(p.price_minor, p.currency)})`)));
  if (chosen && saleChoices.some((p) => String(p.id) === chosen)) saleSelect.value = chosen;
  suggestSalePrice();
}

async function setLineup(ids) {
  try {
    state.stream = await patch(`/streams/${state.stream.id}`, { product_ids: ids });
    renderLineup();
  } catch (err) {
    toast(sentence(err.message), 'error');
  }
}

async function pin(productID) {
  try {
    await state.room.send(productID ? { type: 'pin', product_id: productID } : { type: 'unpin' });
  } catch (err) {
    toast(sentence(err.message), 'error');
  }
}

// --- Flash sales and counters ------------------------------------------------------
function suggestSalePrice() {
  const p = productByID(Number($('#sale-product').value));
  const price = $('#sale-price');
  if (p && !price.dataset.touched) price.value = toDecimal(Math.round(p.price_minor * 0.7), p.currency);
}

let salesTimer = null;
/** refreshSales recounts the stream's orders, revenue and coupon uses
 * (after a purchase event, at most every second, and every 15 seconds
 * anyway: not every order makes an event). */
function refreshSales() {
  clearTimeout(salesTimer);
  salesTimer = setTimeout(async () => {
    coupons?.refresh();
    try {
      const { items } = await get(`/shops/${state.shop.id}/orders?limit=100`);
      const counted = items.filter((o) => o.stream_id === state.stream.id && ['paid', 'shipped', 'delivered'].includes(o.status));
      $('#count-orders').textContent = counted.length;
      $('#count-revenue').textContent = formatMoney(counted.reduce((n, o) => n + o.total_minor, 0), state.shop.currency);
    } catch (err) {
      ignoreApiError(err); // counters catch up on the next refresh
    }
    salesTimer = setTimeout(refreshSales, 15_000);
  }, 1000);
}

// --- Wiring ---------------------------------------------------------------------------
function wire() {
  $('#stream-select').addEventListener('change', (ev) => {
    if (ev.target.value === 'new') showNewStreamForm();
    else selectStream(Number(ev.target.value));
  });
  $('#cancel-new-stream').addEventListener('click', () => {
    if (!state.stream) return;
    $('#new-stream-form').hidden = true;
    $('#studio').hidden = false;
    $('#stream-select').value = String(state.stream.id);
  });
  onSubmit($('#new-stream-form'), async (v, form) => {
    const s = await post(`/shops/${state.shop.id}/streams`, { title: v.title.trim(), description: v.description.trim() });
    sessionStorage.setItem(keyName(s.id), s.stream_key);
    form.reset();
    await loadStreams();
    await selectStream(s.id);
  });
  $('#camera-on').addEventListener('click', startCamera);
  $('#video-device').addEventListener('change', switchDevices);
  $('#audio-device').addEventListener('change', switchDevices);
  $('#go-live').addEventListener('click', goLive);
  $('#end-stream').addEventListener('click', endStream);
  onSubmit($('#lineup-form'), async (v) => {
    await setLineup([...(state.stream.product_ids || []), Number(v.product)]);
  });
  $('#sale-product').addEventListener('change', () => {
    delete $('#sale-price').dataset.touched;
    suggestSalePrice();
  });
  $('#sale-price').addEventListener('input', (ev) => (ev.target.dataset.touched = '1'));
  onSubmit($('#sale-form'), async (v) => {
    const price = parseMoney(v.price, state.shop.currency);
    if (Number.isNaN(price)) throw new Error(`Sale price: write an amount in ${state.shop.currency}.`);
    const sale = await post(`/streams/${state.stream.id}/flash-sales`, {
      product_id: Number(v.product), price_minor: price, quantity: Number(v.quantity),
      per_buyer_limit: Number(v.limit), duration_s: Number(v.duration), countdown_s: 0,
    });
    salePanel.show(sale);
    $('#stop-sale-row').hidden = false;
    toast('Flash sale started', 'ok');
  });
  $('#stop-sale').addEventListener('click', async () => {
    if (!salePanel.sale) return;
    try {
      await post(`/flash-sales/${salePanel.sale.id}/stop`);
    } catch (err) {
      toast(sentence(err.message), 'error');
    }
  });
}

// A handle for the browser console and the end-to-end tests.
window.liveshop = { state, camera, feed };

// --- Start (after every declaration above) ---------------------------------
if (!state.shop) {
  $('#no-shop').hidden = false;
} else {
  useExponents(await get('/currencies'));
  $$('.currency-code').forEach((el) => (el.textContent = state.shop.currency));
  coupons = new CouponPanel($('#coupon-form'), $('#coupons'), $('#coupons-empty'), { currency: state.shop.currency });
  await Promise.all([loadStreams(), loadProducts()]);
  wire();
  const wanted = Number(new URLSearchParams(location.search).get('stream'));
  const first = state.streams.find((s) => s.id === wanted) || state.streams.find((s) => s.status === 'live') || state.streams[0];
  if (first) await selectStream(first.id);
  else showNewStreamForm();
  startCamera();
}
ready();
