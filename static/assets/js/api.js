// api.js — the one way pages talk to the server.
//
// Every call goes to /api with the session cookie. A successful response
// resolves to its parsed JSON (null for 204); any failure rejects with an
// ApiError carrying the server's {"error":{"code","message"}} shape, so pages
// show one kind of message whatever went wrong, including a dropped network.

/** ApiError is a failed API call: HTTP status (0 when the server was not
 * reached), machine-readable code and a message fit to show a person. */
export class ApiError extends Error {
  constructor(status, code, message, retryAfter = 0) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

/**
 * api sends one request. body may be a plain value (sent as JSON), FormData
 * or a Blob (sent as is). idempotencyKey is sent as the Idempotency-Key
 * header: money-moving writes carry one so a retried click never charges
 * twice.
 */
export async function api(path, { method = 'GET', body, idempotencyKey, signal, headers = {} } = {}) {
  const init = { method, signal, credentials: 'same-origin', headers: { Accept: 'application/json', ...headers } };
  if (body instanceof FormData || body instanceof Blob) {
    init.body = body;
  } else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers['Content-Type'] = 'application/json';
  }
  if (idempotencyKey) init.headers['Idempotency-Key'] = idempotencyKey;

  let res;
  try {
    res = await fetch('/api' + path, init);
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, 'network', 'Cannot reach Liveshop. Check your connection and try again.');
  }
  if (res.status === 204) return null;
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    // A proxy's HTML error page: fall through to the status.
  }
  if (!res.ok) {
    const e = data && data.error;
    throw new ApiError(
      res.status,
      (e && e.code) || `http_${res.status}`,
      (e && e.message) || res.statusText || 'Request failed',
      Number(res.headers.get('Retry-After')) || 0,
    );
  }
  return data;
}

/**
 * ignoreApiError is for a catch that shrugs off a failed call (the next
 * poll retries, the page works without the data): it ignores an ApiError
 * and rethrows anything else, so that a bug in the code around the call is
 * not swallowed with it.
 */
export function ignoreApiError(err) {
  if (!(err instanceof ApiError)) throw err;
}

/** get fetches a resource. */
export const get = (path, opts) => api(path, opts);
/** post creates or acts. */
export const post = (path, body, opts) => api(path, { ...opts, method: 'POST', body });
/** put replaces. */
export const put = (path, body, opts) => api(path, { ...opts, method: 'PUT', body });
/** patch updates some fields. */
export const patch = (path, body, opts) => api(path, { ...opts, method: 'PATCH', body });
/** del removes. */
export const del = (path, opts) => api(path, { ...opts, method: 'DELETE' });

/**
 * newIdempotencyKey returns 128 random bits as hex. It uses getRandomValues,
 * which (unlike randomUUID) also works on plain-HTTP LAN addresses.
 */
export function newIdempotencyKey() {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/** query builds "?a=1&b=2" from an object, skipping empty values. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? '?' + s : '';
}
