// session.js — who is signed in. The session itself is an HttpOnly cookie
// the page never sees; this module only asks /api/me and remembers the
// answer for the life of the page.

import { get, post, ApiError } from './api.js';

let current;

/** me resolves to the signed-in account, or null for a visitor. */
export function me() {
  if (!current) {
    current = get('/me').catch((err) => {
      if (err instanceof ApiError && err.status === 401) return null;
      throw err;
    });
  }
  return current;
}

/** requireAccount resolves to the account, or sends the visitor to sign in
 * and come back here afterwards (never resolving). */
export async function requireAccount() {
  const account = await me();
  if (!account) {
    location.assign('/login?next=' + encodeURIComponent(location.pathname + location.search));
    return new Promise(() => {});
  }
  return account;
}

/** signOut ends the session and reloads the page as a visitor. */
export async function signOut() {
  await post('/auth/logout');
  current = undefined;
  location.assign('/');
}

/** safeNext returns a same-site path to continue to after signing in. */
export function safeNext(value, fallback = '/') {
  return typeof value === 'string' && /^\/(?!\/)/.test(value) ? value : fallback;
}
