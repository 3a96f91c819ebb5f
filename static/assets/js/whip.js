// whip.js — publish a camera and microphone to a stream with WHIP.
//
// The studio hands Publisher a MediaStream; Publisher sends it to
// /api/streams/:id/whip with the stream key as bearer token. If the
// connection fails while live, it publishes again on its own: the server
// keeps the stream live for a grace period, so viewers see a short freeze,
// not an end. It gives up, reporting onState('failed', err) with a message
// for the seller, when publishing again cannot work: the stream has ended,
// its key was rotated, or another encoder holds it (finalError).

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
   * server cannot be reached, or waiting as long as its Retry-After says
   * (after a node crashed, when its claim on the stream lapses). It gives
   * up, with onState('failed', err), when retrying cannot help: the key is
   * wrong (401), the stream is gone (404) or has ended (409 stream_ended),
   * the offer is refused (other 4xx), or another encoder still holds the
   * stream after the server's grace period has surely passed (409
   * publisher_active). err.message says which, in words for the seller. */
  async reconnect() {
    const signal = this.abort?.signal;
    this.pc?.close();
    this.pc = null;
    const since = Date.now();
    let wait = 1000;
    for (let backoff = 1000; signal && !signal.aborted; backoff = Math.min(backoff * 2, 10_000)) {
      this.onState('reconnecting');
      await sleep(wait, signal);
      if (signal.aborted) return;
      try {
        await this.connect();
        return;
      } catch (err) {
        const final = finalError(err, Date.now() - since);
        if (final) {
          this.onState('failed', final);
          return;
        }
        wait = retryDelay(err, Math.min(backoff * 2, 10_000));
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

// A publisher that dropped may still look connected to the server for a
// few seconds (ICE timeouts), and a crashed node's claim on the stream
// lapses after --live-origin-ttl: "taken" answers are retried this long.
const takenRetryMs = 45_000;

/** retryDelay is how long to wait, in ms, before publishing again after
 * err: the server's Retry-After when it gave one (on 409 publisher_active,
 * when the claim of a node that crashed lapses), else backoffMs. */
export function retryDelay(err, backoffMs) {
  return err?.retryAfter > 0 ? err.retryAfter * 1000 : backoffMs;
}

/** finalError returns the error to give up with, with a message for the
 * seller, or null when publishing again may still work. */
export function finalError(err, elapsedMs) {
  if (err?.name === 'AbortError') return null;
  const status = err?.status ?? 0;
  const fail = (message) => Object.assign(new Error(message), { status, code: err.code });
  if (status === 409 && err.code === 'stream_ended') {
    return fail('This stream has ended. Create a new stream to go live again.');
  }
  if (status === 409) {
    return elapsedMs >= takenRetryMs
      ? fail('Another encoder is live on this stream. Stop it, or end this stream and create a new one.')
      : null;
  }
  if (status === 401) return fail('The stream key is no longer valid (it was rotated). Go live again to get the new key.');
  if (status === 404) return fail('This stream no longer exists.');
  if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
    return fail(err.message || `The server refused to publish (${status}).`);
  }
  return null; // network trouble, 408, 429 or 5xx: try again
}
