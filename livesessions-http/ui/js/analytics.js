/* The analytics page (#/sessions/<id>/analytics): the report, the attendance table and the CSV
 * download. While the view is open and the session is live, the report and the table are fetched
 * again on an interval (a leave or a presence time-out publishes no event), and the live time and
 * the open watch times tick every second from the last report. */

import { showAlert } from './alerts.js';
import { api, API } from './api.js';
import { promptSignIn, signedIn } from './auth.js';
import { $, clear, h, isBusy, setBusy } from './dom.js';
import { reportError } from './errors.js';
import { formatDateTime, formatDuration } from './format.js';
import { loadRoster, resetRoster } from './roster.js';
import { STATUS_LABELS, statusOf } from './session.js';
import { state } from './state.js';

function attendanceUrl(id) {
  return API + '/admin/live-sessions/' + encodeURIComponent(id) + '/participants?sort=joinTime&order=asc&limit=1000';
}

// Leaves, rejoins and presence time-outs publish no event: refetch this often while live.
const REFRESH_MS = 12000;
// Events about the open session within this window lead to one fetch.
const EVENT_DEBOUNCE_MS = 1000;
const timeFormat = new Intl.DateTimeFormat(undefined, { timeStyle: 'medium' });

// The open view: the last report, when it arrived, whether the session is live, the watch-time
// cells of the attendees watching now, and the timers.
const view = {
  id: null, report: null, shownAt: 0, live: false, open: [],
  refreshTimer: null, tickTimer: null, eventTimer: null
};

export function openAnalytics(id) {
  stopAnalytics();
  var seq = ++state.analyticsSeq;
  $('analytics-view').dataset.id = id;
  var known = state.sessions.get(id);
  $('analytics-title').textContent = 'Analytics: ' + (known ? known.title : '…');
  $('analytics-title').focus();
  resetRoster();
  if (!signedIn()) { promptSignIn(); showAlert('Sign in as an admin to see analytics.', 'info'); return; }
  loadAnalytics(id, seq, false);
}

/** Stops the view's refreshes and clock; the router calls it when the view is left. */
export function stopAnalytics() {
  clearTimeout(view.refreshTimer);
  clearTimeout(view.eventTimer);
  clearInterval(view.tickTimer);
  view.refreshTimer = view.eventTimer = view.tickTimer = null;
  if (view.id !== null) document.removeEventListener('visibilitychange', onVisibilityChange);
  view.id = null;
  view.report = null;
  view.open = [];
  view.live = false;
  $('analytics-updated').textContent = '';
}

function isShowing(id) {
  return id !== null && state.route.name === 'analytics' && state.route.id === id;
}

export function loadAnalytics(id, seq, quiet) {
  if (view.id !== id) {
    stopAnalytics();
    view.id = id;
    document.addEventListener('visibilitychange', onVisibilityChange);
  }
  clearTimeout(view.refreshTimer);
  view.refreshTimer = null;
  var base = '/admin/live-sessions/' + encodeURIComponent(id);
  var session = api('GET', '/live-sessions/' + encodeURIComponent(id));
  var report = api('GET', base + '/analytics');
  var attendance = api('GET', attendanceUrl(id));
  session.then(function (s) {
    if (seq !== state.analyticsSeq) return;
    $('analytics-title').textContent = 'Analytics: ' + (s.title || 'Untitled session');
    document.title = 'Analytics · ' + (s.title || 'Session') + ' · Live Sessions';
    $('analytics-meta').textContent = (s.instructor ? '👨‍🏫 ' + s.instructor + ' · ' : '') +
      formatDateTime(s.startTime) + ' · ' + STATUS_LABELS[statusOf(s)];
  }, function () {});
  return Promise.all([report, attendance, session.catch(function () { return null; })]).then(function (r) {
    if (seq !== state.analyticsSeq) return;
    if (r[2]) view.live = statusOf(r[2]) === 'live';
    view.report = r[0] || {};
    view.shownAt = performance.now();
    renderReport(view.report);
    renderAttendees((r[1] && r[1].participants) || []);
    loadRoster(id, quiet);
    $('analytics-updated').textContent = 'Updated at ' + timeFormat.format(new Date()) +
      (view.live ? '. The figures update by themselves while the session is live.' : '.');
    keepUpdating(id);
  }).catch(function (err) {
    if (seq !== state.analyticsSeq) return;
    // Signed out or no longer an admin: asking again will not help.
    if (err && (err.status === 401 || err.status === 403)) stopAnalytics();
    else keepUpdating(id);
    if (!quiet) reportError(err, 'Could not load analytics');
  });
}

/** Plans the next fetch and runs the clock while the session is live and the tab is visible. */
function keepUpdating(id) {
  if (!isShowing(id) || view.id !== id) return;
  clearTimeout(view.refreshTimer);
  view.refreshTimer = null;
  var active = view.live && !document.hidden;
  if (active) {
    view.refreshTimer = setTimeout(function () { refreshNow(id); }, REFRESH_MS);
    if (!view.tickTimer) view.tickTimer = setInterval(tick, 1000);
  } else {
    clearInterval(view.tickTimer);
    view.tickTimer = null;
  }
}

