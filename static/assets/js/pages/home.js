// home.js — the front page: who is live and what is for sale.

import { $, h, replace } from '../dom.js';
import { initPage, ready } from '../ui.js';

const account = await initPage();
replace($('#hero-actions'), account
  ? h('span', {}, 'Welcome back, ', h('strong', { text: account.name }), '.')
  : h('a', { class: 'button primary', href: '/signup' }, 'Create an account'));
ready();
