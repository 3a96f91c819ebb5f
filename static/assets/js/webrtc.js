// webrtc.js — what WHIP (publish) and WHEP (watch) share: one HTTP offer /
// answer exchange per session (RFC 9725), the session resource to DELETE at
// the end, and the ICE servers the server advertises in Link headers.

import { ApiError } from './api.js';

/** iceGatheringDone resolves once the browser has gathered its candidates
 * (or after maxWait), so the offer carries them and no trickle is needed. */
export function iceGatheringDone(pc, maxWait = 2000) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (pc.iceGatheringState !== 'complete') return;
      pc.removeEventListener('icegatheringstatechange', done);
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      pc.removeEventListener('icegatheringstatechange', done);
      resolve();
    }, maxWait);
    pc.addEventListener('icegatheringstatechange', done);
  });
}

/** parseIceServers reads rel="ice-server" Link headers into RTCIceServers. */
export function parseIceServers(res) {
  const link = res.headers.get('Link');
  if (!link) return [];
  const servers = [];
  for (const part of link.split(/,(?=\s*<)/)) {
    const m = part.match(/<([^>]+)>(.*)/);
    if (!m || !/rel="?ice-server"?/.test(m[2])) continue;
    const server = { urls: m[1] };
    const user = m[2].match(/username="([^"]*)"/);
    const cred = m[2].match(/credential="([^"]*)"/);
    if (user) server.username = user[1];
    if (cred) server.credential = cred[1];
    servers.push(server);
  }
  return servers;
}

/**
 * negotiate sends pc's offer to endpoint and applies the answer. It returns
 * the session URL (Location) for DELETE. Failures are ApiErrors carrying
 * the server's code and its Retry-After, so callers can wait and retry.
 */
export async function negotiate(pc, endpoint, { token, signal } = {}) {
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  await iceGatheringDone(pc);
  const headers = { 'Content-Type': 'application/sdp' };
  if (token) headers.Authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(endpoint, { method: 'POST', headers, body: pc.localDescription.sdp, signal, credentials: 'same-origin' });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, 'network', 'Cannot reach the video server.');
  }
  if (res.status !== 201) {
    let e = {};
    try {
      e = (await res.json()).error || {};
    } catch {
      // not JSON
    }
    throw new ApiError(res.status, e.code || `http_${res.status}`, e.message || res.statusText,
      Number(res.headers.get('Retry-After')) || 0);
  }
  const answer = await res.text();
  await pc.setRemoteDescription({ type: 'answer', sdp: answer });
  return { location: new URL(res.headers.get('Location'), endpoint).href, iceServers: parseIceServers(res) };
}

/** endSession tells the server a session is over; errors are ignored, as
 * the server also notices a vanished peer by itself. */
export async function endSession(location, token) {
  if (!location) return;
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  try {
    await fetch(location, { method: 'DELETE', headers, credentials: 'same-origin', keepalive: true });
  } catch {
    // gone already
  }
}

/** sleep waits ms, or less if the signal aborts. */
export function sleep(ms, signal) {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}