function refreshNow(id) {
  view.refreshTimer = null;
  if (isShowing(id) && view.id === id) loadAnalytics(id, ++state.analyticsSeq, true);
}

function onVisibilityChange() {
  if (document.hidden) {
    clearTimeout(view.refreshTimer);
    clearInterval(view.tickTimer);
    view.refreshTimer = view.tickTimer = null;
  } else if (view.live) {
    refreshNow(view.id);
  }
}

/** Advances the live time and the open watch times by the seconds since the last report. */
function tick() {
  var r = view.report;
  if (!r || !view.live || !isShowing(view.id)) return;
  var elapsed = Math.floor((performance.now() - view.shownAt) / 1000);
  var participants = Number(r.participants) || 0;
  var total = (Number(r.totalWatchSeconds) || 0) + (Number(r.watching) || 0) * elapsed;
  var max = Number(r.maxWatchSeconds) || 0;
  view.open.forEach(function (o) {
    var seconds = o.seconds + elapsed;
    o.cell.textContent = formatDuration(seconds);
    max = Math.max(max, seconds);
  });
  $('analytics-live').textContent = formatDuration((Number(r.liveSeconds) || 0) + elapsed);
  $('analytics-total').textContent = formatDuration(total);
  $('analytics-average').textContent = formatDuration(participants ? total / participants : 0);
  $('analytics-max').textContent = formatDuration(max);
}

function renderReport(r) {
  $('analytics-participants').textContent = String(Number(r.participants) || 0);
  $('analytics-watching').textContent = String(Number(r.watching) || 0);
  $('analytics-attended').textContent = String(Number(r.attended) || 0);
  $('analytics-attended-label').textContent = 'Attended (≥ ' + (Number(r.thresholdPercent) || 0) + '% of live time)';
  $('analytics-average').textContent = formatDuration(r.averageWatchSeconds);
  $('analytics-max').textContent = formatDuration(r.maxWatchSeconds);
  $('analytics-total').textContent = formatDuration(r.totalWatchSeconds);
  $('analytics-live').textContent = formatDuration(r.liveSeconds);
}

function renderAttendees(list) {
  var body = document.querySelector('#attendees tbody');
  clear(body);
  view.open = [];
  list.forEach(function (p) {
    var seconds = p.watchSeconds !== undefined ? p.watchSeconds : (Number(p.watchDuration) || 0) * 60;
    // data-label names the column where narrow screens stack a row's cells (app.css).
    var watched = h('td', { class: 'num', dataset: { label: 'Watch time' }, text: formatDuration(seconds) });
    if (p.present) view.open.push({ cell: watched, seconds: Number(seconds) || 0 });
    body.appendChild(h('tr', {},
      h('td', { dataset: { label: 'Name' }, text: p.userName || '' }),
      h('td', { dataset: { label: 'Email' }, text: p.email || '' }),
      h('td', { dataset: { label: 'Join time' } },
        h('time', { datetime: p.joinTime || null, text: formatDateTime(p.joinTime) })),
      watched,
      h('td', { class: 'num', dataset: { label: 'Joins' }, text: String(Number(p.joinCount) || 1) }),
      h('td', { dataset: { label: 'Watching' }, text: p.present ? 'Yes' : 'No' })));
  });
  $('attendees-empty').hidden = list.length > 0;
}

/** An event about the open session: one fetch for a burst of them. */
export function scheduleAnalyticsRefresh() {
  if (view.eventTimer || view.id === null) return;
  var id = view.id;
  view.eventTimer = setTimeout(function () {
    view.eventTimer = null;
    refreshNow(id);
  }, EVENT_DEBOUNCE_MS);
}

/* The file name the server gives in Content-Disposition: filename* (RFC 6266, UTF-8) when it
   decodes, else filename; null without one. */
function csvFileName(disposition) {
  if (!disposition) return null;
  var star = /filename\*=UTF-8''([^;\s]+)/i.exec(disposition);
  if (star) {
    try { return decodeURIComponent(star[1]); } catch (e) { /* fall back to filename */ }
  }
  var plain = /filename="([^"]*)"/i.exec(disposition);
  return plain ? plain[1] : null;
}

export function downloadCsv() {
  var id = state.route.id;
  var button = $('download-csv');
  if (isBusy(button)) return;
  setBusy(button, true);
  var name = 'attendance-' + id + '.csv';
  api('GET', attendanceUrl(id), { accept: 'text/csv', raw: true })
    .then(function (res) {
      name = csvFileName(res.headers.get('Content-Disposition')) || name;
      return res.blob();
    })
    .then(function (blob) {
      var url = URL.createObjectURL(blob);
      var a = h('a', { href: url, download: name, hidden: true });
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
    })
    .catch(function (err) { reportError(err, 'Could not download the CSV'); })
    .then(function () { setBusy(button, false); });
}
