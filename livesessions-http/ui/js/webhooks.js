/* The webhooks view (admins): endpoints, adding one (its secret shown once), enabling,
 * disabling, deleting, rotating secrets, and each endpoint's deliveries with a retry button. */

import { clearFieldErrors, showAlert } from './alerts.js';
import { api, ApiError } from './api.js';
import { confirmDialog } from './dialogs.js';
import { $, clear, h, isBusy, setBusy } from './dom.js';
import { handleFormError, reportError } from './errors.js';
import { formatDateTime } from './format.js';

const BASE = '/admin/webhooks';
const FIELDS = { url: 'wh-url', eventTypes: 'wh-events', description: 'wh-description' };
const open = new Set();

function typesText(endpoint) {
  return endpoint.eventTypes ? endpoint.eventTypes.join(', ') : 'All events';
}

function stateText(endpoint) {
  if (endpoint.enabled) return 'Enabled';
  return endpoint.disabledReason === 'gone' ? 'Disabled (the receiver answered 410 Gone)' : 'Disabled';
}

function button(text, action, id, extra) {
  return h('button', Object.assign({ type: 'button', class: 'btn btn-ghost btn-small', dataset: { action: action, id: id } }, extra || {}), text);
}

function endpointItem(endpoint) {
  var deliveriesId = 'wh-deliveries-' + endpoint.id;
  var expanded = open.has(endpoint.id);
  var item = h('li', { class: 'webhook' + (endpoint.enabled ? '' : ' is-disabled'), dataset: { id: endpoint.id } },
    h('p', { class: 'webhook-url', text: endpoint.url }),
    endpoint.description ? h('p', { class: 'note', text: endpoint.description }) : null,
    h('p', { class: 'webhook-meta' },
      h('span', { class: 'webhook-types', text: typesText(endpoint) }), ' · ',
      h('span', { class: 'webhook-state', text: stateText(endpoint) })),
    h('div', { class: 'card-actions' },
      endpoint.enabled ? button('Disable', 'disable', endpoint.id) : button('Enable', 'enable', endpoint.id),
      button('Rotate secret', 'rotate', endpoint.id),
      button('Deliveries', 'deliveries', endpoint.id, { 'aria-expanded': String(expanded), 'aria-controls': deliveriesId }),
      h('button', { type: 'button', class: 'btn btn-danger btn-small', dataset: { action: 'delete', id: endpoint.id } }, 'Delete')),
    h('div', { id: deliveriesId, class: 'webhook-deliveries', hidden: !expanded }));
  if (expanded) loadDeliveries(endpoint.id, item.querySelector('.webhook-deliveries'));
  return item;
}

/** Loads and shows the endpoints. */
export function loadWebhooks() {
  return api('GET', BASE).then(function (list) {
    var box = $('webhooks');
    clear(box);
    list.items.forEach(function (endpoint) { box.appendChild(endpointItem(endpoint)); });
    $('webhooks-empty').textContent = 'No webhook endpoints yet.';
    $('webhooks-empty').hidden = list.items.length > 0;
    $('webhook-form').hidden = false;
  }, function (err) {
    // A server without a webhook store does not serve the routes.
    if (err instanceof ApiError && err.status === 404) {
      clear($('webhooks'));
      $('webhook-form').hidden = true;
      $('webhooks-empty').textContent = 'Webhooks are not set up on this server.';
      $('webhooks-empty').hidden = false;
      return;
    }
    reportError(err, 'Webhooks');
  });
}

/** Shows the view. */
export function openWebhooks() {
  document.title = 'Webhooks · Live Sessions';
  $('webhooks-title').focus();
  return loadWebhooks();
}

function showSecret(url, secret) {
  $('webhook-secret-url').textContent = url;
  $('webhook-secret-value').value = secret;
  $('webhook-secret').hidden = false;
  $('webhook-secret-value').focus();
  $('webhook-secret-value').select();
}

export function hideSecret() {
  $('webhook-secret-value').value = '';
  $('webhook-secret').hidden = true;
}

export function copySecret() {
  var input = $('webhook-secret-value');
  input.select();
  var done = function () { showAlert('Secret copied.', 'success'); };
  if (navigator.clipboard && navigator.clipboard.writeText) {
    navigator.clipboard.writeText(input.value).then(done, function () { showAlert('Press Ctrl+C (⌘C) to copy the selected secret.', 'info'); });
  } else {
    showAlert('Press Ctrl+C (⌘C) to copy the selected secret.', 'info');
  }
}

