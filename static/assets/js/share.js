// share.js — the Share button of a product or a stream. The link comes
// from the API (POST /api/shares, which records the share for the
// seller's analytics; the link, /s/p… or /s/w…, opens the right page). A
// small panel shows it, copies it to the clipboard, and offers the
// device's share sheet where the browser has one (Web Share API). The
// panel keeps the link selectable when the clipboard is out of reach
// (plain-HTTP LAN addresses, a browser that refuses).

import { h, replace } from './dom.js';
import { post } from './api.js';
import { sentence } from './ui.js';

let seq = 0;

/** shareButton returns a Share control for {type: "product"|"stream", id}.
 * icon, if given, is the button's content instead of the word. */
export function shareButton(target, { className = 'small', icon = null } = {}) {
  const id = `share${++seq}`;
  const box = h('div', { class: 'share-box', id, hidden: true, role: 'group', 'aria-label': 'Share link' });
  const button = h('button', {
    type: 'button', class: ['share-button', className], 'aria-expanded': 'false', 'aria-controls': id,
    'aria-label': icon ? 'Share' : null, 'data-testid': 'share',
  }, icon || 'Share');
  const close = () => {
    box.hidden = true;
    button.setAttribute('aria-expanded', 'false');
    button.focus();
  };
  box.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') close();
  });

  button.addEventListener('click', async () => {
    if (!box.hidden) {
      close();
      return;
    }
    button.disabled = true;
    const status = h('p', { class: 'hint', role: 'status' });
    try {
      const link = await post('/shares', { type: target.type, id: target.id, channel: 'link' });
      const field = h('input', { id: `${id}-url`, readonly: true, value: link.url, 'data-testid': 'share-url' });
      const copy = async () => {
        try {
          await navigator.clipboard.writeText(link.url);
          status.textContent = 'Link copied.';
        } catch {
          field.select();
          status.textContent = 'Copy the link above.';
        }
      };
      replace(box,
        h('label', { for: field.id }, 'Link to share'),
        field,
        h('div', { class: 'button-row' },
          h('button', { type: 'button', class: 'small', on: { click: copy } }, 'Copy'),
          navigator.share ? h('button', {
            type: 'button', class: 'small',
            on: { click: () => navigator.share({ title: link.title, url: link.url }).catch(() => {}) },
          }, 'More…') : null,
          h('button', { type: 'button', class: 'small', on: { click: close } }, 'Close')),
        status);
      box.hidden = false;
      button.setAttribute('aria-expanded', 'true');
      field.focus();
      await copy();
    } catch (err) {
      replace(box, h('p', { class: 'form-error', role: 'alert' }, sentence(err.message)));
      box.hidden = false;
    } finally {
      button.disabled = false;
    }
  });
  return h('span', { class: 'share' }, button, box);
}
