// room.js — one WebSocket to a stream's room (/api/streams/:id/room).
//
// The server sends frames holding one event or an array of events, each
// {type, seq, data}. Room events carry the room's monotonic seq; replies to
// this connection (snapshot, resumed, ack, error, pong) carry the last seq
// it was sent. The client remembers the last room seq it handled and the
// epoch of its numbering (from the snapshot); after a drop it reconnects
// with ?since=SEQ&epoch=E and the server replays what was missed (or sends
// a fresh snapshot when the gap is too old, or when the room's numbering
// started again while we were away: another epoch). Events at or below the
// remembered seq are dropped, so nothing is shown twice and nothing is lost
// across reconnects. If the room itself resyncs while we stay connected
// (Redis lost its data), it sends a snapshot that continues the view
// (data.continues: keep the comments shown) and a missed reply, whose
// comments and removals are emitted as the comment, comment_held and
// comment_removed events they stand for.
//
// Usage:
//   const room = new Room(streamID);
//   room.on('snapshot', (data) => ...);   // full state: replace the view
//                                         // (but keep the comments when data.continues)
//   room.on('comment', (data) => ...);    // one handler per event type
//   room.on('status', (s) => ...);        // 'connecting' | 'live' | 'offline' | 'closed'
//   room.start();
//   await room.send({ type: 'comment', text }) // resolves on ack

import { ApiError } from './api.js';

/** Replies addressed to this connection; never deduplicated by seq. */
const replies = new Set(['snapshot', 'resumed', 'missed', 'ack', 'error', 'pong']);

/** Close codes after which reconnecting cannot help. */
const terminal = new Map([
  [4003, 'You are banned from this shop\u2019s streams.'],
  [4004, 'This stream does not exist.'],
]);

const pingEvery = 20_000; // keep NATs and proxies from closing an idle socket
const silentLimit = 45_000; // no frame for this long: the link is dead, reconnect
const maxQueued = 20; // comments typed while offline, sent on reconnect

/** Room is a self-healing connection to one stream's room. */
export class Room {
  constructor(streamID, { backoffMin = 500, backoffMax = 10_000 } = {}) {
    this.streamID = streamID;
    this.lastSeq = -1;
    this.epoch = ''; // of the numbering lastSeq counts in
    this.status = 'idle';
    this.handlers = new Map();
    this.pending = new Map(); // command id → {resolve, reject, timer}
    this.backoffMin = backoffMin;
    this.backoffMax = backoffMax;
    this.attempt = 0;
    this.nextID = 1;
    this.ws = null;
    this.stopped = true;
    this.onOnline = () => this.reconnectNow();
    // A page the browser keeps in its back/forward cache leaves the room
    // (it would still count as a viewer) and, shown again, resumes where
    // it left off.
    this.onPageHide = (ev) => {
      if (!ev.persisted) return;
      this.stop();
      window.addEventListener('pageshow', this.onPageShow, { once: true });
    };
    this.onPageShow = (ev) => {
      if (ev.persisted) this.start();
    };
  }

  /** on registers a handler for an event type (or 'status', 'any'). */
  on(type, fn) {
    if (!this.handlers.has(type)) this.handlers.set(type, []);
    this.handlers.get(type).push(fn);
    return this;
  }

  emit(type, data, ev) {
    for (const fn of this.handlers.get(type) || []) {
      try {
        fn(data, ev);
      } catch (err) {
        console.error(`room ${type} handler`, err);
      }
    }
  }

  setStatus(s, detail) {
    if (this.status === s) return;
    this.status = s;
    this.emit('status', s, detail);
  }

  /** start opens the connection and keeps it open until stop(). */
  start() {
    this.stopped = false;
    window.addEventListener('online', this.onOnline);
    window.addEventListener('pagehide', this.onPageHide);
    this.connect();
    return this;
  }

  /** stop closes the connection for good. */
  stop() {
    this.stopped = true;
    window.removeEventListener('online', this.onOnline);
    window.removeEventListener('pagehide', this.onPageHide);
    window.removeEventListener('pageshow', this.onPageShow);
    clearTimeout(this.retryTimer);
    this.clearTimers();
    if (this.ws) this.ws.close(1000, 'bye');
    this.failPending(new ApiError(0, 'closed', 'The room connection was closed.'));
    this.setStatus('closed');
  }

