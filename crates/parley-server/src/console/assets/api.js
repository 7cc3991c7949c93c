// Calls to Parley's REST API: form-encoded requests, JSON answers, HTTP Basic auth with the
// account's SID and token on every call. The credentials live in sessionStorage only, so
// closing the tab forgets them.

const KEY = 'parley.credentials';

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.code = body && body.code;
    this.details = body && body.details;
  }
}

let onUnauthorized = () => {};

/** Called when the server stops accepting the stored credentials (token rotated). */
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

export function credentials() {
  try {
    const c = JSON.parse(sessionStorage.getItem(KEY) || 'null');
    return c && c.sid && c.token ? c : null;
  } catch {
    return null;
  }
}

export function saveCredentials(sid, token) {
  sessionStorage.setItem(KEY, JSON.stringify({ sid, token }));
}

export function clearCredentials() {
  sessionStorage.removeItem(KEY);
}

export function authHeader(c = credentials()) {
  if (!c) return {};
  // btoa only takes Latin-1: encode as UTF-8 first so any token survives.
  const bytes = new TextEncoder().encode(`${c.sid}:${c.token}`);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return { Authorization: `Basic ${btoa(bin)}` };
}

/** Encodes {Key: value | [values]} as application/x-www-form-urlencoded. */
export function form(params) {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null) continue;
    for (const one of [v].flat()) body.append(k, String(one));
  }
  return body;
}

/** Keeps only the path and query of a URL the API returned (next_page_url is absolute). */
function local(url) {
  const u = new URL(url, location.origin);
  return u.pathname + u.search;
}

/**
 * One request. `creds` overrides the stored credentials (the login check). The browser's
 * own credential prompt never opens: credentials are omitted, the header is explicit.
 */
export async function request(method, path, { params, query, creds, signal } = {}) {
  let url = path;
  if (query) {
    const q = form(query).toString();
    if (q) url += (url.includes('?') ? '&' : '?') + q;
  }
  const headers = { Accept: 'application/json', ...authHeader(creds || credentials()) };
  const init = { method, headers, credentials: 'omit', cache: 'no-store', signal };
  if (params) init.body = form(params);
  const resp = await fetch(url, init);
  const text = await resp.text();
  let body = null;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = { message: text };
    }
  }
  if (!resp.ok) {
    if (resp.status === 401 && !creds) onUnauthorized();
    throw new ApiError(resp.status, body);
  }
  return body;
}

export const get = (path, query, opts) => request('GET', path, { ...opts, query });
export const post = (path, params, opts) => request('POST', path, { ...opts, params });
export const del = (path, opts) => request('DELETE', path, opts);

/**
 * Every item of a list resource, following `meta.next_page_url`. `max` bounds what a
 * screen loads; lists longer than that say so through `truncated`.
 */
export async function listAll(path, key, query = {}, max = 1000) {
  const items = [];
  let page = await get(path, { PageSize: Math.min(max, 200), ...query });
  for (;;) {
    items.push(...(page[key] || []));
    const next = page.meta && page.meta.next_page_url;
    if (!next || items.length >= max) {
      items.truncated = Boolean(next);
      return items;
    }
    page = await get(local(next));
  }
}

/** Path segments are SIDs or revision numbers; encode them anyway. */
export function path(strings, ...values) {
  return strings.reduce((acc, s, i) => acc + s + (i < values.length ? encodeURIComponent(values[i]) : ''), '');
}
