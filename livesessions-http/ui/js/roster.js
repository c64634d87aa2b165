/* The roster section of the analytics page: who is expected and whether they came. An admin
 * adds one member, uploads a CSV file (userId,userName,email; the server's per-row errors are
 * listed), removes members, filters by status and downloads the roster as CSV. Each row shows a
 * status badge (present, partial, late, lobby only, absent). */

import { clearFieldError, clearFieldErrors, setFieldError, showAlert } from './alerts.js';
import { api, ApiError } from './api.js';
import { confirmDialog } from './dialogs.js';
import { $, clear, h, isBusy, setBusy } from './dom.js';
import { handleFormError, reportError } from './errors.js';
import { formatDateTime, formatDuration } from './format.js';
import { upsertSession } from './list.js';
import { state } from './state.js';

export const STATUS_BADGES = {
  present: 'Present', partial: 'Partial', lobby_only: 'Lobby only', absent: 'Absent'
};
const ADD_FIELDS = { userId: 'roster-user-id', userName: 'roster-user-name', email: 'roster-email' };
// Rows per page of the table (Previous and Next page through the rest; the CSV has every row).
const PAGE = 100;

let rosterSeq = 0;
// The first row of the page shown.
let rosterOffset = 0;

function rosterPath(id) {
  return '/admin/live-sessions/' + encodeURIComponent(id) + '/roster';
}

function currentId() {
  return state.route.name === 'analytics' ? state.route.id : null;
}

/** Reads session `id` again after its roster changed: under a capacity the roster's members
 * hold reserved seats, so its card's seats change (a roster change sends no event). */
function refreshSeats(id) {
  api('GET', '/live-sessions/' + encodeURIComponent(id)).then(function (s) {
    if (s && s.capacity !== null && s.capacity !== undefined && state.sessions.has(id)) upsertSession(s);
  }, function () {});
}

/** Loads the roster of session `id` with the chosen filter; `quiet` keeps failures silent. */
export function loadRoster(id, quiet) {
  var seq = ++rosterSeq;
  var filter = $('roster-filter').value;
  var query = '?sort=name&limit=' + PAGE + '&offset=' + rosterOffset +
    (filter ? '&status=' + encodeURIComponent(filter) : '');
  return api('GET', rosterPath(id) + query).then(function (page) {
    if (seq !== rosterSeq || currentId() !== id) return;
    page = page || {};
    var total = Number(page.total) || 0;
    if (rosterOffset > 0 && rosterOffset >= total) {
      // The page shown is gone (members were removed): show the last one there is.
      rosterOffset = Math.max(0, Math.floor((total - 1) / PAGE) * PAGE);
      return loadRoster(id, quiet);
    }
    renderRoster(page, filter);
  }, function (err) {
    if (seq !== rosterSeq || quiet) return;
    reportError(err, 'Could not load the roster');
  });
}

/** Empties the section (the analytics view opens another session, or closes). */
export function resetRoster() {
  rosterSeq++;
  rosterOffset = 0;
  $('roster-pager').hidden = true;
  clear(document.querySelector('#roster-table tbody'));
  $('roster-counts').textContent = '';
  $('roster-filter').value = '';
  hideUploadErrors();
  clearFieldErrors(['roster-user-id', 'roster-user-name', 'roster-email', 'roster-file']);
  $('roster-add-form').reset();
  $('roster-upload-form').reset();
}

/** A status badge, and "Late" beside it when the first presence was late. */
export function statusBadges(status, late) {
  return [
    h('span', { class: 'badge badge-' + status.replace('_', '-'), text: STATUS_BADGES[status] || status }),
    late ? h('span', { class: 'badge badge-late', text: 'Late' }) : null
  ];
}

