// api.js - calls parley's JSON API with the session cookie, the CSRF header and uniform errors.

const CSRF_COOKIE = 'parley_csrf';
let csrfFromSignIn = null;
let unauthorizedHandler = () => {};

/** An API answer that was not 2xx: status, code, message and (for policy) findings. */
export class ApiError extends Error {
  constructor(status, body) {
    const err = (body && body.error) || {};
    super(err.message || `The server answered ${status}.`);
    this.status = status;
    this.code = err.code || (status === 0 ? 'network' : 'unknown');
    this.findings = Array.isArray(err.findings) ? err.findings : [];
    this.messageId = err.message_id || null;
    this.body = body;
  }
}

/** The value of a readable cookie, or null. */
export function cookie(name) {
  for (const part of document.cookie.split(';')) {
    const [k, ...rest] = part.trim().split('=');
    if (k === name) return decodeURIComponent(rest.join('='));
  }
  return null;
}

/** The CSRF token the server issued at sign-in: its cookie, else the sign-in answer's copy. */
export function csrfToken() {
  return cookie(CSRF_COOKIE) || csrfFromSignIn;
}

/** True when this browser holds a session (the CSRF cookie is set with the session cookie). */
export function hasSession() {
  return Boolean(cookie(CSRF_COOKIE));
}

/** Called (once per failing request) when the server says the session is gone. */
export function onUnauthorized(fn) {
  unauthorizedHandler = fn;
}

/** One API call. body is sent as JSON; resolves to the parsed answer; throws ApiError. */
export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD') {
    const t = csrfToken();
    if (t) headers['X-CSRF-Token'] = t;
  }
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, { error: { code: 'network', message: 'The server cannot be reached. Check your connection and try again.' } });
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!res.ok) {
    const e = new ApiError(res.status, data);
    if (res.status === 401 && path !== '/v1/session') unauthorizedHandler(e);
    throw e;
  }
  return data;
}

export const get = (path) => api('GET', path);
export const post = (path, body = {}) => api('POST', path, body);

/** Signs in with an access token; remembers the CSRF token; resolves to the caller (/v1/me). */
export async function signIn(token) {
  const me = await api('POST', '/v1/session', { token });
  csrfFromSignIn = me.csrf_token || null;
  return me;
}

/** Signs in with an e-mail address and a password (and the authenticator's code, when
 *  the account asks for one: ApiError code totp_required); resolves to the caller. */
export async function signInWithPassword(email, password, code) {
  const body = { email, password };
  if (code) body.code = code;
  const me = await api('POST', '/v1/session', body);
  csrfFromSignIn = me.csrf_token || null;
  return me;
}

/** Signs out: the server revokes the session and clears both cookies. */
export async function signOut() {
  try {
    await api('DELETE', '/v1/session');
  } finally {
    csrfFromSignIn = null;
  }
}

/** Builds a query string from an object, skipping empty values. */
export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') u.set(k, v);
  const s = u.toString();
  return s ? `?${s}` : '';
}
