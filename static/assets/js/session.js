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

/** goSignIn sends the visitor to sign in and come back to this page. */
export function goSignIn() {
  location.assign('/login?next=' + encodeURIComponent(location.pathname + location.search));
}

/** requireAccount resolves to the account, or sends the visitor to sign in
 * and come back here afterwards (never resolving). */
export async function requireAccount() {
  const account = await me();
  if (!account) {
    goSignIn();
    return new Promise(() => {});
  }
  return account;
}

/** signOut ends the session (everywhere: every session of the account)
 * and goes to the home page as a visitor. */
export async function signOut({ everywhere = false } = {}) {
  await post(everywhere ? '/auth/logout-all' : '/auth/logout');
  current = undefined;
  location.assign('/');
}

/**
 * safeNext returns a path of this site to continue to after signing in, or
 * fallback. It reads value the way the browser will when navigating (the
 * URL standard: backslashes count as slashes, tabs and newlines vanish,
 * spaces and control characters at the ends are trimmed, dot segments are
 * resolved), so no spelling of another site or of a javascript: address
 * gets through. A path that still starts with two slashes is refused too:
 * navigating to it would leave the site.
 */
export function safeNext(value, fallback = '/') {
  if (typeof value !== 'string' || value === '') return fallback;
  let url;
  try {
    url = new URL(value, location.origin);
  } catch {
    return fallback;
  }
  if (url.origin !== location.origin || url.pathname.startsWith('//')) return fallback;
  return url.pathname + url.search + url.hash;
}
