/* Views chosen by the URL hash: the list, the watch page, the analytics page, the webhooks
 * page and the series page. */

import { openAnalytics, stopAnalytics } from './analytics.js';
import { $ } from './dom.js';
import { findCard } from './list.js';
import { openSeries } from './series.js';
import { state } from './state.js';
import { openWatch, stopWatch } from './watch.js';
import { hideSecret, openWebhooks } from './webhooks.js';

function parseRoute() {
  var hash = window.location.hash.replace(/^#\/?/, '');
  var m = /^watch\/([^/]+)$/.exec(hash);
  if (m) return { name: 'watch', id: decodeURIComponent(m[1]) };
  m = /^sessions\/([^/]+)\/analytics$/.exec(hash);
  if (m) return { name: 'analytics', id: decodeURIComponent(m[1]) };
  if (hash === 'webhooks') return { name: 'webhooks', id: null };
  m = /^series\/([^/]+)$/.exec(hash);
  if (m) return { name: 'series', id: decodeURIComponent(m[1]) };
  return { name: 'list', id: null };
}

function showView(name) {
  $('list-view').hidden = name !== 'list';
  $('watch-view').hidden = name !== 'watch';
  $('analytics-view').hidden = name !== 'analytics';
  $('webhooks-view').hidden = name !== 'webhooks';
  $('series-view').hidden = name !== 'series';
}

export function route() {
  var previous = state.route;
  var next = parseRoute();
  if (previous.name === 'watch' && (next.name !== 'watch' || next.id !== previous.id)) stopWatch(true);
  if (previous.name === 'analytics' && next.name !== 'analytics') stopAnalytics();
  if (previous.name === 'webhooks' && next.name !== 'webhooks') hideSecret();
  state.route = next;
  showView(next.name);
  if (next.name === 'watch') openWatch(next.id);
  else if (next.name === 'analytics') openAnalytics(next.id);
  else if (next.name === 'webhooks') openWebhooks();
  else if (next.name === 'series') openSeries(next.id);
  else if (previous.name !== 'list') {
    var card = previous.id && findCard(previous.id);
    var button = card && card.querySelector('button');
    if (previous.name === 'webhooks') button = $('webhooks-open');
    (button || $('list-heading')).focus();
    document.title = 'Live Sessions';
  }
}

export function goToList() { window.location.hash = '#/'; }
