// The page shell every console page shares: a top bar (Models, Runs, Compare, who is signed in,
// the Temporal Web UI) around the page's body. Everything goes through the html`` template.
import { html, type Html } from './html.ts';
import type { PageOptions, Principal } from './context.ts';

export interface LayoutInput extends PageOptions {
  principal?: Principal;
  /** The Temporal Web UI's base URL; absent: no link in the top bar. */
  webUiUrl?: string;
  namespace: string;
  /** The path the page was asked at: where sign-in returns to. */
  path?: string;
}

function navLink(href: string, label: string, active: boolean): Html {
  return html`<a href="${href}" class="${active ? 'active' : ''}">${label}</a>`;
}

export function renderLayout(input: LayoutInput): string {
  const who = input.principal
    ? html`<span>signed in as <strong>${input.principal.name}</strong></span>
        <form method="post" action="/logout"><button type="submit">Sign out</button></form>`
    : html`<a href="/login?next=${encodeURIComponent(input.path ?? '/')}">Sign in</a>`;
  const webUi = input.webUiUrl
    ? html`<a href="${`${input.webUiUrl}/namespaces/${encodeURIComponent(input.namespace)}/workflows`}" rel="noopener"
        >Temporal Web UI ↗</a
      >`
    : '';
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${input.title} · Flywheel</title>
        <link rel="stylesheet" href="/assets/console.css" />
        <script src="/assets/console.js" defer></script>
      </head>
      <body>
        <header class="top">
          <a class="brand" href="/">Flywheel</a>
          ${navLink('/', 'Models', input.nav === 'models')} ${navLink('/runs', 'Runs', input.nav === 'runs')}
          ${navLink('/compare', 'Compare', input.nav === 'compare')} ${navLink('/approvals', 'Approvals', input.nav === 'approvals')}
          <span class="spacer"></span>
          ${webUi} ${who}
        </header>
        <main>${input.body}</main>
      </body>
    </html> `.value;
}
