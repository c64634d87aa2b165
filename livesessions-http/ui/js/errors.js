/* Turning failures into messages: for alerts, for the join dialog, and next to form fields. */

import { setFieldError, showAlert } from './alerts.js';
import { ApiError } from './api.js';
import { promptSignIn } from './auth.js';
import { $ } from './dom.js';

/** A readable message for an ApiError. */
export function errorMessage(err) {
  if (!(err instanceof ApiError)) return 'Something went wrong: ' + (err && err.message ? err.message : String(err));
  var retry = err.retryAfter !== null && err.retryAfter !== undefined ? err.retryAfter : null;
  if (err.code === 'session_full') return 'This session is full: every seat is taken or reserved for the people on its roster.';
  if (err.code === 'not_on_roster') return 'This session is only for the people on its roster, and you are not on it. Ask the instructor to add you' + (err.registrationOpen ? ', or register for it.' : '.');
  if (err.code === 'registration_closed') return 'Registration for this session is closed.';
  switch (err.status) {
    case 0: return err.detail || err.title;
    case 401: return 'Please sign in to continue.';
    case 403: return err.detail || 'You are not allowed to do that.';
    case 404: return err.detail || 'Not found: it may have been deleted.';
    case 413: return err.detail || 'The upload is too large.';
    case 429: return 'Too many requests, retry in ' + (retry !== null ? retry : 'a few') + ' s.';
    case 503: return 'The service is temporarily unavailable' + (retry !== null ? ', retry in ' + retry + ' s.' : '. Try again shortly.');
    default:
      if (err.errors.length) return err.errors.map(function (e) { return e.message ? e.field + ': ' + e.message : e.field; }).join('; ');
      return [err.title, err.detail].filter(Boolean).join(': ') || ('Request failed (' + err.status + ').');
  }
}

/** Shows an error; a 401 also asks the user to sign in. */
export function reportError(err, prefix) {
  if (err && err.name === 'AbortError') return;
  if (err instanceof ApiError && err.status === 401) promptSignIn();
  showAlert((prefix ? prefix + ': ' : '') + errorMessage(err), 'error');
}

/** Puts field errors next to their inputs (fieldMap: API field → input id); the rest goes to the alerts. */
export function handleFormError(err, fieldMap) {
  if (!(err instanceof ApiError) || !err.errors.length) { reportError(err); return; }
  var first = null;
  var rest = [];
  err.errors.forEach(function (e) {
    var inputId = fieldMap[e.field];
    var message = e.message || e.code || 'Invalid value.';
    if (inputId && setFieldError(inputId, message)) { first = first || inputId; } else rest.push(e);
  });
  if (rest.length) reportError(new ApiError(err.status, err.title, err.detail, rest, err.retryAfter));
  if (first) $(first).focus();
}
