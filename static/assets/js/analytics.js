// analytics.js — the seller dashboard's Analytics tab: the shop's report
// over a date range (totals, a chart drawn here as SVG, streams, products),
// one stream's report on demand, and CSV downloads of each. Everything
// comes from /api/shops/{id}/analytics and /api/streams/{id}/analytics.

import { get, query } from './api.js';
import { h, replace, formatDate } from './dom.js';
import { formatMoney } from './money.js';
import { sentence } from './ui.js';

const SVG = 'http://www.w3.org/2000/svg';

/** svg creates an SVG element with attributes (no HTML, no style). */
function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children.flat()) if (c) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

const day = (d) => d.toISOString().slice(0, 10);
const pct = (x) => `${(x * 100).toFixed(1)}%`;
const minutes = (s) => (s >= 3600 ? `${(s / 3600).toFixed(1)} h` : `${Math.round(s / 60)} min`);

function counter(label, value) {
  return h('div', { class: 'counter' }, h('span', { class: 'n', text: value }), h('span', { class: 'l', text: label }));
}

/** money shows a report's net revenue and what was refunded of it. */
function money(r) {
  return [counter('Revenue (net)', formatMoney(r.revenue_minor, r.currency)),
    counter(`Refunded (${r.refunds} orders)`, formatMoney(r.refunded_minor, r.currency))];
}

/** chart draws revenue per day as bars and viewers per day as a line. */
function chart(days, currency) {
  const w = 640, ht = 200, pad = 28;
  const maxRev = Math.max(1, ...days.map((d) => d.revenue_minor));
  const maxView = Math.max(1, ...days.map((d) => d.viewers));
  const step = (w - 2 * pad) / Math.max(1, days.length);
  const y = (v, max) => ht - pad - (v / max) * (ht - 2 * pad);
  const total = days.reduce((s, d) => s + d.revenue_minor, 0);
  const label = `Revenue (bars) and viewers (line) per day, ${days[0]?.date} to ${days.at(-1)?.date}: ` +
    `${formatMoney(total, currency)} in all, at most ${maxView} viewers a day.`;
  const bars = days.map((d, i) => svg('rect', {
    x: (pad + i * step + step * 0.15).toFixed(1), y: y(d.revenue_minor, maxRev).toFixed(1),
    width: Math.max(1, step * 0.7).toFixed(1), height: (ht - pad - y(d.revenue_minor, maxRev)).toFixed(1),
    fill: 'currentColor', 'fill-opacity': '0.35',
  }, svg('title', {}, `${d.date}: ${formatMoney(d.revenue_minor, currency)}, ${d.orders} orders, ${d.viewers} viewers`)));
  const line = days.map((d, i) => `${(pad + i * step + step / 2).toFixed(1)},${y(d.viewers, maxView).toFixed(1)}`).join(' ');
  return svg('svg', { viewBox: `0 0 ${w} ${ht}`, width: '100%', role: 'img', 'aria-label': label, class: 'analytics-chart' },
    svg('line', { x1: pad, y1: ht - pad, x2: w - pad, y2: ht - pad, stroke: 'currentColor', 'stroke-opacity': '0.4' }),
    bars,
    svg('polyline', { points: line, fill: 'none', stroke: 'currentColor', 'stroke-width': '2' }),
    svg('text', { x: pad, y: ht - 8, 'font-size': '11', fill: 'currentColor' }, days[0]?.date || ''),
    svg('text', { x: w - pad, y: ht - 8, 'font-size': '11', fill: 'currentColor', 'text-anchor': 'end' }, days.at(-1)?.date || ''),
    svg('text', { x: pad, y: 14, 'font-size': '11', fill: 'currentColor' }, `max ${formatMoney(maxRev, currency)} · ${maxView} viewers`));
}

function productTable(products, currency) {
  if (!products.length) return h('p', { class: 'empty', text: 'No product activity in this period.' });
  return h('div', { class: 'table-scroll' }, h('table', { class: 'data' },
    h('thead', {}, h('tr', {}, ['Product', 'Viewers', 'Clicks', 'Add to cart', 'Orders', 'Units', 'Revenue', 'Conversion']
      .map((t) => h('th', { scope: 'col', text: t })))),
    h('tbody', {}, products.map((p) => h('tr', {},
      h('td', {}, h('a', { href: `/product/${p.product_id}`, text: p.title || `#${p.product_id}` })),
      h('td', { text: p.viewers }), h('td', { text: p.product_clicks }), h('td', { text: p.add_to_carts }),
      h('td', { text: p.orders }), h('td', { text: p.units_sold }),
      h('td', { text: formatMoney(p.revenue_minor, currency) }), h('td', { text: pct(p.conversion) }))))));
}

