// SPDX-License-Identifier: Apache-2.0
/** The built-in login form (single-machine use) and the pages shown when there is nothing to show. */
import { html } from '../html.ts';
import type { Page } from './context.ts';

/** Only same-site paths: an open redirect after login would be a phishing aid. */
export function safeNext(next: unknown): string {
  return typeof next === 'string' && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\') ? next : '/';
}

export function loginPage(o: { next: string; error?: string; enabled: boolean; user?: string }): Page {
  if (!o.enabled) {
    return {
      title: 'Sign in',
      status: 401,
      body: html`<h1>Sign in</h1><div class="card"><p>This Riposte does not accept anonymous visitors and has no built-in login.</p><p>Reach it through the single-sign-on proxy in front of it, or ask an operator to set <code>RIPOSTE_UI_PASSWORD_HASH</code>.</p></div>`,
    };
  }
  return {
    title: 'Sign in',
    status: o.error ? 401 : 200,
    body: html`<h1>Sign in</h1>
<form class="card narrow" method="post" action="/ui/login" aria-describedby="${o.error ? 'login-error' : ''}">
${o.error ? html`<p class="error-text" id="login-error" role="alert">${o.error}</p>` : ''}
<input type="hidden" name="next" value="${o.next}">
<label for="login-user">User</label>
<input id="login-user" name="user" autocomplete="username" required value="${o.user ?? ''}">
<label for="login-password">Password</label>
<input id="login-password" name="password" type="password" autocomplete="current-password" required>
<div class="actions"><button type="submit" class="primary">Sign in</button></div>
</form>`,
  };
}

export function notFoundPage(what: string): Page {
  return { title: 'Not found', status: 404, body: html`<h1>Not found</h1><p>${what}</p><p><a href="/">Back to incidents</a></p>` };
}

export function errorPage(message: string, status = 400): Page {
  return { title: 'Error', status, body: html`<h1>Something went wrong</h1><p class="error-text" role="alert">${message}</p><p><a href="/">Back to incidents</a></p>` };
}
