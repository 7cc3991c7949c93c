// The login screen: Account SID and Auth Token, checked against GET /v1/Configuration
// before anything of the account is shown, then kept in sessionStorage for this tab.

import { ApiError, get, saveCredentials } from './api.js';

/** Checks credentials with the server: true if accepted, throws ApiError otherwise. */
export async function checkCredentials(sid, token) {
  await get('/v1/Configuration', undefined, { creds: { sid, token } });
  return true;
}

/** Shows the login form; calls onSuccess() once the server accepts the credentials. */
export function showLogin(onSuccess) {
  const section = document.getElementById('login');
  const formEl = document.getElementById('login-form');
  const errorEl = document.getElementById('login-error');
  const sidEl = document.getElementById('login-sid');
  const tokenEl = document.getElementById('login-token');
  section.hidden = false;
  errorEl.hidden = true;
  tokenEl.value = '';
  sidEl.focus();
  formEl.onsubmit = async (e) => {
    e.preventDefault();
    const sid = sidEl.value.trim();
    const token = tokenEl.value;
    const button = formEl.querySelector('button');
    button.disabled = true;
    errorEl.hidden = true;
    try {
      await checkCredentials(sid, token);
      saveCredentials(sid, token);
      tokenEl.value = '';
      section.hidden = true;
      onSuccess();
    } catch (err) {
      errorEl.textContent =
        err instanceof ApiError && err.status === 401
          ? `The server refused these credentials: ${err.message} (code ${err.code}).`
          : `Could not sign in: ${err.message}`;
      errorEl.hidden = false;
    } finally {
      button.disabled = false;
    }
  };
}

export function hideLogin() {
  document.getElementById('login').hidden = true;
}
