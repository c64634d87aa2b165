/* Live Sessions page: plain JavaScript in native ES modules, no framework, no build step, no
 * external resources. Server data is only ever put into the page through textContent and
 * validated attributes.
 *
 * This entry module binds the page's controls, wires the modules that would otherwise import
 * each other, starts the page, and exposes window.LiveSessions to host pages. */

import { clearFieldError } from './alerts.js';
import { setTokenSource } from './api.js';
import { downloadCsv, loadAnalytics } from './analytics.js';
import { onAuthChange, probeDevSignIn, refreshAuth, requestToken, setAuth, TOKEN_KEY } from './auth.js';
import { bindCalendar, renderCalendarAuth } from './calendar.js';
import { onGridClick } from './card-actions.js';
import { closeDialog, onConfirmClose, onConfirmOk } from './dialogs.js';
import { $ } from './dom.js';
import { onJoinClose, onJoinSubmit } from './join.js';
import { loadSessions, onSearchInput, renderGrid, setFilter } from './list.js';
import { connectEvents } from './live.js';
import { goToList, route } from './router.js';
import { closeSessionForm, onAddToggle, onSessionSubmit, onThumbnailChange, onThumbnailRemoveChange } from './session-form.js';
import { downloadRosterCsv, onRosterAdd, onRosterClick, onRosterFilterChange, onRosterPage, onRosterUpload } from './roster.js';
import { onRepeatChange } from './series.js';
import { onSignIn, onSignOut } from './signin.js';
import { state } from './state.js';
import { heartbeat, onVisibilityChange, sendLeave } from './watch.js';
import { copySecret, hideSecret, onWebhookSubmit, onWebhooksClick } from './webhooks.js';

function bind() {
  $('signin-form').addEventListener('submit', onSignIn);
  ['signin-name', 'signin-email'].forEach(function (id) {
    $(id).addEventListener('input', function () { clearFieldError(id); });
  });
  $('signout').addEventListener('click', onSignOut);

  $('add-session-toggle').addEventListener('click', onAddToggle);
  $('f-cancel').addEventListener('click', closeSessionForm);
  $('session-form').addEventListener('submit', onSessionSubmit);
  $('f-thumbnail').addEventListener('change', onThumbnailChange);
  $('f-thumbnail-remove').addEventListener('change', onThumbnailRemoveChange);
  $('f-repeat').addEventListener('change', onRepeatChange);
  $('series-back').addEventListener('click', goToList);
  ['f-title', 'f-instructor', 'f-start', 'f-video', 'f-description'].forEach(function (id) {
    $(id).addEventListener('input', function () { clearFieldError(id); });
  });

  document.querySelectorAll('[data-filter]').forEach(function (tab) {
    tab.addEventListener('click', function () { setFilter(tab.dataset.filter); });
  });
  $('search').addEventListener('input', onSearchInput);
  $('sessions').addEventListener('click', onGridClick);
  $('load-more').addEventListener('click', function () { loadSessions({ more: true }); });

  $('join-form').addEventListener('submit', onJoinSubmit);
  $('join-close').addEventListener('click', function () { closeDialog($('join-modal')); });
  $('join-cancel').addEventListener('click', function () { closeDialog($('join-modal')); });
  $('join-modal').addEventListener('close', onJoinClose);

  $('confirm-ok').addEventListener('click', onConfirmOk);
  $('confirm-cancel').addEventListener('click', function () { closeDialog($('confirm-modal')); });
  $('confirm-modal').addEventListener('close', onConfirmClose);

  $('watch-back').addEventListener('click', goToList);
  $('analytics-back').addEventListener('click', goToList);
  $('analytics-refresh').addEventListener('click', function () {
    if (state.route.name === 'analytics') loadAnalytics(state.route.id, ++state.analyticsSeq, false);
  });
  $('download-csv').addEventListener('click', downloadCsv);
  $('roster-add-form').addEventListener('submit', onRosterAdd);
  $('roster-upload-form').addEventListener('submit', onRosterUpload);
  $('roster-table').addEventListener('click', onRosterClick);
  $('roster-filter').addEventListener('change', onRosterFilterChange);
  $('roster-download').addEventListener('click', downloadRosterCsv);
  $('roster-prev').addEventListener('click', function () { onRosterPage(-1); });
  $('roster-next').addEventListener('click', function () { onRosterPage(1); });
  ['roster-user-id', 'roster-user-name', 'roster-email', 'roster-file'].forEach(function (id) {
    $(id).addEventListener('input', function () { clearFieldError(id); });
  });

  $('webhooks-open').addEventListener('click', function () { window.location.hash = '#/webhooks'; });
  $('webhooks-back').addEventListener('click', goToList);
  $('webhook-form').addEventListener('submit', onWebhookSubmit);
  $('webhooks').addEventListener('click', onWebhooksClick);
  $('webhook-secret-copy').addEventListener('click', copySecret);
  $('webhook-secret-done').addEventListener('click', hideSecret);
  ['wh-url', 'wh-description'].forEach(function (id) {
    $(id).addEventListener('input', function () { clearFieldError(id); });
  });

  bindCalendar();

  window.addEventListener('hashchange', route);
  document.addEventListener('visibilitychange', onVisibilityChange);
  window.addEventListener('pagehide', function () { sendLeave(state.watch); });
  window.addEventListener('pageshow', function (e) { if (e.persisted && state.watch) heartbeat(); });
  window.addEventListener('storage', function (e) { if (e.key === TOKEN_KEY) refreshAuth(); });
}

function start() {
  bind();
  setAuth(null, null);
  refreshAuth().then(function () {
    probeDevSignIn();
    loadSessions();
    connectEvents();
    route();
  });
}

// auth.js imports api.js and list.js reads auth's state, so these two links are made here
// rather than by imports that would go round in a circle.
setTokenSource(requestToken);
onAuthChange(renderGrid);
onAuthChange(renderCalendarAuth);

/** For host applications whose token changes (e.g. after their own sign-in). */
window.LiveSessions = { refreshAuth: refreshAuth, reload: function () { return loadSessions(); } };

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
