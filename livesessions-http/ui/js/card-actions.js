/* The buttons on a card: Join Now, Register and Cancel registration, Start, End, Edit, Cancel,
 * Analytics and Delete. Start, End, Cancel and Delete change the class for everyone, so each asks
 * first. */

import { showAlert } from './alerts.js';
import { api } from './api.js';
import { confirmDialog } from './dialogs.js';
import { isBusy, setBusy } from './dom.js';
import { reportError } from './errors.js';
import { openJoinModal } from './join.js';
import { findCard, removeSession, upsertSession } from './list.js';
import { renderCard } from './cards.js';
import { editSession } from './session-form.js';
import { sessionId } from './session.js';
import { state } from './state.js';

export function onGridClick(event) {
  var button = event.target.closest('button[data-action]');
  if (!button || isBusy(button)) return;
  var card = button.closest('.session-card');
  var s = card && state.sessions.get(card.dataset.id);
  if (!s) return;
  var action = button.dataset.action;
  if (action === 'join') openJoinModal(s, button);
  else if (action === 'start' || action === 'end') setLive(s, action === 'start', button);
  else if (action === 'edit') editSession(sessionId(s), button);
  else if (action === 'cancel') cancelSession(s, button);
  else if (action === 'delete') deleteSession(s, button);
  else if (action === 'register' || action === 'unregister') setRegistered(s, action === 'register', button);
  else if (action === 'analytics') window.location.hash = '#/sessions/' + encodeURIComponent(sessionId(s)) + '/analytics';
}

/** Sessions whose registration is being asked for (see checkRegistration). */
var checking = new Set();

/** Asks whether the signed-in user is on the roster of `s` (a session that takes
 * registrations), remembers it, and shows the card again when they are. */
export function checkRegistration(s) {
  var id = sessionId(s);
  if (checking.has(id)) return;
  checking.add(id);
  api('GET', '/live-sessions/' + encodeURIComponent(id) + '/register')
    .then(function (answer) {
      var on = !!(answer && answer.onRoster);
      if (!state.registered.has(id)) state.registered.set(id, on);
      var card = on && findCard(id);
      if (card) card.replaceWith(renderCard(state.sessions.get(id) || s));
    }, function () { /* The Register button stays; registering again is harmless. */ })
    .then(function () { checking.delete(id); });
}

/** Registers the signed-in user for `s` (or cancels it), then shows the card again with the
 * other button focused. */
function setRegistered(s, register, button) {
  var id = sessionId(s);
  setBusy(button, true);
  api(register ? 'POST' : 'DELETE', '/live-sessions/' + encodeURIComponent(id) + '/register')
    .then(function () { return true; }, function (err) {
      // Cancelling a registration that is already gone is what was asked.
      if (!register && err && err.status === 404) return true;
      reportError(err, register ? 'Could not register' : 'Could not cancel the registration');
      return false;
    })
    .then(function (done) {
      setBusy(button, false);
      if (!done) return;
      state.registered.set(id, register);
      showAlert((register ? 'Registered for: ' : 'Registration cancelled: ') + s.title, 'success');
      var card = findCard(id);
      if (!card) return;
      var fresh = renderCard(s);
      card.replaceWith(fresh);
      var next = fresh.querySelector(register ? '.unregister-btn' : '.register-btn');
      if (next) next.focus();
    });
}

function sessionPath(s) { return '/admin/live-sessions/' + encodeURIComponent(sessionId(s)); }

/** Asks `question`, then runs `request` with the button busy; `done` gets its answer. */
function confirmThen(button, question, okLabel, options, request, done, failure) {
  return confirmDialog(question, okLabel, button, options).then(function (ok) {
    if (!ok) return;
    setBusy(button, true);
    return request()
      .then(done)
      .catch(function (err) { reportError(err, failure); })
      .then(function () { setBusy(button, false); });
  });
}

function setLive(s, live, button) {
  var question = live
    ? 'Start “' + s.title + '” now? It goes live for everyone, and students can join.'
    : 'End “' + s.title + '” for everyone? Students watching it are stopped.';
  confirmThen(button, question, live ? 'Start' : 'End', { danger: !live, dismissLabel: 'Not now' },
    function () { return api('PUT', sessionPath(s), { json: { isLive: live } }); },
    function (updated) {
      if (updated && sessionId(updated)) upsertSession(updated);
      showAlert((live ? 'Started: ' : 'Ended: ') + s.title, 'success');
    },
    live ? 'Could not start the session' : 'Could not end the session');
}

function cancelSession(s, button) {
  confirmThen(button, 'Cancel “' + s.title + '”? It stays in the list as cancelled, and no one can join it.',
    'Cancel session', { dismissLabel: 'Keep it' },
    function () { return api('POST', sessionPath(s) + '/cancel'); },
    function (updated) {
      if (updated && sessionId(updated)) upsertSession(updated);
      showAlert('Cancelled: ' + s.title, 'success');
    },
    'Could not cancel the session');
}

function deleteSession(s, button) {
  confirmThen(button, 'Delete “' + s.title + '”? Its attendance records are deleted too.', 'Delete', null,
    function () { return api('DELETE', sessionPath(s)); },
    function () {
      removeSession(sessionId(s));
      showAlert('Deleted: ' + s.title, 'success');
    },
    'Could not delete the session');
}
