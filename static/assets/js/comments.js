// comments.js — a live comment feed, shared by the watch page, the studio
// and the moderator console. Comments are keyed by id, so a comment that
// arrives twice (a replay after a reconnect, or our own ack and its
// broadcast) shows once, and a removal takes it away wherever it is.

import { h, replace } from './dom.js';

/** CommentFeed renders comments into a list element. */
export class CommentFeed {
  /**
   * list: the <ol>/<ul> to fill. max: how many to keep. actions(comment):
   * optional extra controls per comment (moderation buttons). newestFirst:
   * order of the list. follow: keep the newest in view.
   */
  constructor(list, { max = 150, actions = null, newestFirst = false, follow = true, empty = null } = {}) {
    this.list = list;
    this.max = max;
    this.actions = actions;
    this.newestFirst = newestFirst;
    this.follow = follow;
    this.empty = empty;
    this.items = new Map();
    this.update();
  }

  /** reset replaces the feed (a snapshot). */
  reset(comments) {
    this.items.clear();
    replace(this.list);
    for (const c of comments || []) this.add(c);
    this.update();
  }

  /** add shows a comment unless it is already shown. */
  add(c) {
    if (!c || this.items.has(c.id)) return;
    const li = this.render(c);
    this.items.set(c.id, li);
    if (this.newestFirst) this.list.prepend(li);
    else this.list.append(li);
    while (this.items.size > this.max) {
      const oldest = this.items.keys().next().value;
      this.remove(oldest);
    }
    this.update();
    if (this.follow && !this.newestFirst) this.list.scrollTop = this.list.scrollHeight;
  }

  /** remove takes a comment away (removed by a moderator). */
  remove(id) {
    const li = this.items.get(id);
    if (!li) return;
    li.remove();
    this.items.delete(id);
    this.update();
  }

  /** has reports whether the comment is shown. */
  has(id) {
    return this.items.has(id);
  }

  update() {
    if (this.empty) this.empty.hidden = this.items.size > 0;
  }

  render(c) {
    const li = h('li', { class: ['comment', c.status === 'held' && 'held'], dataset: { commentId: c.id, userId: c.user?.id } },
      h('span', { class: 'author' }, c.user?.name || 'Someone'),
      ' ',
      h('span', { class: 'text' }, c.text),
      c.status === 'held' ? h('span', { class: 'badge warn' }, 'held for review') : null);
    if (this.actions) {
      const controls = this.actions(c);
      if (controls) li.append(h('span', { class: 'comment-actions' }, controls));
    }
    return li;
  }
}
