/* The admin form that creates a session, with its thumbnail preview and checks. */

import { clearFieldError, clearFieldErrors, setFieldError, showAlert } from './alerts.js';
import { api } from './api.js';
import { showSessionForm } from './auth.js';
import { $, isBusy, safeUrl, setBusy } from './dom.js';
import { handleFormError } from './errors.js';
import { localInputToRfc3339, viewerZone } from './format.js';
import { upsertSession } from './list.js';
import { sessionId } from './session.js';

const MAX_THUMBNAIL_BYTES = 5 * 1024 * 1024;
const THUMBNAIL_TYPES = ['image/jpeg', 'image/png', 'image/gif', 'image/webp'];
const FORM_FIELDS = {
  title: 'f-title', instructor: 'f-instructor', startTime: 'f-start', timezone: 'f-start',
  videoUrl: 'f-video', description: 'f-description', thumbnail: 'f-thumbnail', isLive: 'f-live'
};

let previewUrl = null;
function setPreview(file) {
  var img = $('f-thumbnail-preview');
  if (previewUrl) { URL.revokeObjectURL(previewUrl); previewUrl = null; }
  if (!file) { img.hidden = true; img.removeAttribute('src'); return; }
  previewUrl = URL.createObjectURL(file);
  img.src = previewUrl;
  img.hidden = false;
}

function thumbnailProblem(file) {
  if (!file) return null;
  if (THUMBNAIL_TYPES.indexOf(file.type) === -1) return 'Choose a JPEG, PNG, GIF or WebP image.';
  if (file.size > MAX_THUMBNAIL_BYTES) return 'The image is larger than 5 MB.';
  if (file.size === 0) return 'The file is empty.';
  return null;
}

export function onThumbnailChange() {
  var file = $('f-thumbnail').files[0] || null;
  clearFieldError('f-thumbnail');
  var problem = thumbnailProblem(file);
  if (problem) { setFieldError('f-thumbnail', problem); setPreview(null); return; }
  setPreview(file);
}

export function resetSessionForm() {
  $('session-form').reset();
  setPreview(null);
  clearFieldErrors(['f-title', 'f-instructor', 'f-start', 'f-video', 'f-description', 'f-thumbnail']);
}

function validateSessionForm() {
  var errors = [];
  if (!$('f-title').value.trim()) errors.push(['f-title', 'Enter a title.']);
  if (!$('f-instructor').value.trim()) errors.push(['f-instructor', 'Enter the instructor’s name.']);
  if (!$('f-start').value) errors.push(['f-start', 'Choose the start date and time.']);
  else if (!localInputToRfc3339($('f-start').value)) errors.push(['f-start', 'Enter a valid date and time.']);
  var video = $('f-video').value.trim();
  if (!video) errors.push(['f-video', 'Enter the video URL.']);
  else if (!/^https?:\/\//i.test(video) || !safeUrl(video)) errors.push(['f-video', 'Enter a full https:// link.']);
  var problem = thumbnailProblem($('f-thumbnail').files[0] || null);
  if (problem) errors.push(['f-thumbnail', problem]);
  return errors;
}

export function onSessionSubmit(event) {
  event.preventDefault();
  if (isBusy($('f-submit'))) return;
  clearFieldErrors(['f-title', 'f-instructor', 'f-start', 'f-video', 'f-description', 'f-thumbnail']);
  var errors = validateSessionForm();
  if (errors.length) {
    errors.forEach(function (e) { setFieldError(e[0], e[1]); });
    $(errors[0][0]).focus();
    return;
  }
  var form = new FormData();
  form.append('title', $('f-title').value.trim());
  form.append('description', $('f-description').value.trim());
  form.append('instructor', $('f-instructor').value.trim());
  form.append('videoUrl', $('f-video').value.trim());
  form.append('startTime', localInputToRfc3339($('f-start').value));
  if (viewerZone) form.append('timezone', viewerZone);
  form.append('isLive', $('f-live').checked ? 'true' : 'false');
  var file = $('f-thumbnail').files[0];
  if (file) form.append('thumbnail', file, file.name);
  var button = $('f-submit');
  setBusy(button, true);
  button.textContent = 'Creating…';
  api('POST', '/admin/live-sessions', { form: form })
    .then(function (created) {
      resetSessionForm();
      showSessionForm(false);
      if (created && sessionId(created)) upsertSession(created);
      showAlert('Session created: ' + (created && created.title ? created.title : 'new session'), 'success');
      $('add-session-toggle').focus();
    })
    .catch(function (err) { handleFormError(err, FORM_FIELDS); })
    .then(function () {
      setBusy(button, false);
      button.textContent = 'Create Session';
    });
}
