// watch.js — /watch/:id, the viewer's page: the stream's video (WHEP) with
// the room on top — comments, hearts, the pinned product, the flash sale —
// and a checkout sheet that buys without leaving the stream.

import { get, post, ignoreApiError } from '../api.js';
import { $, h, replace, pathID } from '../dom.js';
import { formatMoney } from '../money.js';
import { initPage, ready, sentence, toast } from '../ui.js';
import { Room } from '../room.js';
import { Player } from '../whep.js';
import { CommentFeed } from '../comments.js';
import { SalePanel } from '../sale.js';
import { CheckoutSheet } from '../checkout.js';
import { thumb } from '../cards.js';
import { buyProduct, reserve, release, payReservation } from '../orders.js';
import { followButton } from '../follow.js';
import { shareButton } from '../share.js';

const streamID = pathID(1);
const account = await initPage();
const video = $('#video');
const status = $('#video-status');
const roomStatus = $('#room-status');

let stream = { id: streamID, status: 'scheduled' };
let me = null;

// --- Stream details (shop name and link) -------------------------------
get(`/streams/${streamID}`).then((s) => {
  stream = { ...stream, ...s };
  showStream();
  watch();
}).catch(ignoreApiError);

function showStream() {
  $('#stream-title').textContent = stream.title || 'Live stream';
  document.title = `${stream.title || 'Live'} · Liveshop`;
  const shop = $('#shop-link');
  shop.textContent = stream.shop_name || '';
  if (stream.shop_handle) shop.href = `/shop/${encodeURIComponent(stream.shop_handle)}`;
  $('#live-badge').hidden = stream.status !== 'live';
  const slot = $('#follow-slot');
  if (stream.shop_id && !slot.firstChild) {
    slot.append(followButton({ id: stream.shop_id, name: stream.shop_name || 'this shop' }, { account, streamID, className: 'small on-video' }));
  }
}

$('#share-slot').append(shareButton({ type: 'stream', id: streamID }, { className: 'icon-button', icon: svgIcon('share') }));

// --- Video ---------------------------------------------------------------
const statusText = {
  connecting: 'Connecting…',
  waiting: 'Waiting for the seller to go live…',
  reconnecting: 'Reconnecting…',
  playing: '',
  stopped: '',
};
const player = new Player(streamID, video, {
  onStatus(s, err) {
    if (stream.status === 'ended' && s !== 'playing') {
      status.textContent = 'This stream has ended.';
      return;
    }
    status.textContent = s === 'error' ? sentence(err?.message || 'Video unavailable; retrying.') : statusText[s] ?? '';
  },
});

/** watch plays the video once the stream is known to be live (from its
 * record or the room); before, the page waits for stream_started rather
 * than asking a stream that is not live, or has ended, for video. */
function watch() {
  if (stream.status === 'live' && player.status !== 'stopped') player.start();
  else if (stream.status !== 'ended') status.textContent = statusText.waiting;
}

const unmute = $('#unmute');
unmute.addEventListener('click', () => {
  video.muted = !video.muted;
  video.play().catch(() => {});
  unmute.setAttribute('aria-pressed', String(!video.muted));
  unmute.classList.toggle('on', !video.muted);
  replace(unmute,
    svgIcon(video.muted ? 'muted' : 'sound'),
    h('span', {}, video.muted ? 'Tap to unmute' : 'Mute'));
});

function svgIcon(name) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('aria-hidden', 'true');
  const use = document.createElementNS(ns, 'use');
  use.setAttribute('href', `/assets/img/icons.svg#${name}`);
  svg.append(use);
  return svg;
}

// --- Room --------------------------------------------------------------------
const room = new Room(streamID);
const feed = new CommentFeed($('#comments'), { max: 60 });
const sheet = new CheckoutSheet();
const sale = new SalePanel($('#sale'), { buy: (s) => openSaleCheckout(s) });
let pinned = null;

