/* Formatting for display: dates in the viewer's zone, durations, when a session ran, the start
 * time sent to the API, placeholder initials. */

const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
export const viewerZone = (function () {
  try { return Intl.DateTimeFormat().resolvedOptions().timeZone || ''; } catch (e) { return ''; }
})();

export function formatDateTime(iso) {
  if (!iso) return '';
  var date = new Date(iso);
  return isNaN(date.getTime()) ? '' : dateTimeFormat.format(date);
}

export function formatDuration(seconds) {
  var total = Math.max(0, Math.round(Number(seconds) || 0));
  var hours = Math.floor(total / 3600);
  var minutes = Math.floor((total % 3600) / 60);
  var secs = total % 60;
  return hours + ':' + String(minutes).padStart(2, '0') + ':' + String(secs).padStart(2, '0');
}

/** A length in words for people: "1 h 2 min", "45 min", "under a minute". */
export function formatSpan(seconds) {
  var minutes = Math.floor(Math.max(0, Number(seconds) || 0) / 60);
  if (minutes < 1) return 'under a minute';
  var hours = Math.floor(minutes / 60);
  var rest = minutes % 60;
  if (!hours) return rest + ' min';
  return rest ? hours + ' h ' + rest + ' min' : hours + ' h';
}

/** When an ended session ran and for how long ("Ran Mar 4, 2031, 10:00 – 11:02 AM (1 h 2 min)"),
 * or '' when it never started. */
export function formatRan(s) {
  var start = new Date(s.startedAt || '');
  var end = new Date(s.endedAt || '');
  if (isNaN(start.getTime())) return '';
  var when;
  if (isNaN(end.getTime()) || end < start) when = dateTimeFormat.format(start);
  else if (typeof dateTimeFormat.formatRange === 'function') when = dateTimeFormat.formatRange(start, end);
  else when = dateTimeFormat.format(start) + ' – ' + dateTimeFormat.format(end);
  return 'Ran ' + when + ' (' + formatSpan(s.liveSeconds) + ')';
}

const timeFormat = new Intl.DateTimeFormat(undefined, { timeStyle: 'short' });
const dayFormat = new Intl.DateTimeFormat(undefined, { weekday: 'short', month: 'short', day: 'numeric' });
const dayYearFormat = new Intl.DateTimeFormat(undefined, { weekday: 'short', month: 'short', day: 'numeric', year: 'numeric' });
/** Below this a start is given as a span ("in 2 h 5 min"); from it on, as a day and a time. */
const RELATIVE_START_MS = 6 * 3600 * 1000;

function dayNumber(date) {
  return Math.round(new Date(date.getFullYear(), date.getMonth(), date.getDate()).getTime() / 86400000);
}

/** When a session starts, seen from `now` (ms): "Starts in 35 min", "Starts tomorrow at 10:00 AM",
 * "Starts Tue, Mar 4 at 10:00 AM", "Starting now" once the time has passed; with `auto`, "Starts
 * automatically in 35 min". '' for a missing or invalid time. */
export function formatStartsIn(iso, auto, now) {
  var start = new Date(iso || '');
  if (!iso || isNaN(start.getTime())) return '';
  var left = start.getTime() - now;
  if (left <= 0) return 'Starting now';
  var starts = auto ? 'Starts automatically ' : 'Starts ';
  if (left < RELATIVE_START_MS) return starts + 'in ' + formatSpan(left / 1000);
  var today = new Date(now);
  var days = dayNumber(start) - dayNumber(today);
  var at = ' at ' + timeFormat.format(start);
  if (days === 0) return starts + 'today' + at;
  if (days === 1) return starts + 'tomorrow' + at;
  var format = start.getFullYear() === today.getFullYear() ? dayFormat : dayYearFormat;
  return starts + format.format(start) + at;
}

function pad2(n) { return String(n).padStart(2, '0'); }

/** A countdown to a start `left` ms away, to the second: "1 h 02 min", "4 min 05 s", "9 s"; ''
 * once the time has come. */
export function formatCountdown(left) {
  var seconds = Math.ceil(Number(left) / 1000);
  if (!(seconds > 0)) return '';
  var hours = Math.floor(seconds / 3600);
  var minutes = Math.floor(seconds / 60) % 60;
  if (hours) return hours + ' h ' + pad2(minutes) + ' min';
  if (minutes) return minutes + ' min ' + pad2(seconds % 60) + ' s';
  return seconds + ' s';
}

/** Converts a `datetime-local` value to RFC 3339 with the viewer's offset at that moment. */
export function localInputToRfc3339(value) {
  var m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?$/.exec(value || '');
  if (!m) return null;
  var date = new Date(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0));
  if (isNaN(date.getTime())) return null;
  var offset = -date.getTimezoneOffset();
  var sign = offset >= 0 ? '+' : '-';
  var abs = Math.abs(offset);
  return date.getFullYear() + '-' + pad2(date.getMonth() + 1) + '-' + pad2(date.getDate()) +
    'T' + pad2(date.getHours()) + ':' + pad2(date.getMinutes()) + ':' + pad2(date.getSeconds()) +
    sign + pad2(Math.floor(abs / 60)) + ':' + pad2(abs % 60);
}

export function initials(title) {
  var words = String(title || '').trim().split(/\s+/).filter(Boolean);
  var letters = words.slice(0, 2).map(function (w) { return Array.from(w)[0]; }).join('');
  return (letters || '?').toUpperCase();
}

export function hashIndex(text, n) {
  var hash = 0;
  for (var i = 0; i < text.length; i++) hash = (hash * 31 + text.charCodeAt(i)) >>> 0;
  return hash % n;
}
