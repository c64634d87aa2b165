/* The analytics page (#/sessions/<id>/analytics): the report, the attendance table and the CSV
 * download. */

import { showAlert } from './alerts.js';
import { api, API } from './api.js';
import { promptSignIn, signedIn } from './auth.js';
import { $, clear, h, isBusy, setBusy } from './dom.js';
import { reportError } from './errors.js';
import { formatDateTime, formatDuration } from './format.js';
import { STATUS_LABELS, statusOf } from './session.js';
import { state } from './state.js';

function attendanceUrl(id) {
  return API + '/admin/live-sessions/' + encodeURIComponent(id) + '/participants?sort=joinTime&order=asc&limit=1000';
}

export function openAnalytics(id) {
  var seq = ++state.analyticsSeq;
  $('analytics-view').dataset.id = id;
  var known = state.sessions.get(id);
  $('analytics-title').textContent = 'Analytics: ' + (known ? known.title : '…');
  $('analytics-title').focus();
  if (!signedIn()) { promptSignIn(); showAlert('Sign in as an admin to see analytics.', 'info'); return; }
  loadAnalytics(id, seq, false);
}

export function loadAnalytics(id, seq, quiet) {
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
    renderReport(r[0] || {});
    renderAttendees((r[1] && r[1].participants) || []);
  }).catch(function (err) {
    if (seq !== state.analyticsSeq || quiet) return;
    reportError(err, 'Could not load analytics');
  });
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
  list.forEach(function (p) {
    var seconds = p.watchSeconds !== undefined ? p.watchSeconds : (Number(p.watchDuration) || 0) * 60;
    body.appendChild(h('tr', {},
      h('td', { text: p.userName || '' }),
      h('td', { text: p.email || '' }),
      h('td', {}, h('time', { datetime: p.joinTime || null, text: formatDateTime(p.joinTime) })),
      h('td', { class: 'num', text: formatDuration(seconds) }),
      h('td', { class: 'num', text: String(Number(p.joinCount) || 1) }),
      h('td', { text: p.present ? 'Yes' : 'No' })));
  });
  $('attendees-empty').hidden = list.length > 0;
}

let analyticsTimer = null;
export function scheduleAnalyticsRefresh() {
  clearTimeout(analyticsTimer);
  analyticsTimer = setTimeout(function () {
    if (state.route.name === 'analytics') loadAnalytics(state.route.id, ++state.analyticsSeq, true);
  }, 1000);
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
