/* The join dialog opened from a card's Join Now button. */

import { showAlert } from './alerts.js';
import { api, ApiError } from './api.js';
import { promptSignIn, signedIn } from './auth.js';
import { thumbnailNode, timeNode } from './cards.js';
import { closeDialog, openDialog } from './dialogs.js';
import { $, appendChild, clear, h, isBusy, setBusy } from './dom.js';
import { errorMessage, reportError } from './errors.js';
import { upsertSession } from './list.js';
import { sessionId, STATUS_LABELS, statusOf } from './session.js';
import { state } from './state.js';

let joinState = null;
export function openJoinModal(s, opener) {
  if (!signedIn()) { promptSignIn(); showAlert('Please sign in to join a session.', 'info'); return; }
  joinState = { session: s, opener: opener };
  var thumb = $('join-thumb');
  clear(thumb);
  thumb.appendChild(thumbnailNode(s, 'Thumbnail of ' + (s.title || 'the session')));
  $('join-title').textContent = s.title || 'Untitled session';
  $('join-instructor').textContent = s.instructor ? '👨‍🏫 ' + s.instructor : '';
  var time = $('join-time');
  clear(time);
  time.appendChild(timeNode(s));
  appendChild(time, [' | ', h('span', { class: 'status status-' + statusOf(s), text: STATUS_LABELS[statusOf(s)] })]);
  $('join-count').textContent = '👥 ' + (Number(s.participants) || 0) + ' joined' +
    (statusOf(s) === 'live' ? ' · ' + (Number(s.watching) || 0) + ' watching now' : '');
  $('join-name').value = state.auth.user.name;
  $('join-email').value = state.auth.user.email;
  $('join-error').hidden = true;
  setBusy($('join-submit'), false);
  openDialog($('join-modal'));
  $('join-submit').focus();
}

export function onJoinSubmit(event) {
  event.preventDefault();
  if (!joinState) return;
  var s = joinState.session;
  var id = sessionId(s);
  var user = state.auth.user;
  var body = { sessionId: id, userName: user.name, email: user.email };
  if (user.id) body.userId = user.id;
  var button = $('join-submit');
  if (isBusy(button)) return;
  setBusy(button, true);
  api('POST', '/live-sessions/join', { json: body })
    .then(function (result) {
      if (result && result.session) upsertSession(result.session);
      state.pendingJoin.set(id, result);
      joinState.opener = null;
      closeDialog($('join-modal'));
      window.location.hash = '#/watch/' + encodeURIComponent(id);
    })
    .catch(function (err) {
      setBusy(button, false);
      if (err instanceof ApiError && err.status === 401) { closeDialog($('join-modal')); reportError(err); return; }
      if (err instanceof ApiError && err.code === 'not_on_roster') err.registrationOpen = s.registration === 'open';
      var box = $('join-error');
      box.textContent = errorMessage(err);
      box.hidden = false;
    });
}

export function onJoinClose() {
  var opener = joinState && joinState.opener;
  joinState = null;
  if (opener && opener.isConnected) opener.focus();
}
