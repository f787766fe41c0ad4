// SPDX-License-Identifier: Apache-2.0
/**
 * The page frame every HTML page shares (UI and approval pages): navigation,
 * stylesheet and script from /ui/assets (no CDN, no inline script), and the
 * strict Content-Security-Policy that goes with it.
 */
import { html, type SafeHtml } from './html.ts';

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

/** Headers for every HTML response. */
export const HTML_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

export interface LayoutOptions {
  title: string;
  body: SafeHtml;
  /** Who is looking, when known (shown in the header). */
  user?: string;
  /** Which nav entry is current. */
  nav?: 'incidents' | 'approvals' | 'audit' | 'playbooks';
  /** The viewer's role, shown next to the name. */
  role?: string;
  /** Offer a sign-out button (built-in login sessions). */
  logout?: boolean;
}

const NAV: [NonNullable<LayoutOptions['nav']>, string, string][] = [
  ['incidents', '/', 'Incidents'],
  ['approvals', '/ui/approvals', 'Approvals'],
  ['audit', '/ui/audit', 'Audit'],
  ['playbooks', '/ui/playbooks', 'Playbooks'],
];

export function layout(o: LayoutOptions): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${o.title} · Riposte</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/ui/assets/app.css">
<script src="/ui/assets/app.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <a class="brand" href="/">Riposte</a>
  <nav aria-label="Main">
    ${NAV.map(([key, href, label]) => html`<a href="${href}"${o.nav === key ? html` aria-current="page"` : ''}>${label}</a>`)}
  </nav>
  <span class="live-status" id="live-status" role="status" aria-live="polite"></span>
  ${o.user ? html`<span class="user">${o.user}${o.role ? html` <span class="role">(${o.role})</span>` : ''}</span>` : ''}
  ${o.logout ? html`<form class="logout" method="post" action="/ui/logout"><button type="submit">Sign out</button></form>` : ''}
</header>
<main id="main" tabindex="-1">
${o.body}
</main>
</body>
</html>
`.value;
}
