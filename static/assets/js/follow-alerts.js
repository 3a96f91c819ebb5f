// follow-alerts.js — tells a signed-in viewer, on whatever page is open,
// that a shop they follow just went live. It holds the account's
// notification WebSocket (/api/me/notifications, same origin only) and
// reconnects with backoff; ui.js starts it once the page knows who is
// signed in. A page the browser keeps in its back/forward cache closes its
// socket (the server allows an account only a few) and opens a new one if
// it is shown again.

import { h } from './dom.js';

/** startFollowAlerts connects and shows each go-live with show(message,
 * kind, ms) — the page's toast. */
export function startFollowAlerts(show) {
  if (!('WebSocket' in window)) return;
  let delay = 1000;
  let ws = null;
  let retry = null;
  const connect = () => {
    ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/me/notifications`);
    const mine = ws;
    ws.addEventListener('open', () => { delay = 1000; });
    ws.addEventListener('message', (ev) => {
      let m;
      try {
        m = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (m.type !== 'followed_live' || !m.data || location.pathname === m.data.url) return;
      show(h('span', { class: 'follow-alert', 'data-testid': 'follow-alert' },
        h('strong', { text: m.data.shop_name }), ' is live: ',
        h('a', { href: m.data.url, text: m.data.title })), 'info', 15000);
    });
    ws.addEventListener('close', () => {
      if (ws !== mine) return; // closed on purpose (pagehide)
      retry = setTimeout(connect, delay);
      delay = Math.min(delay * 2, 60000);
    });
  };
  window.addEventListener('pagehide', () => {
    clearTimeout(retry);
    const old = ws;
    ws = null;
    old?.close(1000, 'page hidden');
  });
  window.addEventListener('pageshow', (ev) => {
    if (ev.persisted && !ws) {
      delay = 1000;
      connect();
    }
  });
  connect();
}
