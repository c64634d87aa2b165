/* Formatting for display: dates in the viewer's zone, durations, the start time sent to the API,
 * placeholder initials. */

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

function pad2(n) { return String(n).padStart(2, '0'); }

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
