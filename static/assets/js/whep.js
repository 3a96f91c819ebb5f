// whep.js — watch a stream with WHEP.
//
// Player keeps a <video> element playing /api/streams/:id/whep: while the
// stream is not live it waits (as long as the server's Retry-After says)
// and tries again; when the connection drops it reconnects. Its status
// callback drives the page's "waiting for the seller" and "reconnecting"
// overlays.

import { negotiate, endSession, sleep } from './webrtc.js';

/** Player is one viewer's incoming video. */
export class Player {
  constructor(streamID, video, { onStatus = () => {} } = {}) {
    this.endpoint = new URL(`/api/streams/${streamID}/whep`, location.href).href;
    this.video = video;
    this.onStatus = onStatus;
    this.pc = null;
    this.location = null;
    this.abort = null;
    this.status = 'idle';
  }

  setStatus(s, detail) {
    this.status = s;
    this.onStatus(s, detail);
  }

  /** start begins watching and keeps at it until stop(); it does nothing
   * while already watching. */
  start() {
    if (this.abort && !this.abort.signal.aborted) return;
    this.abort = new AbortController();
    this.loop(this.abort.signal);
  }

  async loop(signal) {
    let backoff = 1000;
    while (!signal.aborted) {
      let ended;
      try {
        ended = await this.session(signal);
        backoff = 1000;
      } catch (err) {
        if (signal.aborted) return;
        if (err.code === 'not_live' || err.status === 404 || err.status === 409) {
          this.setStatus('waiting', err);
          await sleep((err.retryAfter || 3) * 1000, signal);
          continue;
        }
        // A refusal for load (429, 503) says when to come back.
        this.setStatus('error', err);
        await sleep(Math.max(backoff, (err.retryAfter || 0) * 1000), signal);
        backoff = Math.min(backoff * 2, 10_000);
        continue;
      }
      if (!signal.aborted) {
        this.setStatus(ended === 'failed' ? 'reconnecting' : 'waiting');
        await sleep(500, signal);
      }
    }
  }

  /** session runs one WHEP session; it resolves when the connection ends. */
  async session(signal) {
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    this.pc = pc;
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    const media = new MediaStream();
    pc.addEventListener('track', (ev) => {
      media.addTrack(ev.track);
      if (this.video.srcObject !== media) this.video.srcObject = media;
      this.video.play().catch(() => {});
    });
    this.setStatus('connecting');
    try {
      const { location } = await negotiate(pc, this.endpoint, { signal });
      this.location = location;
    } catch (err) {
      pc.close();
      throw err;
    }
    return new Promise((resolve) => {
      let lostTimer;
      const finish = (how) => {
        clearTimeout(lostTimer);
        pc.removeEventListener('connectionstatechange', onChange);
        const location = this.location;
        this.location = null;
        pc.close();
        if (this.pc === pc) this.pc = null;
        endSession(location);
        resolve(how);
      };
      const onChange = () => {
        switch (pc.connectionState) {
          case 'connected':
            clearTimeout(lostTimer);
            this.setStatus('playing');
            break;
          case 'disconnected':
            // Often recovers by itself; give it a moment.
            clearTimeout(lostTimer);
            lostTimer = setTimeout(() => finish('failed'), 4000);
            this.setStatus('reconnecting');
            break;
          case 'failed':
          case 'closed':
            finish('failed');
            break;
        }
      };
      pc.addEventListener('connectionstatechange', onChange);
      signal.addEventListener('abort', () => finish('stopped'), { once: true });
      // The publisher ending its stream mutes our tracks; the room tells the
      // page too, which calls restart().
      this.finish = finish;
    });
  }

  /** restart drops the current session and starts over (the stream ended
   * or began again). */
  restart() {
    this.finish?.('restart');
  }

  /** stop leaves the stream. */
  stop() {
    this.abort?.abort();
    this.setStatus('stopped');
  }

  /** framesDecoded is the number of video frames decoded so far. */
  async framesDecoded() {
    if (!this.pc) return 0;
    for (const r of (await this.pc.getStats()).values()) {
      if (r.type === 'inbound-rtp' && r.kind === 'video') return r.framesDecoded || 0;
    }
    return 0;
  }
}
