// settings.js — /settings: the account's profile, how the "just bought"
// ticker of live streams shows the viewer's purchases (their name or
// "Someone"), the shops they follow, and signing out everywhere.

import { get, put, patch } from '../api.js';
import { $, h, replace } from '../dom.js';
import { initPage, ready, onSubmit, toast, sentence, confirmAction } from '../ui.js';
import { requireAccount, signOut } from '../session.js';
import { thumb } from '../cards.js';
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