function renderRoster(page, filter) {
  var counts = page.counts || {};
  $('roster-counts').textContent = (Number(page.members) || 0) + ' on the roster · ' +
    (Number(counts.present) || 0) + ' present · ' + (Number(counts.partial) || 0) + ' partial · ' +
    (Number(counts.late) || 0) + ' late · ' + (Number(counts.lobbyOnly) || 0) + ' lobby only · ' +
    (Number(counts.absent) || 0) + ' absent';
  var body = document.querySelector('#roster-table tbody');
  clear(body);
  var rows = Array.isArray(page.rows) ? page.rows : [];
  rows.forEach(function (r) {
    var name = r.userName || r.userId || '';
    var remove = r.onRoster
      ? h('button', {
        type: 'button', class: 'btn btn-ghost btn-small roster-remove',
        dataset: { userId: r.userId, userName: name }, 'aria-label': 'Remove ' + name + ' from the roster'
      }, 'Remove')
      : h('span', { class: 'note', text: 'Not on the roster' });
    body.appendChild(h('tr', { dataset: { userId: r.userId, status: r.status } },
      h('td', { dataset: { label: 'Name' }, text: name }),
      h('td', { dataset: { label: 'Email' }, text: r.email || '' }),
      h('td', { class: 'roster-status', dataset: { label: 'Status' } }, statusBadges(r.status, r.late)),
      h('td', { dataset: { label: 'Join time' } },
        r.joinTime ? h('time', { datetime: r.joinTime, text: formatDateTime(r.joinTime) }) : '—'),
      h('td', { class: 'num', dataset: { label: 'Watch time' }, text: formatDuration(r.watchSeconds) }),
      h('td', { dataset: { label: 'Actions' } }, remove)));
  });
  renderPager(rows.length, Number(page.total) || 0);
  var empty = $('roster-empty');
  empty.hidden = rows.length > 0;
  empty.textContent = filter ? 'No one on this roster has that status.' : 'No one is on the roster yet.';
}

/** "Rows 101–200 of 250" between Previous and Next, shown when the rows fill more than a page. */
function renderPager(shown, total) {
  var pager = $('roster-pager');
  pager.hidden = rosterOffset === 0 && total <= PAGE;
  $('roster-range').textContent = shown
    ? 'Rows ' + (rosterOffset + 1) + '–' + (rosterOffset + shown) + ' of ' + total
    : '';
  $('roster-prev').disabled = rosterOffset === 0;
  $('roster-next').disabled = rosterOffset + shown >= total;
}

/** Shows the page `direction` (-1 or 1) pages away. */
export function onRosterPage(direction) {
  var id = currentId();
  if (!id) return;
  rosterOffset = Math.max(0, rosterOffset + direction * PAGE);
  loadRoster(id, false);
}

export function onRosterFilterChange() {
  var id = currentId();
  rosterOffset = 0;
  if (id) loadRoster(id, false);
}

/** Adds the member of the small form. */
export function onRosterAdd(event) {
  event.preventDefault();
  var id = currentId();
  var button = $('roster-add-submit');
  if (!id || isBusy(button)) return;
  clearFieldErrors(['roster-user-id', 'roster-user-name', 'roster-email']);
  var member = {
    userId: $('roster-user-id').value.trim(),
    userName: $('roster-user-name').value.trim(),
    email: $('roster-email').value.trim()
  };
  var missing = Object.keys(ADD_FIELDS).filter(function (k) { return !member[k]; });
  if (missing.length) {
    missing.forEach(function (k) { setFieldError(ADD_FIELDS[k], 'Required.'); });
    $(ADD_FIELDS[missing[0]]).focus();
    return;
  }
  setBusy(button, true);
  api('POST', rosterPath(id), { json: { members: [member] } })
    .then(function () {
      $('roster-add-form').reset();
      showAlert('Added to the roster: ' + member.userName, 'success');
      $('roster-user-id').focus();
      refreshSeats(id);
      return loadRoster(id, false);
    })
    .catch(function (err) {
      // The server names `rows[1].field` for the one member sent.
      if (err instanceof ApiError) {
        err.errors = err.errors.map(function (e) {
          return { field: String(e.field).replace(/^rows\[1\]\./, ''), code: e.code, message: e.message };
        });
      }
      handleFormError(err, ADD_FIELDS);
    })
    .then(function () { setBusy(button, false); });
}

function hideUploadErrors() {
  var box = $('roster-upload-errors');
  box.hidden = true;
  clear($('roster-upload-error-list'));
}

