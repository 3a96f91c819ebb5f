// moderation.js — the moderation calls and the per-comment buttons that the
// moderator console and the seller studio share.

import { post, put, del } from './api.js';
import { h } from './dom.js';
import { toast, sentence } from './ui.js';

/** Moderation talks to one stream's room and its shop's restrictions. */
export class Moderation {
  constructor(streamID, shopID) {
    this.streamID = streamID;
    this.shopID = shopID;
  }

  remove(commentID) {
    return del(`/streams/${this.streamID}/comments/${commentID}`);
  }

  approve(commentID) {
    return post(`/streams/${this.streamID}/comments/${commentID}/approve`);
  }

  reject(commentID) {
    return post(`/streams/${this.streamID}/comments/${commentID}/reject`);
  }

  mute(userID, minutes) {
    return post(`/shops/${this.shopID}/mutes`, { user_id: userID, minutes, stream_id: this.streamID });
  }

  unmute(userID) {
    return del(`/shops/${this.shopID}/mutes/${userID}?stream_id=${this.streamID}`);
  }

  ban(userID) {
    return post(`/shops/${this.shopID}/bans`, { user_id: userID, stream_id: this.streamID });
  }

  unban(userID) {
    return del(`/shops/${this.shopID}/bans/${userID}?stream_id=${this.streamID}`);
  }

  slowMode(seconds) {
    return put(`/streams/${this.streamID}/slow-mode`, { seconds });
  }

  /**
   * commentActions returns a function for CommentFeed's actions option: the
   * Remove, Mute and Ban buttons of one comment. muteMinutes() says how
   * long a mute lasts; me is the moderator (no buttons on their own
   * comments' author). after() runs once an action succeeded (mutes and
   * bans are only announced to their target, so a console refreshes its
   * lists itself).
   */
  commentActions({ muteMinutes = () => 10, me = null, after = () => {} } = {}) {
    const then = (p) => p.then((v) => {
      after();
      return v;
    });
    return (c) => {
      const who = c.user?.name || 'this user';
      const own = me && c.user?.id === me.id;
      return [
        button('Remove', `Remove comment by ${who}`, 'remove', () => then(this.remove(c.id)), 'Comment removed'),
        own ? null : button('Mute', `Mute ${who}`, 'mute', () => then(this.mute(c.user.id, muteMinutes())), `${who} muted for ${muteMinutes()} min`),
        own ? null : button('Ban', `Ban ${who}`, 'ban', () => then(this.ban(c.user.id)), `${who} banned`, `Ban ${who} from this shop's streams?`),
      ];
    };
  }
}

/** button makes a small action button that reports its outcome as a toast. */
export function button(label, ariaLabel, action, run, done, confirmText) {
  return h('button', {
    type: 'button', class: ['small', action === 'ban' || action === 'remove' ? 'danger' : null],
    'aria-label': ariaLabel, dataset: { action },
    on: {
      click: async (ev) => {
        const b = ev.currentTarget;
        if (confirmText && !window.confirm(confirmText)) return;
        b.disabled = true;
        try {
          await run();
          if (done) toast(done, 'ok');
        } catch (err) {
          toast(sentence(err.message), 'error');
        } finally {
          b.disabled = false;
        }
      },
    },
  }, label);
}
