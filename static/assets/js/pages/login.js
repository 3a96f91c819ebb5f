// login.js — /login and /signup: one form, two modes.

import { post } from '../api.js';
import { $, h, replace } from '../dom.js';
import { initPage, onSubmit, ready } from '../ui.js';
import { safeNext } from '../session.js';

const signingUp = location.pathname === '/signup';
const next = safeNext(new URLSearchParams(location.search).get('next'));

const account = await initPage();
if (account) location.replace(next);

const form = $('#auth-form');
const nameField = $('#name-field');
nameField.hidden = !signingUp;
$('#name').required = signingUp;
$('#password').autocomplete = signingUp ? 'new-password' : 'current-password';
if (signingUp) {
  $('#password-hint').textContent = 'At least 8 characters. Not a common password, a simple sequence, or your name or email; a few unrelated words work well.';
}
const q = '?next=' + encodeURIComponent(next);
replace($('#auth-switch'), signingUp
  ? ['Already have an account? ', h('a', { href: '/login' + q }, 'Sign in')]
  : ['New to Liveshop? ', h('a', { href: '/signup' + q }, 'Create an account')]);

onSubmit(form, async (v) => {
  if (signingUp) {
    await post('/auth/signup', { name: v.name.trim(), email: v.email.trim(), password: v.password });
  } else {
    await post('/auth/login', { email: v.email.trim(), password: v.password });
  }
  location.assign(next);
});
$('#' + (signingUp ? 'name' : 'email')).focus();
ready();
