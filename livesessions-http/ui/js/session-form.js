/* The admin form that creates a session or edits one (prefilled, "Save changes", replace or
 * remove the thumbnail), with its thumbnail preview and checks. */

import { clearFieldError, clearFieldErrors, setFieldError, showAlert } from './alerts.js';
import { api, ApiError } from './api.js';
import { showSessionForm } from './auth.js';
import { $, isBusy, safeUrl, setBusy } from './dom.js';
import { handleFormError, reportError } from './errors.js';
import { localInputToRfc3339, viewerZone } from './format.js';
import { findCard, loadSessions, upsertSession } from './list.js';
import { repeatRule, resetRepeat } from './series.js';
import { sessionId } from './session.js';

const MAX_THUMBNAIL_BYTES = 5 * 1024 * 1024;
const THUMBNAIL_TYPES = ['image/jpeg', 'image/png', 'image/gif', 'image/webp'];
const FORM_FIELDS = {
  title: 'f-title', instructor: 'f-instructor', startTime: 'f-start', timezone: 'f-start',
  videoUrl: 'f-video', description: 'f-description', thumbnail: 'f-thumbnail', thumbnailUrl: 'f-thumbnail',
  endTime: 'f-end', autoEnd: 'f-end', autoStart: 'f-start', isLive: 'f-live',
  recurrence: 'f-repeat'
};
const TEXT_FIELDS = ['f-title', 'f-instructor', 'f-start', 'f-end', 'f-video', 'f-description', 'f-thumbnail', 'f-repeat'];
const MAX_SESSION_MS = 24 * 3600 * 1000;
FORM_FIELDS.endWhenEmptyMinutes = 'f-empty';
TEXT_FIELDS.push('f-empty');
FORM_FIELDS.capacity = 'f-capacity';
TEXT_FIELDS.push('f-capacity');
FORM_FIELDS.restricted = 'f-restricted';
FORM_FIELDS.registration = 'f-registration';
FORM_FIELDS.attendanceThreshold = 'f-threshold';
FORM_FIELDS.lateAfterMinutes = 'f-late';
TEXT_FIELDS.push('f-threshold', 'f-late');

/* The session being edited ({ session, opener }), or null while the form creates one. */
let editing = null;

let previewUrl = null;
/** Shows the chosen file; without one, the edited session's current thumbnail unless it is
 * being removed. */
function setPreview(file) {
  var img = $('f-thumbnail-preview');
  if (previewUrl) { URL.revokeObjectURL(previewUrl); previewUrl = null; }
  var current = editing && !$('f-thumbnail-remove').checked ? safeUrl(editing.session.thumbnail) : null;
  if (file) previewUrl = URL.createObjectURL(file);
  var src = previewUrl || current;
  if (!src) { img.hidden = true; img.removeAttribute('src'); return; }
  img.src = src;
  img.alt = previewUrl ? 'Selected thumbnail preview' : 'Current thumbnail';
  img.hidden = false;
}

function thumbnailProblem(file) {
  if (!file) return null;
  if (THUMBNAIL_TYPES.indexOf(file.type) === -1) return 'Choose a JPEG, PNG, GIF or WebP image.';
  if (file.size > MAX_THUMBNAIL_BYTES) return 'Choose an image of at most 5 MB.';
  if (file.size === 0) return 'The file is empty.';
  return null;
}

export function onThumbnailChange() {
  var file = $('f-thumbnail').files[0] || null;
  clearFieldError('f-thumbnail');
  var problem = thumbnailProblem(file);
  if (problem) { setFieldError('f-thumbnail', problem); setPreview(null); return; }
  if (file) $('f-thumbnail-remove').checked = false;
  setPreview(file);
}

/** "Remove thumbnail" drops a chosen file too, so that the two never disagree. */
export function onThumbnailRemoveChange() {
  if ($('f-thumbnail-remove').checked) {
    $('f-thumbnail').value = '';
    clearFieldError('f-thumbnail');
  }
  setPreview(null);
}

/** Empties the form and puts it back in create mode. */
export function resetSessionForm() {
  editing = null;
  $('session-form').reset();
  resetRepeat();
  setMode(null);
  setPreview(null);
  clearFieldErrors(TEXT_FIELDS);
}

/** The headings, button and fields of create mode (`s` null) or of editing `s`. */
function setMode(s) {
  $('session-form-heading').textContent = s ? 'Edit Session' : 'Create New Live Session';
  $('f-submit').textContent = s ? 'Save changes' : 'Create Session';
  $('f-live-field').hidden = !!s;
  // A series is made when creating; an occurrence's edit may reach the later ones.
  $('f-repeat-field').hidden = !!s;
  $('f-scope-field').hidden = !(s && s.seriesId);
  $('f-thumbnail-remove-field').hidden = !(s && s.thumbnail);
  $('f-start-hint').textContent = s && s.timezone && s.timezone !== viewerZone
    ? 'In your time zone; the session is shown in ' + s.timezone + '.'
    : 'In your time zone.';
}

