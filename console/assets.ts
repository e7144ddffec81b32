// The console's only static files: one style sheet and one small script, served from memory at
// /assets/*. No bundler and no build step: pages render on the server and work without the script;
// the script only turns `data-action` forms into fetch POSTs that show the server's answer.

export const CONSOLE_CSS = `
:root { --fg: #1d2330; --muted: #6b7280; --line: #e5e7eb; --accent: #2357c6; --ok: #1e6b34; --bad: #a50e0e; --warn: #8a5a00; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, Segoe UI, sans-serif; color: var(--fg); background: #fafbfc; }
header.top { display: flex; align-items: center; gap: 1.2em; padding: .6em 1.2em; background: #111827; color: #fff; }
header.top a { color: #d1d5db; text-decoration: none; }
header.top a.active, header.top a:hover { color: #fff; }
header.top .brand { font-weight: 700; color: #fff; margin-right: .8em; }
header.top .spacer { flex: 1; }
header.top form { display: inline; margin: 0; }
header.top button { background: none; border: 1px solid #4b5563; color: #d1d5db; border-radius: 4px; padding: .15em .6em; cursor: pointer; }
main { max-width: 1280px; margin: 1.2em auto; padding: 0 1.2em; }
h1 { font-size: 1.45em; margin: .2em 0 .6em; }
h2 { font-size: 1.12em; margin-top: 1.8em; border-bottom: 1px solid var(--line); padding-bottom: .2em; }
a { color: var(--accent); }
table { border-collapse: collapse; margin: .5em 0; background: #fff; }
th, td { text-align: left; padding: .35em .75em; border-bottom: 1px solid var(--line); vertical-align: top; font-variant-numeric: tabular-nums; }
thead th { border-bottom: 2px solid #cbd5e1; white-space: nowrap; }
td.num, th.num { text-align: right; }
.muted { color: var(--muted); }
.best { font-weight: 700; color: var(--ok); }
.badge { display: inline-block; padding: 0 .5em; border-radius: 9px; font-size: .85em; background: #eef2f7; white-space: nowrap; }
.badge.ok { background: #e6f4ea; color: var(--ok); }
.badge.bad { background: #fce8e6; color: var(--bad); }
.badge.warn { background: #fff4d6; color: var(--warn); }
.note { padding: .5em .8em; border-radius: 4px; background: #fff4d6; color: var(--warn); margin: .6em 0; }
.error, [role=alert]:not(:empty) { padding: .5em .8em; border-radius: 4px; background: #fce8e6; color: var(--bad); margin: .6em 0; }
.ok-msg:not(:empty) { padding: .5em .8em; border-radius: 4px; background: #e6f4ea; color: var(--ok); margin: .6em 0; }
.charts { display: flex; flex-wrap: wrap; gap: 1.5em; }
figure { margin: 0; }
figcaption { font-weight: 600; margin-bottom: .3em; }
dl.kv { display: grid; grid-template-columns: max-content 1fr; gap: .2em 1em; }
dl.kv dt { color: var(--muted); }
dl.kv dd { margin: 0; }
ol.lineage { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: .4em; align-items: center; margin: .3em 0; }
ol.lineage li + li::before { content: '→ '; color: var(--muted); }
form.inline { display: inline; }
input, textarea, select, button { font: inherit; }
button.primary { background: var(--accent); color: #fff; border: 0; border-radius: 4px; padding: .35em 1em; cursor: pointer; }
code { font-size: .92em; }
`;

/**
 * Forms marked `data-action` are sent with fetch as a JSON POST (their fields as an object) to the
 * form's action. A 2xx answer shows its `message` (or reloads when the form says
 * `data-reload`); a 4xx/5xx answer's `{error}` is shown in the form's `[role=alert]` element (one
 * is added when the form has none), so a validator's refusal reaches the person who clicked.
 */
export const CONSOLE_JS = `
(function () {
  'use strict';
  function alertOf(form) {
    var el = form.querySelector('[role=alert]');
    if (!el) { el = document.createElement('div'); el.setAttribute('role', 'alert'); form.appendChild(el); }
    return el;
  }
  function statusOf(form) {
    var el = form.querySelector('[role=status]');
    if (!el) { el = document.createElement('div'); el.setAttribute('role', 'status'); el.className = 'ok-msg'; form.appendChild(el); }
    return el;
  }
  document.addEventListener('submit', function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute('data-action')) return;
    event.preventDefault();
    var alertEl = alertOf(form);
    var statusEl = statusOf(form);
    alertEl.textContent = '';
    statusEl.textContent = '';
    var body = {};
    new FormData(form).forEach(function (value, key) { body[key] = typeof value === 'string' ? value : ''; });
    var buttons = form.querySelectorAll('button');
    buttons.forEach(function (b) { b.disabled = true; });
    fetch(form.getAttribute('action') || location.pathname, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body)
    }).then(function (res) {
      return res.text().then(function (text) {
        var data = {};
        try { data = text ? JSON.parse(text) : {}; } catch (e) { data = { error: text }; }
        if (!res.ok) {
          alertEl.textContent = (data && data.error) || ('HTTP ' + res.status);
          return;
        }
        statusEl.textContent = (data && data.message) || 'Done.';
        form.dispatchEvent(new CustomEvent('flywheel:done', { bubbles: true, detail: data }));
        if (form.hasAttribute('data-reload')) setTimeout(function () { location.reload(); }, 400);
      });
    }).catch(function (err) {
      alertEl.textContent = 'Request failed: ' + err.message;
    }).finally(function () {
      buttons.forEach(function (b) { b.disabled = false; });
    });
  });
})();
`;