/** streamReport shows one stream's numbers in box. */
async function streamReport(box, id) {
  replace(box, h('p', { class: 'hint', text: 'Loading…' }));
  try {
    const r = await get(`/streams/${id}/analytics`);
    replace(box,
      h('h3', { text: r.title }),
      h('div', { class: 'counters' },
        counter('Watching now', r.current_viewers),
        counter('Peak viewers', r.peak_viewers), counter('Average viewers', r.avg_viewers.toFixed(1)),
        counter('Unique viewers', r.unique_viewers), counter('Average watch', minutes(r.avg_watch_seconds)),
        counter('Comments', r.comments), counter('Likes', r.likes), counter('Product clicks', r.product_clicks),
        counter('Add to cart', r.add_to_carts), counter('Orders', r.orders), ...money(r),
        counter('Conversion', pct(r.conversion))),
      productTable(r.products, r.currency),
      h('p', {}, h('a', { href: `/api/streams/${id}/analytics?format=csv`, download: '', text: 'Download this stream as CSV' })));
  } catch (err) {
    replace(box, h('p', { class: 'notice error', text: sentence(err.message) }));
  }
}

/** loadAnalytics fills panel with the shop's report; the dashboard calls it
 * when the Analytics tab opens. */
export async function loadAnalytics(shop, panel) {
  if (!panel.dataset.ready) {
    panel.dataset.ready = '1';
    const today = new Date();
    const from = h('input', { type: 'date', id: 'analytics-from', name: 'from', value: day(new Date(today - 29 * 864e5)) });
    const to = h('input', { type: 'date', id: 'analytics-to', name: 'to', value: day(today) });
    const form = h('form', { class: 'inline-form', id: 'analytics-range', novalidate: true },
      h('label', { for: 'analytics-from', text: 'From' }), from,
      h('label', { for: 'analytics-to', text: 'To' }), to,
      h('button', { type: 'submit', text: 'Show' }));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      loadAnalytics(shop, panel);
    });
    replace(panel, form, h('div', { id: 'analytics-body', 'aria-live': 'polite' }));
  }
  const range = { from: panel.querySelector('#analytics-from').value, to: panel.querySelector('#analytics-to').value };
  const body = panel.querySelector('#analytics-body');
  replace(body, h('p', { class: 'hint', text: 'Loading…' }));
  try {
    const r = await get(`/shops/${shop.id}/analytics${query(range)}`);
    const detail = h('div', { class: 'panel', id: 'stream-analytics', hidden: true });
    const streams = r.streams.length
      ? h('div', { class: 'table-scroll' }, h('table', { class: 'data' },
        h('thead', {}, h('tr', {}, ['Stream', 'Started', 'Unique viewers', 'Peak', 'Orders', 'Revenue', 'Conversion', '']
          .map((t) => h('th', { scope: 'col' }, t || h('span', { class: 'visually-hidden', text: 'Details' }))))),
        h('tbody', {}, r.streams.map((s) => h('tr', {},
          h('td', { text: s.title }), h('td', { text: s.started_at ? formatDate(s.started_at) : '' }),
          h('td', { text: s.unique_viewers }), h('td', { text: s.peak_viewers }), h('td', { text: s.orders }),
          h('td', { text: formatMoney(s.revenue_minor, r.currency) }), h('td', { text: pct(s.conversion) }),
          h('td', {}, h('button', { type: 'button', class: 'small', 'aria-label': `Details of ${s.title}`,
            on: { click: () => { detail.hidden = false; streamReport(detail, s.stream_id); } } }, 'Details')))))))
      : h('p', { class: 'empty', text: 'No streams went live in this period.' });
    replace(body,
      h('div', { class: 'counters' },
        counter('Viewers', r.viewers), counter('Stream viewers', r.stream_viewers), counter('Watch time', minutes(r.watch_seconds)),
        counter('Orders', r.orders), ...money(r),
        counter('Conversion', pct(r.conversion)), counter('Likes', r.likes), counter('Comments', r.comments),
        counter('New followers', r.follows)),
      r.days.length ? chart(r.days, r.currency) : null,
      h('h2', { text: 'Streams' }), streams, detail,
      h('h2', { text: 'Products' }), productTable(r.products, r.currency),
      h('p', {}, h('a', { href: `/api/shops/${shop.id}/analytics${query({ ...range, format: 'csv' })}`, download: '',
        text: 'Download this period as CSV' })));
  } catch (err) {
    replace(body, h('p', { class: 'notice error', text: sentence(err.message) }));
  }
}