  url() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    let since = '';
    if (this.lastSeq >= 0) {
      since = `?since=${this.lastSeq}`;
      if (this.epoch) since += `&epoch=${encodeURIComponent(this.epoch)}`;
    }
    return `${proto}//${location.host}/api/streams/${this.streamID}/room${since}`;
  }

  connect() {
    if (this.stopped) return;
    this.setStatus(this.attempt === 0 && this.lastSeq < 0 ? 'connecting' : 'offline');
    const ws = new WebSocket(this.url());
    this.ws = ws;
    ws.onopen = () => {
      this.heard();
      this.pinger = setInterval(() => this.sendRaw({ type: 'ping' }), pingEvery);
    };
    ws.onmessage = (msg) => {
      if (ws !== this.ws) return;
      this.heard();
      let frame;
      try {
        frame = JSON.parse(msg.data);
      } catch {
        console.warn('room: unreadable frame');
        return;
      }
      for (const ev of Array.isArray(frame) ? frame : [frame]) this.dispatch(ev);
    };
    ws.onclose = (ev) => {
      if (ws !== this.ws) return;
      this.ws = null;
      this.clearTimers();
      if (this.stopped) return;
      if (terminal.has(ev.code)) {
        this.stopped = true;
        this.failPending(new ApiError(0, 'closed', terminal.get(ev.code)));
        this.setStatus('closed', terminal.get(ev.code));
        return;
      }
      this.scheduleReconnect();
    };
    // onerror is always followed by onclose, which does the work.
  }

  /** heard notes that the server spoke; silence for too long means the
   * link is dead even if the socket has not noticed. */
  heard() {
    clearTimeout(this.silence);
    this.silence = setTimeout(() => this.ws && this.ws.close(4000, 'silent'), silentLimit);
  }

  clearTimers() {
    clearInterval(this.pinger);
    clearTimeout(this.silence);
  }

  scheduleReconnect() {
    this.setStatus('offline');
    const base = Math.min(this.backoffMax, this.backoffMin * 2 ** this.attempt);
    const delay = base / 2 + Math.random() * base / 2;
    this.attempt++;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  /** reconnectNow skips the backoff wait (the browser came back online). */
  reconnectNow() {
    if (this.stopped || this.ws) return;
    clearTimeout(this.retryTimer);
    this.connect();
  }

  dispatch(ev) {
    if (!ev || typeof ev.type !== 'string') return;
    if (replies.has(ev.type)) {
      this.reply(ev);
      return;
    }
    if (typeof ev.seq === 'number') {
      if (ev.seq <= this.lastSeq) return; // already handled before a reconnect
      this.lastSeq = ev.seq;
    }
    this.emit(ev.type, ev.data, ev);
    this.emit('any', ev.data, ev);
  }

  reply(ev) {
    const d = ev.data || {};
    switch (ev.type) {
      case 'snapshot':
        this.lastSeq = ev.seq;
        this.epoch = typeof d.epoch === 'string' ? d.epoch : '';
        this.joined();
        this.emit('snapshot', d, ev);
        break;
      case 'resumed':
        // The replayed events follow in this frame, each with its seq.
        this.joined();
        this.emit('resumed', d, ev);
        break;
      case 'missed':
        // Follows a snapshot that continues: what this connection missed
        // while the room resynced, oldest first.
        for (const c of d.comments || []) this.emit(c.status === 'held' ? 'comment_held' : 'comment', c, ev);
        for (const id of d.removed || []) this.emit('comment_removed', { id }, ev);
        break;
      case 'ack':
        this.settle(d.id, null, d);
        break;
      case 'error':
        if (!this.settle(d.id, new ApiError(0, d.code, d.message, d.retry_after || 0))) {
          this.emit('error', d, ev);
        }
        break;
    }
  }

  /** joined runs once the server accepted us: send what waited, and
   * resend comments whose ack the drop swallowed (their cid makes the
   * resend harmless). */
  joined() {
    this.attempt = 0;
    this.setStatus('live');
    for (const p of this.pending.values()) {
      if (!p.sent || p.msg.cid) p.sent = this.sendRaw(p.msg);
    }
  }

  settle(id, err, data) {
    const p = id && this.pending.get(id);
    if (!p) return false;
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (err) p.reject(err);
    else p.resolve(data);
    return true;
  }

  failPending(err) {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(err);
      this.pending.delete(id);
    }
  }

  sendRaw(cmd) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(cmd));
      return true;
    }
    return false;
  }

  /**
   * send issues a command and resolves with its ack (or rejects with the
   * server's error). While reconnecting, commands wait (up to a few) and go
   * out once the room is back; a comment carries a client id (cid) so a
   * resend after a drop is recognised and never posted twice.
   */
  send(cmd, { timeout = 20_000 } = {}) {
    const id = `c${this.nextID++}`;
    const msg = { ...cmd, id };
    return new Promise((resolve, reject) => {
      if (this.stopped || (this.status !== 'live' && this.unsent() >= maxQueued)) {
        reject(new ApiError(0, 'offline', 'Not connected to the room.'));
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ApiError(0, 'timeout', 'No answer from the room; try again.'));
      }, timeout);
      this.pending.set(id, { msg, resolve, reject, timer, sent: this.status === 'live' && this.sendRaw(msg) });
    });
  }

  unsent() {
    let n = 0;
    for (const p of this.pending.values()) if (!p.sent) n++;
    return n;
  }

  /** comment posts text; resolves with the stored comment. */
  async comment(text) {
    const ack = await this.send({ type: 'comment', text, cid: clientID() });
    return ack.comment;
  }

  /** like sends count hearts. */
  like(count = 1) {
    return this.send({ type: 'like', count });
  }
}

/** clientID makes a cid for a comment: random, so resends are recognised. */
function clientID() {
  const b = new Uint8Array(9);
  crypto.getRandomValues(b);
  return btoa(String.fromCharCode(...b)).replace(/[+/=]/g, '');
}
