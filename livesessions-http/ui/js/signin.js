/* The dev sign-in form and the Sign out button. */

import { clearFieldErrors, setFieldError, showAlert } from './alerts.js';
import { api, ApiError } from './api.js';
import { refreshAuth, renderAuth, writeStoredToken } from './auth.js';
import { $, isBusy, setBusy } from './dom.js';
import { handleFormError } from './errors.js';
import { route } from './router.js';
import { state } from './state.js';
import { stopWatch } from './watch.js';

export function onSignIn(event) {
  event.preventDefault();
  var name = $('signin-name').value.trim();
  var email = $('signin-email').value.trim();
  var errors = [];
  if (!name) errors.push({ field: 'signin-name', message: 'Enter your name.' });
  if (!/^[^\s@]+@[^\s@]+$/.test(email)) errors.push({ field: 'signin-email', message: 'Enter a valid email address.' });
  clearFieldErrors(['signin-name', 'signin-email']);
  if (errors.length) {
    errors.forEach(function (e) { setFieldError(e.field, e.message); });
    $(errors[0].field).focus();
    return;
  }
  var button = $('signin-submit');
  if (isBusy(button)) return;
  setBusy(button, true);
  api('POST', '/dev/token', { json: { name: name, email: email, admin: $('signin-admin').checked }, auth: false })
    .then(function (body) {
      if (!body || typeof body.token !== 'string') throw new ApiError(0, 'Sign-in failed', 'The server sent no token.');
      writeStoredToken(body.token);
      return refreshAuth().then(function () {
        if (!state.auth.user) throw new ApiError(0, 'Sign-in failed', 'The server sent a token this page cannot read.');
        showAlert('Signed in as ' + state.auth.user.name + '.', 'success');
        if (state.route.name !== 'list') route();
        else $('list-heading').focus();
      });
    })
    .catch(function (err) {
      if (err.status === 404 || err.status === 405) {
        state.devSignIn = 'unavailable';
        renderAuth();
        showAlert('Sign-in is provided by the host application.', 'info');
      } else {
        handleFormError(err, { name: 'signin-name', email: 'signin-email' });
      }
    })
    .then(function () { setBusy(button, false); });
}

export function onSignOut() {
  writeStoredToken(null);
  stopWatch(true);
  refreshAuth().then(function () {
    showAlert('Signed out.', 'success');
    if (state.route.name !== 'list') window.location.hash = '#/';
  });
}