/** "Row 57, email: …" for `rows[57].email`; the header and the count as they are. */
function describeRowError(e) {
  var m = /^rows\[(\d+)\]\.(\w+)$/.exec(String(e.field || ''));
  var what = m ? 'Row ' + m[1] + ', ' + m[2] : e.field === 'header' ? 'Header' : e.field === 'rows' ? 'Rows' : String(e.field || '');
  return what + ': ' + (e.message || e.code || 'invalid');
}

/** Uploads the chosen CSV file; every problem the server names is listed, and nothing is added. */
export function onRosterUpload(event) {
  event.preventDefault();
  var id = currentId();
  var button = $('roster-upload-submit');
  if (!id || isBusy(button)) return;
  hideUploadErrors();
  clearFieldError('roster-file');
  var file = $('roster-file').files[0];
  if (!file) { setFieldError('roster-file', 'Choose a CSV file.'); $('roster-file').focus(); return; }
  setBusy(button, true);
  api('POST', rosterPath(id), { body: file, contentType: 'text/csv' })
    .then(function (result) {
      $('roster-upload-form').reset();
      var added = result ? Number(result.added) || 0 : 0;
      showAlert('Roster uploaded: ' + added + (added === 1 ? ' new member' : ' new members') +
        ', ' + (result ? Number(result.members) || 0 : 0) + ' on the roster.', 'success');
      refreshSeats(id);
      return loadRoster(id, false);
    })
    .catch(function (err) {
      if (!(err instanceof ApiError) || err.status !== 422 || !err.errors.length) {
        reportError(err, 'Could not upload the roster');
        return;
      }
      var list = $('roster-upload-error-list');
      err.errors.slice(0, 100).forEach(function (e) { list.appendChild(h('li', { text: describeRowError(e) })); });
      if (err.errors.length > 100) list.appendChild(h('li', { text: '… and ' + (err.errors.length - 100) + ' more.' }));
      $('roster-upload-summary').textContent = 'Nothing was added: the file has ' + err.errors.length +
        (err.errors.length === 1 ? ' problem.' : ' problems.') + ' Fix them and upload it again.';
      $('roster-upload-errors').hidden = false;
      $('roster-upload-errors').focus();
    })
    .then(function () { setBusy(button, false); });
}

/** Clicks in the table: Remove asks first. */
export function onRosterClick(event) {
  var button = event.target.closest('button.roster-remove');
  var id = currentId();
  if (!button || !id || isBusy(button)) return;
  var userId = button.dataset.userId;
  var name = button.dataset.userName;
  confirmDialog('Remove ' + name + ' from the roster? Their attendance, if any, stays.', 'Remove', button)
    .then(function (ok) {
      if (!ok) return;
      setBusy(button, true);
      return api('DELETE', rosterPath(id) + '/' + encodeURIComponent(userId))
        .then(function () {
          showAlert('Removed from the roster: ' + name, 'success');
          refreshSeats(id);
          return loadRoster(id, false);
        })
        .catch(function (err) { setBusy(button, false); reportError(err, 'Could not remove the member'); });
    });
}

/* The file name the server gives in Content-Disposition: filename* when it decodes, else
   filename; null without one. */
function fileName(disposition) {
  if (!disposition) return null;
  var star = /filename\*=UTF-8''([^;\s]+)/i.exec(disposition);
  if (star) {
    try { return decodeURIComponent(star[1]); } catch (e) { /* fall back to filename */ }
  }
  var plain = /filename="([^"]*)"/i.exec(disposition);
  return plain ? plain[1] : null;
}

/** Downloads the whole roster (every status) as CSV. */
export function downloadRosterCsv() {
  var id = currentId();
  var button = $('roster-download');
  if (!id || isBusy(button)) return;
  setBusy(button, true);
  var name = 'roster-' + id + '.csv';
  api('GET', rosterPath(id) + '?format=csv', { accept: 'text/csv', raw: true })
    .then(function (res) {
      name = fileName(res.headers.get('Content-Disposition')) || name;
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
    .catch(function (err) { reportError(err, 'Could not download the roster'); })
    .then(function () { setBusy(button, false); });
}