room.on('status', (s, detail) => {
  roomStatus.textContent = s === 'offline' ? 'Reconnecting to chat…' : s === 'closed' ? (detail || '') : '';
});
room.on('snapshot', (d) => {
  stream = { ...stream, ...d.stream };
  showStream();
  if (stream.status === 'ended') ended();
  else watch();
  me = d.me;
  if (!d.continues) feed.reset(d.comments);
  showPinned(d.pinned);
  sale.show(d.flash_sale);
  $('#viewer-count').textContent = d.viewers;
  $('#likes').textContent = d.likes;
  showMe();
  ready();
});
room.on('resumed', (d) => {
  me = d.me;
  showMe();
});
room.on('comment', (c) => feed.add(c));
room.on('comment_held', (c) => {
  if (me && c.user?.id === me.id) feed.add(c);
});
room.on('comment_removed', (d) => feed.remove(d.id));
room.on('pinned', (d) => showPinned(d.product));
room.on('unpinned', () => showPinned(null));
room.on('viewers', (d) => {
  $('#viewer-count').textContent = d.count;
});
room.on('likes', (d) => {
  $('#likes').textContent = d.total;
  for (let i = 0; i < Math.min(d.count, 6); i++) setTimeout(floatHeart, i * 120);
});
room.on('stream_started', () => {
  stream.status = 'live';
  showStream();
  player.restart();
  player.start();
});
room.on('stream_ended', () => {
  stream.status = 'ended';
  showStream();
  ended();
});

/** ended stops the video for good: an ended stream never comes back. */
function ended() {
  player.stop();
  status.textContent = 'This stream has ended.';
}
room.on('flash_sale_started', (s) => sale.show(s));
room.on('flash_sale_stock', (d) => {
  if (sale.sale?.id === d.id) sale.stock(d.remaining, d.sold_out);
});
room.on('flash_sale_ended', (d) => {
  if (sale.sale?.id === d.id) sale.end(d.reason);
});
room.on('purchase', (d) => {
  const item = h('span', { class: 'ticker-item' }, `${d.buyer} just bought ${d.product_title}`);
  replace($('#ticker'), item);
  setTimeout(() => item.remove(), 5000);
});
room.on('slow_mode', (d) => {
  roomStatus.textContent = d.seconds ? `Slow mode: one comment every ${d.seconds}s.` : '';
});
room.on('muted', (d) => {
  if (me && d.user_id === me.id) {
    me.muted_until = d.until;
    showMe();
  }
});
room.on('banned', (d) => {
  if (me && d.user_id === me.id) {
    me.banned = true;
    showMe();
  }
});
room.on('error', (d) => {
  roomStatus.textContent = sentence(d.message);
});
room.start();

function showMe() {
  const signedIn = Boolean(account);
  $('#comment-form').hidden = !signedIn || Boolean(me?.banned);
  $('#sign-in-to-chat').hidden = signedIn;
  $('#sign-in-link').href = `/login?next=${encodeURIComponent(location.pathname)}`;
  const muted = me?.muted_until && new Date(me.muted_until) > new Date();
  if (me?.banned) roomStatus.textContent = 'You are banned from this shop\u2019s chat.';
  else if (muted) roomStatus.textContent = `You are muted until ${new Date(me.muted_until).toLocaleTimeString()}.`;
  else if (/muted/.test(roomStatus.textContent)) roomStatus.textContent = '';
}

// --- Comments and hearts ---------------------------------------------------
$('#comment-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const input = $('#comment-text');
  const text = input.value.trim();
  if (!text) return;
  input.value = '';
  try {
    const c = await room.comment(text);
    if (c) feed.add(c);
    roomStatus.textContent = '';
  } catch (err) {
    roomStatus.textContent = sentence(err.message);
    if (!input.value) input.value = text;
  }
});

