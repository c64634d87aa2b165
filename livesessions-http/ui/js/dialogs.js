/* Modal dialogs: opening and closing them, and the delete confirmation. */

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
export function confirmDialog(message, okLabel, opener) {
  var dialog = $('confirm-modal');
  $('confirm-message').textContent = message;
  $('confirm-ok').textContent = okLabel;
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
