// The console's entry point: the session (login, logout), the live stream's lifetime and
// the hash router that mounts one screen at a time. Nothing of the account is fetched or
// drawn until the server has accepted the credentials.

import { clearCredentials, credentials, setUnauthorizedHandler } from './api.js';
import { errorBox, h, replace } from './dom.js';
import { hideLogin, showLogin } from './login.js';
import * as stream from './stream.js';
import * as flows from './flows.js';
import * as flowImport from './flow_import.js';
import * as executions from './executions.js';
import * as conversations from './conversations.js';
import * as simulator from './simulator.js';

const ROUTES = [
  [/^flows$/, 'flows', () => flows.renderList],
  [/^flows\/import$/, 'flows', () => flowImport.render],
  [/^flows\/(FW\w+)$/, 'flows', () => flows.renderDetail],
  [/^flows\/(FW\w+)\/import$/, 'flows', () => flowImport.render],
  [/^flows\/(FW\w+)\/revisions\/(\d+)$/, 'flows', () => flows.renderRevision],
  [/^executions$/, 'executions', () => executions.renderList],
  [/^executions\/(FW\w+)$/, 'executions', () => executions.renderList],
  [/^executions\/(FW\w+)\/(FN\w+)$/, 'executions', () => executions.renderDetail],
  [/^conversations$/, 'conversations', () => conversations.renderList],
  [/^conversations\/(CH\w+)$/, 'conversations', () => conversations.renderDetail],
  [/^simulator$/, 'simulator', () => simulator.render],
];

/** What a screen gets besides its root: cleanup on leave and live events while mounted. */
class Scope {
  constructor() {
    this.cleanups = [];
    this.active = true;
  }
  onLeave(fn) {
    this.cleanups.push(fn);
  }
  /** fn(event) for every live event while this screen is shown. */
  live(fn) {
    this.onLeave(stream.subscribe((ev) => this.active && fn(ev)));
  }
  leave() {
    this.active = false;
    for (const fn of this.cleanups.splice(0)) fn();
  }
}

let scope = null;

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, qs] = raw.split('?');
  return { path: path || 'flows', query: new URLSearchParams(qs || '') };
}

async function route() {
  if (!credentials()) return;
  if (scope) scope.leave();
  scope = new Scope();
  const view = document.getElementById('view');
  const { path, query } = parseHash();
  const match = ROUTES.map(([re, nav, fn]) => ({ m: re.exec(path), nav, fn })).find((r) => r.m);
  for (const a of document.querySelectorAll('[data-nav]')) {
    a.classList.toggle('active', Boolean(match && a.dataset.nav === match.nav));
  }
  if (!match) {
    replace(view, h('p', { class: 'error' }, `No screen at #/${path}.`), h('a', { href: '#/flows' }, 'Go to flows'));
    return;
  }
  const current = scope;
  try {
    await match.fn()(view, { params: match.m.slice(1), query, scope: current });
  } catch (err) {
    if (current.active) replace(view, errorBox(err));
  }
}

function enter() {
  hideLogin();
  document.getElementById('shell').hidden = false;
  document.getElementById('account-sid').textContent = credentials().sid;
  stream.start({ onUnauthorized: logout });
  route();
}

function logout() {
  if (scope) scope.leave();
  scope = null;
  stream.stop();
  clearCredentials();
  document.getElementById('shell').hidden = true;
  replace(document.getElementById('view'));
  document.getElementById('account-sid').textContent = '';
  showLogin(enter);
}

function init() {
  setUnauthorizedHandler(logout);
  document.getElementById('logout').addEventListener('click', logout);
  window.addEventListener('hashchange', route);
  const status = document.getElementById('live-status');
  stream.onStatus((st) => {
    status.textContent = st === 'live' ? '● live' : st === 'connecting' ? '○ connecting' : '';
    status.dataset.status = st;
  });
  if (credentials()) enter();
  else showLogin(enter);
}

init();