/** The `datetime-local` value of an RFC 3339 time, in the viewer's zone as the input is read. */
export function rfc3339ToLocalInput(iso) {
  var date = new Date(iso || '');
  if (isNaN(date.getTime())) return '';
  var pad = function (n) { return String(n).padStart(2, '0'); };
  return date.getFullYear() + '-' + pad(date.getMonth() + 1) + '-' + pad(date.getDate()) +
    'T' + pad(date.getHours()) + ':' + pad(date.getMinutes());
}

/** The form's values as the session had them when the form was filled. */
function valuesOf(s) {
  return {
    title: s.title || '', instructor: s.instructor || '', startTime: rfc3339ToLocalInput(s.startTime),
    endTime: s.endTime ? rfc3339ToLocalInput(s.endTime) : '', autoStart: !!s.autoStart, autoEnd: !!s.autoEnd,
    endWhenEmptyMinutes: s.endWhenEmptyMinutes ? String(s.endWhenEmptyMinutes) : '',
    capacity: s.capacity ? String(s.capacity) : '',
    restricted: !!s.restricted, registration: s.registration === 'open',
    attendanceThreshold: s.attendanceThreshold ? String(s.attendanceThreshold) : '',
    lateAfterMinutes: s.lateAfterMinutes !== null && s.lateAfterMinutes !== undefined ? String(s.lateAfterMinutes) : '',
    videoUrl: s.videoUrl || '', description: s.description || ''
  };
}

function formValues() {
  return {
    title: $('f-title').value.trim(), instructor: $('f-instructor').value.trim(), startTime: $('f-start').value,
    endTime: $('f-end').value, autoStart: $('f-auto-start').checked, autoEnd: $('f-auto-end').checked,
    endWhenEmptyMinutes: $('f-empty').value.trim(),
    capacity: $('f-capacity').value.trim(),
    restricted: $('f-restricted').checked, registration: $('f-registration').checked,
    attendanceThreshold: $('f-threshold').value.trim(), lateAfterMinutes: $('f-late').value.trim(),
    videoUrl: $('f-video').value.trim(), description: $('f-description').value.trim()
  };
}

/** Loads the session afresh (the list's copy may lack the video URL, which live updates leave
 * out) and opens the form prefilled with it; `opener` gets focus back when the form closes. */
export function editSession(id, opener) {
  if (opener) setBusy(opener, true);
  return api('GET', '/live-sessions/' + encodeURIComponent(id))
    .then(function (s) {
      upsertSession(s);
      openEditForm(s, opener);
    })
    .catch(function (err) { reportError(err, 'Could not open the session for editing'); })
    .then(function () { if (opener) setBusy(opener, false); });
}

function openEditForm(s, opener) {
  resetSessionForm();
  editing = { session: s, opener: opener || null };
  var values = valuesOf(s);
  $('f-title').value = values.title;
  $('f-instructor').value = values.instructor;
  $('f-start').value = values.startTime;
  $('f-end').value = values.endTime;
  $('f-auto-start').checked = values.autoStart;
  $('f-auto-end').checked = values.autoEnd;
  $('f-empty').value = values.endWhenEmptyMinutes;
  $('f-capacity').value = values.capacity;
  $('f-restricted').checked = values.restricted;
  $('f-registration').checked = values.registration;
  $('f-threshold').value = values.attendanceThreshold;
  $('f-late').value = values.lateAfterMinutes;
  $('f-video').value = values.videoUrl;
  $('f-description').value = values.description;
  setMode(s);
  setPreview(null);
  showSessionForm(true);
  $('session-form').scrollIntoView({ block: 'start' });
  $('f-title').focus({ preventScroll: true });
}

/** Closes the form; focus goes back to the card's Edit button, or to "Add New Session". */
export function closeSessionForm() {
  var opener = editing && editing.opener;
  var id = editing && sessionId(editing.session);
  resetSessionForm();
  showSessionForm(false);
  var card = id && findCard(id);
  var target = opener && opener.isConnected ? opener : card && card.querySelector('[data-action="edit"]');
  (target || $('add-session-toggle')).focus();
}

/** "Add New Session" opens an empty form, also while a session is being edited. */
export function onAddToggle() {
  var open = !$('session-form').hidden;
  if (open && !editing) { showSessionForm(false); return; }
  resetSessionForm();
  showSessionForm(true);
}

