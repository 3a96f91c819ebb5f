// settings.js — /settings: the account's profile, moderator invitations
// (accept or decline) and the shops the account moderates, how the "just
// bought" ticker of live streams shows the viewer's purchases (their name
// or "Someone"), the shops they follow, and signing out everywhere.

import { get, put, patch, post } from '../api.js';
import { $, h, replace, formatDate } from '../dom.js';
import { initPage, ready, onSubmit, toast, sentence, confirmAction, showModerateLink } from '../ui.js';
import { requireAccount, signOut } from '../session.js';
import { thumb } from '../cards.js';
import { moderatedShops } from '../moderating.js';
import { followButton } from '../follow.js';

await initPage();
const account = await requireAccount();
$('#settings-name').textContent = account.name;
$('#settings-email').textContent = account.email;
$('#new-name').value = account.name;

// --- Display name ----------------------------------------------------------------
onSubmit($('#profile-form'), async (v) => {
  $('#profile-saved').textContent = '';
  const me = await patch('/me', { name: v.name });
  $('#settings-name').textContent = me.name;
  $('#profile-saved').textContent = 'Saved.';
});

// --- Moderator invitations -----------------------------------------------------
async function loadInvitations() {
  const list = $('#invitations');
  try {
    const { items } = await get('/me/moderator-invitations');
    replace(list, items.map((i) => h('li', { dataset: { invitationId: i.id } },
      thumb(i.shop.logo_url || '', i.shop.name, 'avatar'),
      h('span', { class: 'grow' },
        h('a', { href: `/shop/${encodeURIComponent(i.shop.handle)}`, text: i.shop.name }), ' ',
        h('span', { class: 'hint', text: `invites you to moderate · expires ${formatDate(i.expires_at)}` })),
      h('button', { type: 'button', class: 'small primary', 'aria-label': `Accept the invitation of ${i.shop.name}`, on: { click: () => answer(i, 'accept') } }, 'Accept'),
      h('button', { type: 'button', class: 'small', 'aria-label': `Decline the invitation of ${i.shop.name}`, on: { click: () => answer(i, 'decline') } }, 'Decline'))));
    $('#invitations-empty').hidden = items.length > 0;
    if (!items.length) document.querySelector('[data-testid="invitations-link"]')?.remove();
  } catch (err) {
    replace(list, h('li', { class: 'notice error' }, sentence(err.message)));
  }
}

async function answer(invitation, verb) {
  try {
    await post(`/me/moderator-invitations/${invitation.id}/${verb}`);
    toast(verb === 'accept' ? `You now moderate ${invitation.shop.name}` : `Declined the invitation of ${invitation.shop.name}`, 'ok');
  } catch (err) {
    toast(sentence(err.message), 'error'); // withdrawn or expired meanwhile: the reload drops it
  }
  try {
    await Promise.all([loadInvitations(), get('/me').then((me) => {
      showModerateLink(me);
      return loadModerated(me);
    })]);
  } catch (err) {
    toast(sentence(err.message), 'error');
  }
}

// --- Shops the account moderates ---------------------------------------------------
// Each with its live and upcoming streams, whose moderator consoles the
// account may open; the header's "Moderate" leads here (#moderating).
async function loadModerated(me) {
  $('#moderating').hidden = me.moderates.length === 0;
  replace($('#moderated-shops'), await moderatedShops(me.moderates));
}

await Promise.all([loadInvitations(), loadModerated(account)]);
// The header's links lead to a section: focus it, also when the page is
// open already and only the hash changes.
const focusSection = () => {
  if (['#moderator-invitations', '#moderating'].includes(location.hash)) $(location.hash).focus();
};
focusSection();
window.addEventListener('hashchange', focusSection);

// --- Purchase privacy ---------------------------------------------------------
const saved = $('#privacy-saved');
function showPrivacy(p) {
  $(p.show_name_in_purchases ? '#privacy-name' : '#privacy-anonymous').checked = true;
}
try {
  showPrivacy(await get('/me/purchase-privacy'));
} catch (err) {
  $('#privacy-form .form-error').textContent = sentence(err.message);
}
onSubmit($('#privacy-form'), async (v) => {
  saved.textContent = '';
  showPrivacy(await put('/me/purchase-privacy', { show_name_in_purchases: v.show === 'name' }));
  saved.textContent = v.show === 'name' ? 'Saved: the ticker shows your name.' : 'Saved: the ticker says “Someone”.';
});

// --- Follows -------------------------------------------------------------------
try {
  const { items } = await get('/me/following?limit=100');
  replace($('#following'), items.map((s) => {
    const shop = { id: s.shop_id, name: s.name };
    return h('li', { dataset: { shopId: s.shop_id } },
      thumb(s.logo_url || '', s.name, 'avatar'),
      h('a', { class: 'grow', href: `/shop/${encodeURIComponent(s.handle)}` }, s.name),
      s.live_stream_id ? h('a', { class: 'badge live', href: `/watch/${s.live_stream_id}`, 'aria-label': `Watch ${s.name} live` }, 'LIVE') : null,
      followButton(shop, { account }));
  }));
  $('#following-empty').hidden = items.length > 0;
} catch (err) {
  replace($('#following'), h('li', { class: 'notice error' }, sentence(err.message)));
}

// --- Sessions ------------------------------------------------------------------
$('#logout-all').addEventListener('click', async () => {
  if (!confirmAction('Sign out on every device, this one too?')) return;
  try {
    await signOut({ everywhere: true });
  } catch (err) {
    toast(sentence(err.message), 'error');
  }
});
ready();
