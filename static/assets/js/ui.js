// ui.js — the pieces every page shares: the account corner of the header,
// toasts, and form submission with one way of showing errors.

import { h, replace, $ } from './dom.js';
import { me, signOut } from './session.js';
import { startFollowAlerts } from './follow-alerts.js';

/** initPage fills the header's account corner and returns the account
 * (or null). Every page module calls it first. */
export async function initPage() {
  const header = document.querySelector('.site-header');
  if (header) {
    // The sticky header's height, for scroll-padding (base.css): what is
    // scrolled to must not end up under it. It wraps on narrow screens.
    new ResizeObserver(() => document.documentElement.style.setProperty('--header-h', `${header.offsetHeight}px`)).observe(header);
  }
  const slot = document.getElementById('account');
  let account = null;
  try {
    account = await me();
  } catch (err) {
    toast(err.message, 'error');
  }
  if (account) startFollowAlerts(toast);
  showModerateLink(account);
  if (slot) {
    if (account) {
      const invited = account.moderator_invitations || 0;
      replace(slot,
        invited > 0 ? h('a', { class: 'badge warn', href: '/settings#moderator-invitations', 'data-testid': 'invitations-link', title: 'Moderator invitations waiting for your answer' },
          invited === 1 ? '1 invitation' : `${invited} invitations`) : null,
        h('a', { class: 'who', href: '/settings', 'data-testid': 'signed-in-as', title: 'Your settings' }, 'Signed in as ', h('strong', { text: account.name })),
        h('button', { type: 'button', class: 'link', on: { click: () => signOut().catch((e) => toast(e.message, 'error')) } }, 'Sign out'));
    } else {
      const next = encodeURIComponent(location.pathname + location.search);
      replace(slot,
        h('a', { href: '/login?next=' + next }, 'Sign in'),
        h('a', { href: '/signup?next=' + next, class: 'button small' }, 'Sign up'));
    }
  }
  return account;
}

/** showModerateLink gives a moderator the header's way to their consoles
 * (listed on the settings page), on every page. */
export function showModerateLink(account) {
  const nav = document.querySelector('.site-nav');
  if (!nav || !account?.moderates?.length || nav.querySelector('[data-testid="moderate-link"]')) return;
  nav.append(h('a', { href: '/settings#moderating', 'data-testid': 'moderate-link' }, 'Moderate'));
}

/** ready marks the page as rendered: the first data is on screen and the
 * controls work. Browser tests wait for it (body[data-ready]). */
export function ready() {
  document.body.dataset.ready = '1';
}

/** toast shows a short message in the page's polite live region. */
export function toast(message, kind = 'info', ms = 4000) {
  const box = document.getElementById('toasts');
  if (!box) return;
  const el = h('div', { class: ['toast', kind] }, message);
  box.append(el);
  setTimeout(() => el.remove(), ms);
}

/** formValues returns a form's named fields as an object of strings. */
export function formValues(form) {
  return Object.fromEntries(new FormData(form).entries());
}

/**
 * onSubmit runs handler(values, form) when form is submitted: it disables
 * the form's buttons while the request runs and shows a failure in the
 * form's .form-error (role=alert), focusing the offending field when the
 * browser's own validation objects first.
 */
export function onSubmit(form, handler) {
  const error = form.querySelector('.form-error');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (error) error.textContent = '';
    if (!form.checkValidity()) {
      const bad = form.querySelector(':invalid');
      if (error && bad) error.textContent = `${labelOf(bad)}: ${bad.validationMessage}`;
      bad?.focus();
      return;
    }
    const buttons = Array.from(form.querySelectorAll('button, input[type=submit]'));
    buttons.forEach((b) => (b.disabled = true));
    form.setAttribute('aria-busy', 'true');
    try {
      await handler(formValues(form), form);
    } catch (err) {
      if (error) error.textContent = sentence(err.message);
      else toast(sentence(err.message), 'error');
    } finally {
      buttons.forEach((b) => (b.disabled = false));
      form.removeAttribute('aria-busy');
    }
  });
}

function labelOf(input) {
  const label = input.id && document.querySelector(`label[for="${CSS.escape(input.id)}"]`);
  return label ? label.textContent.trim() : input.name;
}

/** sentence capitalises an API message for display ("not found" → "Not found."). */
export function sentence(message) {
  const s = String(message || '').trim();
  if (!s) return '';
  const first = s[0].toUpperCase() + s.slice(1);
  return /[.!?]$/.test(first) ? first : first + '.';
}

/** busy marks a region as loading or done, for screen readers. */
export function busy(el, on) {
  if (on) el.setAttribute('aria-busy', 'true');
  else el.removeAttribute('aria-busy');
}

/** showError replaces a region's content with a message. */
export function showError(el, err) {
  replace(el, h('p', { class: 'notice error', role: 'alert' }, err.message || String(err)));
  busy(el, false);
}

/** confirmAction asks before something that cannot be undone. */
export function confirmAction(message) {
  return window.confirm(message);
}

export { $ };
