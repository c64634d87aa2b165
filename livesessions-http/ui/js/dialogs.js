/* Modal dialogs: opening and closing them, and the confirmation asked before an action that
 * affects everyone (delete, cancel, start, end). */

import { $ } from './dom.js';

export function openDialog(dialog) {
  if (typeof dialog.showModal === 'function') dialog.showModal();
  else dialog.setAttribute('open', '');
}

export function closeDialog(dialog) {
  if (typeof dialog.close === 'function') dialog.close();
  else dialog.removeAttribute('open');
}

let confirmState = null;

/** Asks `message`; resolves true when `okLabel` is chosen. Options: `dismissLabel` (default
 * "Cancel") and `danger` (default true: a red confirm button; false for Start). */
export function confirmDialog(message, okLabel, opener, options) {
  options = options || {};
  var dialog = $('confirm-modal');
  $('confirm-message').textContent = message;
  $('confirm-ok').textContent = okLabel;
  $('confirm-ok').className = 'btn ' + (options.danger === false ? 'btn-primary' : 'btn-danger');
  $('confirm-cancel').textContent = options.dismissLabel || 'Cancel';
  return new Promise(function (resolve) {
    confirmState = { resolve: resolve, opener: opener, result: false };
    openDialog(dialog);
    $('confirm-cancel').focus();
  });
}

export function onConfirmOk() {
  if (confirmState) confirmState.result = true;
  closeDialog($('confirm-modal'));
}

export function onConfirmClose() {
  if (!confirmState) return;
  var s = confirmState;
  confirmState = null;
  if (s.opener && s.opener.isConnected) s.opener.focus();
  s.resolve(s.result);
}
