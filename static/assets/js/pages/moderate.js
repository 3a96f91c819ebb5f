// moderate.js — /moderate/:id, the moderator console of one stream: the
// live comment feed with Remove / Mute / Ban, slow mode, blocked words, the
// held-for-review queue, active mutes and bans, and the audit log.

import { get, post, del } from '../api.js';
import { $, h, replace, pathID, formatDate } from '../dom.js';
import { initPage, ready, onSubmit, showError, sentence, toast } from '../ui.js';
import { requireAccount } from '../session.js';
import { Room } from '../room.js';
import { CommentFeed } from '../comments.js';
import { Moderation, button } from '../moderation.js';

const streamID = pathID(1);
await initPage();
const account = await requireAccount();

const names = new Map(); // user id → name, learnt from comments
const room = new Room(streamID);
let mod = null;
let me = null;

const muteMinutes = () => Number($('#mute-minutes').value);
const feed = new CommentFeed($('#feed'), { max: 300, newestFirst: true, follow: false, empty: $('#feed-empty') });
const held = new CommentFeed($('#held'), {
  max: 300, newestFirst: true, follow: false, empty: $('#held-empty'),
  actions: (c) => [
    button('Approve', `Approve comment by ${c.user?.name}`, 'approve', () => mod.approve(c.id).then(() => dropHeld(c.id)), 'Comment approved'),
    button('Reject', `Reject comment by ${c.user?.name}`, 'reject', () => mod.reject(c.id).then(() => dropHeld(c.id)), 'Comment rejected'),
  ],
});

function dropHeld(id) {
  held.remove(id);
  $('#held-count').textContent = held.items.size;
}

function learn(c) {
  if (c?.user) names.set(c.user.id, c.user.name);
}

const state = $('#room-state');
room.on('status', (s, detail) => {
  state.textContent = { connecting: 'Connecting…', live: 'Connected', offline: 'Reconnecting…', closed: detail || 'Disconnected' }[s] || s;
});

room.on('snapshot', async (d) => {
  me = d.me;
  if (!['moderator', 'seller', 'admin'].includes(d.me.role)) {
    room.stop();
    replace($('main'), h('section', { class: 'auth-panel' },
      h('h1', {}, 'Not a moderator'),
      h('p', {}, `You are signed in as ${account.name}, who does not moderate this shop's streams.`),
      h('a', { href: '/' }, 'Back to Liveshop')));
    ready();
    return;
  }
  const first = !mod;
  mod = new Moderation(streamID, d.stream.shop_id);
  $('#stream-name').textContent = d.stream.title;
  $('#console-title').textContent = `Moderating: ${d.stream.title}`;
  document.title = `Moderate ${d.stream.title} · Liveshop`;
  $('#watch-link').href = `/watch/${streamID}`;
  $('#slow-mode').value = String(d.slow_mode || 0);
  feed.actions = mod.commentActions({
    muteMinutes, me,
    after: () => {
      loadRestrictions();
      refreshAudit();
    },
  });
  if (!d.continues) {
    feed.reset(d.comments);
    d.comments.forEach(learn);
  }
  if (first) {
    await Promise.all([loadHeld(), loadWords(), loadRestrictions(), loadAudit()]);
    // Other moderators' mutes and bans are not announced to this console.
    setInterval(() => {
      loadRestrictions();
      loadAudit();
    }, 15_000);
    ready();
  }
});
room.on('comment', (c) => {
  learn(c);
  feed.add(c);
  dropHeld(c.id); // an approved comment leaves the queue everywhere
});
room.on('comment_held', (c) => {
  learn(c);
  held.add(c);
  $('#held-count').textContent = held.items.size;
});
room.on('comment_removed', (d) => {
  feed.remove(d.id);
  dropHeld(d.id);
  refreshAudit();
});
room.on('muted', () => {
  loadRestrictions();
  refreshAudit();
});
room.on('banned', () => {
  loadRestrictions();
  refreshAudit();
});
room.on('slow_mode', (d) => {
  $('#slow-mode').value = String(d.seconds);
  refreshAudit();
});
room.start();

