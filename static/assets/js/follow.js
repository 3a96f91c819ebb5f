// follow.js — the Follow button of a shop, with its followers count. A
// follower hears on every open page when the shop goes live (see
// follow-alerts.js) and sees its live streams first. The state comes from
// GET /api/shops/{id}/follow (visitors get the count too); the button PUTs
// or DELETEs it, and sends a visitor to sign in first.

import { h, plural } from './dom.js';
import { get, put, del } from './api.js';
import { goSignIn } from './session.js';
import { toast, sentence } from './ui.js';

/**
 * followButton returns the button for shop {id, name}. account is the
 * signed-in viewer (null for a visitor); count, if given, is an element
 * that shows the followers; streamID credits a follow made while watching
 * to that stream in the seller's analytics.
 */
export function followButton(shop, { account, count = null, streamID = 0, className = 'small' } = {}) {
  const button = h('button', {
    type: 'button', class: ['follow', className], 'aria-pressed': 'false', 'aria-label': `Follow ${shop.name}`,
    'data-testid': 'follow', disabled: true,
  }, 'Follow');
  const show = (st) => {
    button.setAttribute('aria-pressed', String(st.following));
    button.textContent = st.following ? 'Following' : 'Follow';
    button.classList.toggle('primary', !st.following);
    button.disabled = false;
    if (count) count.textContent = plural(st.followers, 'follower');
  };
  get(`/shops/${shop.id}/follow`).then(show).catch(() => {
    button.disabled = false;
  });
  button.addEventListener('click', async () => {
    if (!account) {
      goSignIn();
      return;
    }
    const following = button.getAttribute('aria-pressed') === 'true';
    button.disabled = true;
    try {
      show(following
        ? await del(`/shops/${shop.id}/follow`)
        : await put(`/shops/${shop.id}/follow`, streamID ? { stream_id: streamID } : undefined));
      if (!following) toast(`You follow ${shop.name}. We will tell you when it goes live.`, 'ok');
    } catch (err) {
      toast(sentence(err.message), 'error');
      button.disabled = false;
    }
  });
  return button;
}
