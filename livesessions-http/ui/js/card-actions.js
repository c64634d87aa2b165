/* The buttons on a card: Join Now, Start, End, Delete and Analytics. */

import { showAlert } from './alerts.js';
import { api } from './api.js';
import { confirmDialog } from './dialogs.js';
import { isBusy, setBusy } from './dom.js';
import { reportError } from './errors.js';
import { openJoinModal } from './join.js';
import { removeSession, upsertSession } from './list.js';
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
  else if (action === 'delete') deleteSession(s, button);
  else if (action === 'analytics') window.location.hash = '#/sessions/' + encodeURIComponent(sessionId(s)) + '/analytics';
}

function setLive(s, live, button) {
  setBusy(button, true);
  api('PUT', '/admin/live-sessions/' + encodeURIComponent(sessionId(s)), { json: { isLive: live } })
    .then(function (updated) {
      if (updated && sessionId(updated)) upsertSession(updated);
      showAlert((live ? 'Started: ' : 'Ended: ') + s.title, 'success');
    })
    .catch(function (err) {
      reportError(err, live ? 'Could not start the session' : 'Could not end the session');
    })
    .then(function () {
      setBusy(button, false);
    });
}

function deleteSession(s, button) {
  confirmDialog('Delete “' + s.title + '”? Its attendance records are deleted too.', 'Delete', button)
    .then(function (ok) {
      if (!ok) return;
      setBusy(button, true);
      return api('DELETE', '/admin/live-sessions/' + encodeURIComponent(sessionId(s)))
        .then(function () {
          removeSession(sessionId(s));
          showAlert('Deleted: ' + s.title, 'success');
        })
        .catch(function (err) {
          setBusy(button, false);
          reportError(err, 'Could not delete the session');
        });
    });
}