$('#slow-mode').addEventListener('change', async (ev) => {
  try {
    await mod.slowMode(Number(ev.target.value));
    toast(Number(ev.target.value) ? `Slow mode: ${ev.target.selectedOptions[0].textContent}` : 'Slow mode off', 'ok');
  } catch (err) {
    toast(sentence(err.message), 'error');
  }
});

// --- Held for review -------------------------------------------------------
async function loadHeld() {
  try {
    const { comments } = await get(`/streams/${streamID}/comments?status=held&limit=200`);
    comments.forEach(learn);
    held.reset(comments.reverse());
    $('#held-count').textContent = held.items.size;
  } catch (err) {
    showError($('#held'), err);
  }
}

// --- Blocked words ------------------------------------------------------------
async function loadWords() {
  try {
    const { words } = await get(`/shops/${mod.shopID}/blocked-words`);
    replace($('#words'), words.map((w) => h('li', {},
      h('span', {}, w),
      button('×', `Unblock ${w}`, 'unblock', () => del(`/shops/${mod.shopID}/blocked-words/${encodeURIComponent(w)}`).then(loadWords)))));
    $('#words-empty').hidden = words.length > 0;
  } catch (err) {
    showError($('#words'), err);
  }
}

onSubmit($('#word-form'), async (v, form) => {
  await post(`/shops/${mod.shopID}/blocked-words`, { word: v.word.trim() });
  form.reset();
  await loadWords();
  refreshAudit();
});

// --- Mutes and bans -----------------------------------------------------------
async function loadRestrictions() {
  if (!mod) return;
  try {
    const { restrictions } = await get(`/shops/${mod.shopID}/restrictions`);
    replace($('#restrictions'), restrictions.map((r) => {
      const who = names.get(r.user_id) || `User #${r.user_id}`;
      return h('li', { dataset: { userId: r.user_id } },
        h('span', { class: 'grow' }, h('strong', {}, who), ' ',
          r.banned ? h('span', { class: 'badge warn' }, 'banned') : null, ' ',
          r.muted_until ? h('span', { class: 'hint' }, `muted until ${formatDate(r.muted_until)}`) : null),
        r.muted_until ? button('Unmute', `Unmute ${who}`, 'unmute', () => mod.unmute(r.user_id).then(afterRestriction), `${who} unmuted`) : null,
        r.banned ? button('Unban', `Unban ${who}`, 'unban', () => mod.unban(r.user_id).then(afterRestriction), `${who} unbanned`) : null);
    }));
    $('#restrictions-empty').hidden = restrictions.length > 0;
  } catch (err) {
    showError($('#restrictions'), err);
  }
}

function afterRestriction() {
  loadRestrictions();
  refreshAudit();
}

// --- Audit log --------------------------------------------------------------------
// How each audited action reads, with the affected user after it.
const actionNames = {
  remove_comment: 'removed a comment by', approve_comment: 'approved a comment by', reject_comment: 'rejected a comment by',
  mute: 'muted', unmute: 'unmuted', ban: 'banned', unban: 'unbanned', slow_mode: 'set slow mode',
  add_blocked_word: 'blocked a word', remove_blocked_word: 'unblocked a word', pin: 'pinned a product', unpin: 'unpinned the product',
  denied: 'was refused',
};

async function loadAudit() {
  if (!mod) return;
  try {
    const { entries } = await get(`/shops/${mod.shopID}/moderation/audit?limit=100`);
    replace($('#audit'), entries.length
      ? entries.map((e) => h('tr', {},
        h('td', {}, formatDate(e.at)),
        h('td', {}, e.actor_name || `#${e.actor_id}`),
        h('td', {}, actionNames[e.action] || e.action.replaceAll('_', ' '),
          e.target_id ? ` ${names.get(e.target_id) || `user #${e.target_id}`}` : ''),
        h('td', {}, e.detail || '')))
      : h('tr', {}, h('td', { colspan: '4', class: 'empty' }, 'No moderation yet.')));
  } catch (err) {
    replace($('#audit'), h('tr', {}, h('td', { colspan: '4', class: 'notice error' }, sentence(err.message))));
  }
}

let auditTimer = null;
/** refreshAudit reloads the log once after a burst of actions. */
function refreshAudit() {
  clearTimeout(auditTimer);
  auditTimer = setTimeout(loadAudit, 300);
}

window.liveshop = { room, feed, held };
