/* Series: the repeat picker of the session form (its RRULE) and the series page
 * (#/series/<seriesId>): the occurrences with their status and, for admins, each student's
 * attendance ("attended N of M"). */

import { api } from './api.js';
import { $, clear, h } from './dom.js';
import { reportError } from './errors.js';
import { formatDateTime, formatDuration } from './format.js';
import { sessionId, STATUS_LABELS, statusOf } from './session.js';
import { state } from './state.js';

const WEEKDAYS = ['SU', 'MO', 'TU', 'WE', 'TH', 'FR', 'SA'];
const MAX_OCCURRENCES = 200;

/** Shows the picker's parts that the chosen frequency uses. */
export function onRepeatChange() {
  var freq = $('f-repeat').value;
  $('f-repeat-days').hidden = freq !== 'WEEKLY';
  $('f-repeat-end').hidden = !freq;
}

/** Puts the picker back to "Does not repeat". */
export function resetRepeat() {
  $('f-repeat').value = '';
  onRepeatChange();
}

/** The RRULE the picker describes (`{ rule }`, `rule` null for none), or `{ error }` naming what
 * is wrong. `startLocal` is the form's start (`datetime-local`), whose weekday a weekly series
 * without chosen days repeats on. */
export function repeatRule(startLocal) {
  var freq = $('f-repeat').value;
  if (!freq) return { rule: null };
  var parts = ['FREQ=' + freq];
  if (freq === 'WEEKLY') {
    var days = Array.prototype.map.call(
      $('f-repeat-days').querySelectorAll('input:checked'), function (box) { return box.value; });
    var start = new Date(startLocal || '');
    if (!days.length && !isNaN(start.getTime())) days = [WEEKDAYS[start.getDay()]];
    if (days.length) parts.push('BYDAY=' + days.join(','));
  }
  if ($('f-repeat-by-until').checked) {
    var until = $('f-repeat-until').value;
    if (!/^\d{4}-\d{2}-\d{2}$/.test(until)) return { error: 'Choose the date of the last session.' };
    parts.push('UNTIL=' + until.replace(/-/g, ''));
  } else {
    var count = Number($('f-repeat-count').value);
    if (!Number.isInteger(count) || count < 1 || count > MAX_OCCURRENCES) {
      return { error: 'Enter a number of sessions from 1 to ' + MAX_OCCURRENCES + '.' };
    }
    parts.push('COUNT=' + count);
  }
  return { rule: parts.join(';') };
}

var seriesSeq = 0;

/** Opens the series page of `seriesId`. */
export function openSeries(seriesId) {
  var seq = ++seriesSeq;
  $('series-view').dataset.id = seriesId;
  $('series-title').textContent = 'Series';
  $('series-meta').textContent = 'Loading…';
  clear($('series-occurrences'));
  $('series-summary-panel').hidden = true;
  $('series-title').focus();
  api('GET', '/live-sessions/series/' + encodeURIComponent(seriesId))
    .then(function (sessions) {
      if (seq !== seriesSeq) return;
      renderOccurrences(sessions || []);
      if (state.auth.admin) return loadSummary(seriesId, seq);
    })
    .catch(function (err) {
      if (seq !== seriesSeq) return;
      $('series-meta').textContent = '';
      reportError(err, 'Could not load the series');
    });
}

function renderOccurrences(sessions) {
  var first = sessions[0];
  $('series-title').textContent = 'Series: ' + (first ? first.title : '');
  document.title = $('series-title').textContent + ' – Live Sessions';
  $('series-meta').textContent = sessions.length + (sessions.length === 1 ? ' session' : ' sessions') +
    (first && first.recurrence ? ' · ' + first.recurrence : '');
  var list = $('series-occurrences');
  clear(list);
  sessions.forEach(function (s) {
    var status = statusOf(s);
    list.appendChild(h('li', { class: 'series-occurrence is-' + status, dataset: { id: sessionId(s) } },
      h('time', { datetime: s.startTime }, formatDateTime(s.startTime)),
      ' ',
      h('span', { class: 'status status-' + status, text: STATUS_LABELS[status] }),
      ' ',
      h('span', { class: 'series-occurrence-title', text: s.title })));
  });
}

function loadSummary(seriesId, seq) {
  return api('GET', '/admin/series/' + encodeURIComponent(seriesId) + '/summary?limit=500')
    .then(function (summary) {
      if (seq !== seriesSeq || !summary) return;
      $('series-summary-panel').hidden = false;
      $('series-summary-note').textContent = summary.ended + ' of ' + summary.occurrences +
        ' sessions have ended. Attended: watched at least ' + summary.thresholdPercent + ' % of a session.';
      var body = $('series-summary').querySelector('tbody');
      clear(body);
      summary.students.forEach(function (row) {
        body.appendChild(h('tr', null,
          h('td', { 'data-label': 'Name', text: row.userName }),
          h('td', { 'data-label': 'Email', text: row.email }),
          h('td', { 'data-label': 'Attended', class: 'series-attended' }, row.attended + ' of ' + row.ended),
          h('td', { 'data-label': 'Watch time' }, formatDuration(row.watchSeconds))));
      });
      $('series-summary-empty').hidden = summary.students.length > 0;
    });
}
