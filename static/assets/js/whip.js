// whip.js — publish a camera and microphone to a stream with WHIP.
//
// The studio hands Publisher a MediaStream; Publisher sends it to
// /api/streams/:id/whip with the stream key as bearer token. If the
// connection fails while live, it publishes again on its own: the server
// keeps the stream live for a grace period, so viewers see a short freeze,
// not an end.

import { negotiate, endSession, sleep } from './webrtc.js';

/** Publisher is one stream's outgoing video. */
export class Publisher {
  constructor(streamID, streamKey, { onState = () => {}, maxBitrate = 1_500_000 } = {}) {
    this.endpoint = new URL(`/api/streams/${streamID}/whip`, location.href).href;
    this.key = streamKey;
    this.onState = onState;
    this.maxBitrate = maxBitrate;
    this.pc = null;
    this.location = null;
    this.abort = null;
  }

  /** start publishes media and resolves once the server accepted the offer. */
  async start(media) {
    this.media = media;
    this.abort = new AbortController();
    await this.connect();
  }

  async connect() {
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    this.pc = pc;
    for (const track of this.media.getTracks()) {
      const tr = pc.addTransceiver(track, { direction: 'sendonly', streams: [this.media] });
      if (track.kind === 'video') {
        const params = tr.sender.getParameters();
        params.encodings = [{ maxBitrate: this.maxBitrate }];
        tr.sender.setParameters(params).catch(() => {});
      }
    }
    pc.addEventListener('connectionstatechange', () => {
      if (pc !== this.pc) return;
      this.onState(pc.connectionState);
      if (pc.connectionState === 'failed') this.reconnect();
    });
    this.onState('connecting');
    try {
      const { location } = await negotiate(pc, this.endpoint, { token: this.key, signal: this.abort.signal });
      this.location = location;
    } catch (err) {
      pc.close();
      if (this.pc === pc) this.pc = null;
      throw err;
    }
  }

  /** reconnect publishes again after a failure, backing off while the
   * server cannot be reached. */
  async reconnect() {
    const signal = this.abort?.signal;
    this.pc?.close();
    this.pc = null;
    for (let wait = 1000; signal && !signal.aborted; wait = Math.min(wait * 2, 10_000)) {
      this.onState('reconnecting');
      await sleep(wait, signal);
      if (signal.aborted) return;
      try {
        await this.connect();
        return;
      } catch (err) {
        if (err.status === 401 || err.status === 404) {
          this.onState('failed', err);
          return;
        }
      }
    }
  }

  /** replaceTrack switches camera or microphone without renegotiating. */
  async replaceTrack(track) {
    const sender = this.pc?.getSenders().find((s) => s.track && s.track.kind === track.kind);
    if (sender) await sender.replaceTrack(track);
  }

  /** stop ends the broadcast. */
  async stop() {
    this.abort?.abort();
    const location = this.location;
    this.location = null;
    this.pc?.close();
    this.pc = null;
    await endSession(location, this.key);
    this.onState('closed');
  }

  /** stats returns the outgoing video counters (framesEncoded, bytesSent). */
  async stats() {
    if (!this.pc) return null;
    for (const r of (await this.pc.getStats()).values()) {
      if (r.type === 'outbound-rtp' && r.kind === 'video') return r;
    }
    return null;
  }
}