/** What is wrong with the end time (local input values), as the server checks it; null if fine. */
function endTimeProblem(start, end, autoEnd) {
  if (!end) return autoEnd ? 'Choose the end time to end the session automatically.' : null;
  var endIso = localInputToRfc3339(end);
  if (!endIso) return 'Enter a valid date and time.';
  var startIso = localInputToRfc3339(start);
  if (!startIso) return null;
  var span = new Date(endIso).getTime() - new Date(startIso).getTime();
  if (span <= 0) return 'The end time must be after the start time.';
  if (span > MAX_SESSION_MS) return 'The end time must be at most 24 hours after the start time.';
  return null;
}

/** What is wrong with the minutes empty before the end, as the server checks them; null if fine. */
function emptyMinutesProblem(input) {
  if (input.validity && input.validity.badInput) return 'Enter a whole number of minutes.';
  var text = input.value.trim();
  if (!text) return null;
  if (!/^\d+$/.test(text)) return 'Enter a whole number of minutes.';
  var minutes = Number(text);
  return minutes >= 1 && minutes <= 1440 ? null : 'Enter between 1 and 1440 minutes.';
}

/** A whole number from `min` to `max` in `input`, or a message; empty is fine (optional). */
function wholeNumberProblem(input, min, max, unit) {
  if (input.validity && input.validity.badInput) return 'Enter a whole number.';
  var text = input.value.trim();
  if (!text) return null;
  if (!/^\d+$/.test(text)) return 'Enter a whole number.';
  var n = Number(text);
  return n >= min && n <= max ? null : 'Enter between ' + min + ' and ' + max + unit + '.';
}