export function onWebhookSubmit(e) {
  e.preventDefault();
  var submit = $('wh-submit');
  if (isBusy(submit)) return;
  clearFieldErrors(Object.values(FIELDS));
  var types = Array.prototype.map.call(document.querySelectorAll('#wh-events input:checked'), function (box) { return box.value; });
  var body = { url: $('wh-url').value.trim() };
  if (types.length) body.eventTypes = types;
  var description = $('wh-description').value.trim();
  if (description) body.description = description;
  setBusy(submit, true);
  api('POST', BASE, { json: body }).then(function (created) {
    $('webhook-form').reset();
    showSecret(created.url, created.secret);
    return loadWebhooks();
  }, function (err) { handleFormError(err, FIELDS); }).finally(function () { setBusy(submit, false); });
}

function deliveryRow(delivery) {
  var retry = h('button', { type: 'button', class: 'btn btn-ghost btn-small', dataset: { action: 'retry', delivery: delivery.id } }, 'Retry');
  return h('tr', null,
    h('td', { 'data-label': 'Event', text: delivery.eventType + ' #' + delivery.eventId }),
    h('td', { 'data-label': 'State', class: 'delivery-state', text: delivery.state }),
    h('td', { 'data-label': 'Attempts', text: String(delivery.attempts) }),
    h('td', { 'data-label': 'Last status', text: delivery.lastStatus === null ? '—' : String(delivery.lastStatus) }),
    h('td', { 'data-label': 'Latency', text: delivery.latencyMs === null ? '—' : delivery.latencyMs + ' ms' }),
    h('td', { 'data-label': 'Error', text: delivery.error || '—' }),
    h('td', { 'data-label': 'Next attempt', text: delivery.nextAttemptAt ? formatDateTime(delivery.nextAttemptAt) : '—' }),
    h('td', { 'data-label': 'Retry' }, retry));
}

function loadDeliveries(id, box) {
  return api('GET', BASE + '/' + encodeURIComponent(id) + '/deliveries?limit=50').then(function (page) {
    clear(box);
    if (!page.items.length) { box.appendChild(h('p', { class: 'list-message', text: 'No deliveries yet.' })); return; }
    var head = h('tr', null, ['Event', 'State', 'Attempts', 'Last status', 'Latency', 'Error', 'Next attempt', 'Retry'].map(function (t) {
      return h('th', { scope: 'col', text: t });
    }));
    box.appendChild(h('div', { class: 'table-wrap' },
      h('table', { class: 'deliveries', 'aria-label': 'Deliveries' }, h('thead', null, head), h('tbody', null, page.items.map(deliveryRow)))));
  }, function (err) { reportError(err, 'Deliveries'); });
}

function act(target) {
  var id = target.dataset.id;
  var path = BASE + '/' + encodeURIComponent(id || '');
  switch (target.dataset.action) {
    case 'disable': return api('POST', path + '/disable').then(loadWebhooks);
    case 'enable': return api('POST', path + '/enable').then(loadWebhooks);
    case 'rotate':
      return confirmDialog('Give this endpoint a new signing secret? The old one keeps working for 24 hours.', 'Rotate secret', target, { danger: false })
        .then(function (ok) {
          if (!ok) return null;
          return api('POST', path + '/rotate-secret').then(function (rotated) {
            var url = target.closest('.webhook').querySelector('.webhook-url').textContent;
            showSecret(url, rotated.secret);
          });
        });
    case 'delete':
      return confirmDialog('Delete this endpoint and its delivery log?', 'Delete', target).then(function (ok) {
        if (!ok) return null;
        return api('DELETE', path).then(function () { open.delete(id); showAlert('Endpoint deleted.', 'success'); return loadWebhooks(); });
      });
    case 'deliveries': {
      var box = $('wh-deliveries-' + id);
      var show = box.hidden;
      box.hidden = !show;
      target.setAttribute('aria-expanded', String(show));
      if (show) { open.add(id); return loadDeliveries(id, box); }
      open.delete(id);
      return null;
    }
    case 'retry':
      return api('POST', BASE + '/deliveries/' + encodeURIComponent(target.dataset.delivery) + '/retry').then(function () {
        showAlert('The delivery will be retried now.', 'success');
        var list = target.closest('.webhook-deliveries');
        return loadDeliveries(list.id.replace('wh-deliveries-', ''), list);
      });
    default: return null;
  }
}

export function onWebhooksClick(e) {
  var target = e.target.closest('button[data-action]');
  if (!target || isBusy(target)) return;
  setBusy(target, true);
  Promise.resolve(act(target)).catch(function (err) { reportError(err); }).finally(function () { setBusy(target, false); });
}