let pendingLikes = 0;
let likeTimer = null;
$('#like').addEventListener('click', () => {
  if (!account) {
    location.assign(`/login?next=${encodeURIComponent(location.pathname)}`);
    return;
  }
  floatHeart();
  pendingLikes++;
  // Taps are batched: one command per burst, not one per tap.
  likeTimer ??= setTimeout(() => {
    const n = Math.min(pendingLikes, 50);
    pendingLikes = 0;
    likeTimer = null;
    room.like(n).catch((err) => {
      roomStatus.textContent = sentence(err.message);
    });
  }, 400);
});

let heartN = 0;
function floatHeart() {
  const box = $('#hearts');
  if (box.childElementCount > 30) return;
  heartN++;
  const el = h('span', { class: ['float-heart', `d${heartN % 4}`, heartN % 3 === 0 && 'alt'] }, svgIcon('heart'));
  el.addEventListener('animationend', () => el.remove());
  box.append(el);
}

// --- Pinned product and buying ------------------------------------------------
function showPinned(p) {
  pinned = p;
  const box = $('#pinned');
  if (!p) {
    box.hidden = true;
    replace(box);
    return;
  }
  replace(box, h('div', { class: 'pinned-card', 'data-testid': 'pinned-card' },
    thumb(p.image_url, p.title),
    h('div', { class: 'info' },
      h('a', { class: 'title', href: `/product/${p.id}?from=live_card`, target: '_blank', rel: 'noopener', on: { click: () => cardClicked(p) } }, p.title),
      h('span', { class: 'price' }, formatMoney(p.price_minor, p.currency)),
      h('span', { class: 'meta' }, p.stock > 0 ? `${p.stock} in stock` : 'Sold out')),
    h('button', { type: 'button', class: 'primary buy-pinned', disabled: p.stock <= 0, on: { click: () => { cardClicked(p); openProductCheckout(p); } } }, 'Buy now')));
  box.hidden = false;
}

// cardClicked tells discovery a live card was clicked (credited to this
// stream in the seller's analytics); it never blocks the viewer.
function cardClicked(p) {
  post('/interactions', { events: [{ type: 'product_clicked', product_id: p.id, stream_id: streamID, source: 'live_card' }] }).catch(() => {});
}

function needAccount() {
  if (account) return false;
  location.assign(`/login?next=${encodeURIComponent(location.pathname)}`);
  return true;
}

/** openProductCheckout buys the pinned product now, without the cart. */
function openProductCheckout(p) {
  if (needAccount()) return;
  sheet.open({ ...p, maxQuantity: Math.max(1, Math.min(p.stock, 10)) },
    (v, key) => buyProduct({ product: p, shopID: stream.shop_id, streamID, quantity: v.quantity, address: v.address, card: v.card, coupon: v.coupon, key }),
    { coupon: checkCoupon, returnFocus: () => $('#pinned button.buy-pinned') });
}

/** checkCoupon asks whether a live coupon works in this stream now. */
function checkCoupon(code) {
  return get(`/streams/${streamID}/coupons/${encodeURIComponent(code)}`);
}

/** openSaleCheckout reserves a unit at once (the sale is a race), then
 * lets the buyer pay for it while the reservation holds. */
async function openSaleCheckout(s) {
  if (needAccount()) return;
  let r;
  try {
    r = await reserve(s.id, 1);
  } catch (err) {
    toast(sentence(err.message), 'error');
    return;
  }
  sale.stock(r.remaining, r.sold_out);
  const until = new Date(r.reservation.expires_at).toLocaleTimeString();
  sheet.open({ ...s, quantity: r.reservation.quantity, note: `Flash sale · held for you until ${until}` },
    (v, key) => payReservation({ saleID: s.id, reservationID: r.reservation.id, address: v.address, card: v.card, coupon: v.coupon, key }),
    {
      cancelled: () => release(s.id, r.reservation.id),
      coupon: checkCoupon,
      returnFocus: () => $('#sale button.buy-sale'),
    });
}

// A handle for the browser console and the end-to-end tests.
window.liveshop = { room, player, feed };
