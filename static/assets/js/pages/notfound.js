// notfound.js — the page the server answers, with status 404, for paths
// that name no page: the header works as everywhere, and the page says
// which path was asked for (as text).

import { $ } from '../dom.js';
import { initPage, ready } from '../ui.js';

await initPage();
$('#missing-path').textContent = location.pathname;
ready();
