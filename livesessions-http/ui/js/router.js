/* Views chosen by the URL hash: the list, the watch page and the analytics page. */

import { openAnalytics, stopAnalytics } from './analytics.js';
import { $ } from './dom.js';
import { findCard } from './list.js';
import { state } from './state.js';
import { openWatch, stopWatch } from './watch.js';

function parseRoute() {
  var hash = window.location.hash.replace(/^#\/?/, '');
  var m = /^watch\/([^/]+)$/.exec(hash);
  if (m) return { name: 'watch', id: decodeURIComponent(m[1]) };
  m = /^sessions\/([^/]+)\/analytics$/.exec(hash);
  if (m) return { name: 'analytics', id: decodeURIComponent(m[1]) };
  return { name: 'list', id: null };
}

function showView(name) {
  $('list-view').hidden = name !== 'list';
  $('watch-view').hidden = name !== 'watch';
  $('analytics-view').hidden = name !== 'analytics';
}

export function route() {
  var previous = state.route;
  var next = parseRoute();
  if (previous.name === 'watch' && (next.name !== 'watch' || next.id !== previous.id)) stopWatch(true);
  if (previous.name === 'analytics' && next.name !== 'analytics') stopAnalytics();
  state.route = next;
  showView(next.name);
  if (next.name === 'watch') openWatch(next.id);
  else if (next.name === 'analytics') openAnalytics(next.id);
  else if (previous.name !== 'list') {
    var card = previous.id && findCard(previous.id);
    var button = card && card.querySelector('button');
    (button || $('list-heading')).focus();
    document.title = 'Live Sessions';
  }
}

export function goToList() { window.location.hash = '#/'; }
