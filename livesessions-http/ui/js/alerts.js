/* The alert area (#alerts) and the error slots next to form inputs. */

import { $, h } from './dom.js';

export function showAlert(message, kind) {
  kind = kind || 'error';
  var box = $('alerts');
  var existing = Array.prototype.find.call(box.children, function (el) { return el.dataset.message === message; });
  if (existing) existing.remove();
  var close = h('button', { type: 'button', class: 'icon-btn alert-close', 'aria-label': 'Dismiss' }, '✕');
  var alert = h('div', {
    class: 'alert alert-' + kind, role: kind === 'error' ? 'alert' : 'status', dataset: { message: message }
  }, h('p', { text: message }), close);
  close.addEventListener('click', function () { alert.remove(); });
  box.appendChild(alert);
  while (box.children.length > 4) box.firstElementChild.remove();
  if (kind !== 'error') setTimeout(function () { alert.remove(); }, 6000);
  else if (alert.getBoundingClientRect().top < 0) alert.scrollIntoView({ block: 'nearest' });
}

export function setFieldError(inputId, message) {
  var input = $(inputId);
  var box = $(inputId + '-error');
  if (!input || !box) return false;
  box.textContent = message;
  box.hidden = false;
  input.setAttribute('aria-invalid', 'true');
  var ids = (input.getAttribute('aria-describedby') || '').split(/\s+/).filter(Boolean);
  if (ids.indexOf(box.id) === -1) ids.push(box.id);
  input.setAttribute('aria-describedby', ids.join(' '));
  return true;
}

export function clearFieldError(inputId) {
  var input = $(inputId);
  var box = $(inputId + '-error');
  if (!input || !box) return;
  box.textContent = '';
  box.hidden = true;
  input.removeAttribute('aria-invalid');
  var ids = (input.getAttribute('aria-describedby') || '').split(/\s+/).filter(function (id) { return id && id !== box.id; });
  if (ids.length) input.setAttribute('aria-describedby', ids.join(' '));
  else input.removeAttribute('aria-describedby');
}

export function clearFieldErrors(ids) { ids.forEach(clearFieldError); }
