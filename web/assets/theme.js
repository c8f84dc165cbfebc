// theme.js -- the Theme setting: System (follow the device), Light or Dark, applied at once and remembered in
// localStorage. The inline script at the top of index.html applies the remembered choice before the first
// paint; main.css does the rest (color-scheme on :root, and every colour written as light-dark()).

const KEY = 'glance.theme';
const THEMES = ['system', 'light', 'dark'];
const root = document.documentElement;
const meta = document.querySelector('meta[name="color-scheme"]');
const radios = [...document.querySelectorAll('input[name="theme"]')];

/** Applies `theme` ('system', 'light' or 'dark') to the page and to its control. */
function apply(theme) {
  if (theme === 'light' || theme === 'dark') root.dataset.theme = theme;
  else delete root.dataset.theme;
  // form controls and scrollbars follow the meta as well as the CSS color-scheme
  if (meta) meta.content = theme === 'light' || theme === 'dark' ? theme : 'light dark';
  for (const r of radios) r.checked = r.value === theme;
}

function stored() {
  let theme = null;
  try { theme = localStorage.getItem(KEY); } catch { /* storage blocked: follow the system */ }
  return THEMES.includes(theme) ? theme : 'system';
}

apply(stored());
for (const r of radios) {
  r.addEventListener('change', () => {
    if (!r.checked) return;
    apply(r.value);
    try {
      if (r.value === 'system') localStorage.removeItem(KEY);
      else localStorage.setItem(KEY, r.value);
    } catch { /* not remembered */ }
  });
}
// a choice made in another tab of the page
addEventListener('storage', (e) => { if (e.key === KEY || e.key === null) apply(stored()); });