function validateSessionForm() {
  var errors = [];
  if (!$('f-title').value.trim()) errors.push(['f-title', 'Enter a title.']);
  if (!$('f-instructor').value.trim()) errors.push(['f-instructor', 'Enter the instructor’s name.']);
  if (!$('f-start').value) errors.push(['f-start', 'Choose the start date and time.']);
  else if (!localInputToRfc3339($('f-start').value)) errors.push(['f-start', 'Enter a valid date and time.']);
  var endProblem = endTimeProblem($('f-start').value, $('f-end').value, $('f-auto-end').checked);
  if (endProblem) errors.push(['f-end', endProblem]);
  var emptyProblem = emptyMinutesProblem($('f-empty'));
  if (emptyProblem) errors.push(['f-empty', emptyProblem]);
  var thresholdProblem = wholeNumberProblem($('f-threshold'), 1, 100, ' %');
  if (thresholdProblem) errors.push(['f-threshold', thresholdProblem]);
  var lateProblem = wholeNumberProblem($('f-late'), 0, 1440, ' minutes');
  if (lateProblem) errors.push(['f-late', lateProblem]);
  var video = $('f-video').value.trim();
  if (!video) errors.push(['f-video', 'Enter the video URL.']);
  else if (!/^https?:\/\//i.test(video) || !safeUrl(video)) errors.push(['f-video', 'Enter a full https:// link.']);
  var problem = thumbnailProblem($('f-thumbnail').files[0] || null);
  if (problem) errors.push(['f-thumbnail', problem]);
  var repeat = editing ? {} : repeatRule($('f-start').value);
  if (repeat.error) errors.push(['f-repeat', repeat.error]);
  return errors;
}

export function onSessionSubmit(event) {
  event.preventDefault();
  if (isBusy($('f-submit'))) return;
  clearFieldErrors(TEXT_FIELDS);
  var errors = validateSessionForm();
  if (errors.length) {
    errors.forEach(function (e) { setFieldError(e[0], e[1]); });
    $(errors[0][0]).focus();
    return;
  }
  if (editing) { saveChanges(editing); return; }
  var form = new FormData();
  form.append('title', $('f-title').value.trim());
  form.append('description', $('f-description').value.trim());
  form.append('instructor', $('f-instructor').value.trim());
  form.append('videoUrl', $('f-video').value.trim());
  form.append('startTime', localInputToRfc3339($('f-start').value));
  if (viewerZone) form.append('timezone', viewerZone);
  if ($('f-end').value) form.append('endTime', localInputToRfc3339($('f-end').value));
  form.append('autoStart', $('f-auto-start').checked ? 'true' : 'false');
  form.append('autoEnd', $('f-auto-end').checked ? 'true' : 'false');
  if ($('f-empty').value.trim()) form.append('endWhenEmptyMinutes', $('f-empty').value.trim());
  if ($('f-capacity').value.trim()) form.append('capacity', $('f-capacity').value.trim());
  form.append('restricted', $('f-restricted').checked ? 'true' : 'false');
  form.append('registration', $('f-registration').checked ? 'open' : 'closed');
  if ($('f-threshold').value.trim()) form.append('attendanceThreshold', $('f-threshold').value.trim());
  if ($('f-late').value.trim()) form.append('lateAfterMinutes', $('f-late').value.trim());
  form.append('isLive', $('f-live').checked ? 'true' : 'false');
  var file = $('f-thumbnail').files[0];
  if (file) form.append('thumbnail', file, file.name);
  var rule = repeatRule($('f-start').value).rule;
  if (rule) form.append('recurrence', rule);
  var button = $('f-submit');
  setBusy(button, true);
  button.textContent = 'Creating…';
  api('POST', '/admin/live-sessions', { form: form })
    .then(function (created) {
      resetSessionForm();
      showSessionForm(false);
      if (created && sessionId(created)) upsertSession(created);
      // The other sessions of a new series come from the list, not from this answer.
      if (created && created.seriesId) loadSessions();
      showAlert((created && created.seriesId ? 'Series created: ' : 'Session created: ') +
        (created && created.title ? created.title : 'new session'), 'success');
      $('add-session-toggle').focus();
    })
    .catch(function (err) { handleFormError(err, FORM_FIELDS); })
    .then(function () {
      setBusy(button, false);
      button.textContent = 'Create Session';
    });
}

/** The changed fields of the edited session, with its version; null when nothing changed. */
function changesForm(edit) {
  var before = valuesOf(edit.session);
  var now = formValues();
  var form = new FormData();
  var changed = false;
  ['title', 'instructor', 'videoUrl', 'description'].forEach(function (name) {
    if (now[name] !== before[name]) { form.append(name, now[name]); changed = true; }
  });
  if (now.startTime !== before.startTime) {
    form.append('startTime', localInputToRfc3339(now.startTime));
    changed = true;
  }
  if (now.endTime !== before.endTime) {
    form.append('endTime', now.endTime ? localInputToRfc3339(now.endTime) : '');
    changed = true;
  }
  ['autoStart', 'autoEnd'].forEach(function (name) {
    if (now[name] !== before[name]) { form.append(name, now[name] ? 'true' : 'false'); changed = true; }
  });
  if (now.endWhenEmptyMinutes !== before.endWhenEmptyMinutes) {
    form.append('endWhenEmptyMinutes', now.endWhenEmptyMinutes);
    changed = true;
  }
  if (now.capacity !== before.capacity) {
    form.append('capacity', now.capacity);
    changed = true;
  }
  if (now.restricted !== before.restricted) {
    form.append('restricted', now.restricted ? 'true' : 'false');
    changed = true;
  }
  if (now.registration !== before.registration) {
    form.append('registration', now.registration ? 'open' : 'closed');
    changed = true;
  }
  ['attendanceThreshold', 'lateAfterMinutes'].forEach(function (name) {
    if (now[name] !== before[name]) { form.append(name, now[name]); changed = true; }
  });
  var file = $('f-thumbnail').files[0];
  if (file) { form.append('thumbnail', file, file.name); changed = true; }
  else if ($('f-thumbnail-remove').checked && edit.session.thumbnail) { form.append('thumbnailUrl', ''); changed = true; }
  if (!changed) return null;
  if (typeof edit.session.version === 'number') form.append('version', String(edit.session.version));
  return form;
}

function saveChanges(edit) {
  var s = edit.session;
  var form = changesForm(edit);
  if (!form) { showAlert('Nothing to save: no field was changed.', 'info'); return; }
  var id = sessionId(s);
  var following = !!s.seriesId && $('f-scope-following').checked;
  var button = $('f-submit');
  setBusy(button, true);
  button.textContent = 'Saving…';
  api('PUT', '/admin/live-sessions/' + encodeURIComponent(id) + (following ? '?scope=following' : ''), { form: form })
    .then(function (updated) {
      if (updated && sessionId(updated)) upsertSession(updated);
      if (following) loadSessions();
      closeSessionForm();
      showAlert('Saved: ' + (updated && updated.title ? updated.title : s.title), 'success');
    })
    .catch(function (err) {
      if (editing !== edit) return;
      if (err instanceof ApiError && err.status === 409) { reloadAfterConflict(edit); return; }
      handleFormError(err, FORM_FIELDS);
    })
    .then(function () {
      setBusy(button, false);
      if (editing) button.textContent = 'Save changes';
    });
}

/** Someone else changed the session meanwhile: show theirs in the form and say so. */
function reloadAfterConflict(edit) {
  var id = sessionId(edit.session);
  editSession(id, null).then(function () {
    // editSession opened the form afresh unless the reload failed (which it reported).
    if (!editing || editing === edit || sessionId(editing.session) !== id) return;
    editing.opener = edit.opener;
    showAlert('Someone else changed this session while you were editing it. ' +
      'The form now shows their version; make your changes again.', 'error');
  });
}
