// tabs.js — accessible tabs (WAI-ARIA tabs pattern): a tablist of buttons,
// one panel each; arrow keys, Home and End move between tabs; the URL hash
// remembers the open tab so links like /dashboard#orders work.

/** tabs wires a [role=tablist] whose buttons have aria-controls; onShow(id)
 * runs when a panel opens. */
export function tabs(tablist, onShow = () => {}) {
  const buttons = Array.from(tablist.querySelectorAll('[role=tab]'));
  const select = (btn, focus = false) => {
    for (const b of buttons) {
      const on = b === btn;
      b.setAttribute('aria-selected', String(on));
      b.tabIndex = on ? 0 : -1;
      document.getElementById(b.getAttribute('aria-controls')).hidden = !on;
    }
    if (focus) btn.focus();
    const id = btn.getAttribute('aria-controls');
    history.replaceState(null, '', `#${id.replace(/-panel$/, '')}`);
    onShow(id);
  };
  for (const b of buttons) b.addEventListener('click', () => select(b));
  tablist.addEventListener('keydown', (ev) => {
    const i = buttons.indexOf(document.activeElement);
    if (i < 0) return;
    const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: buttons.length - 1 }[ev.key];
    if (next === undefined) return;
    ev.preventDefault();
    select(buttons[(next + buttons.length) % buttons.length], true);
  });
  const fromHash = () => buttons.find((b) => b.getAttribute('aria-controls') === `${location.hash.slice(1)}-panel`);
  window.addEventListener('hashchange', () => {
    const b = fromHash();
    if (b && b.getAttribute('aria-selected') !== 'true') select(b);
  });
  select(fromHash() || buttons[0]);
}
