/* The sessions list: loading pages, filter tabs, search, and applying changed sessions to the
 * cards in place. */

import { api, API, ApiError } from './api.js';
import { refreshStartsIn, renderCard, renderKey } from './cards.js';
import { $, clear } from './dom.js';
import { reportError } from './errors.js';
import { sessionId, STATUS_RANK, statusOf } from './session.js';
import { state } from './state.js';

const SEARCH_DEBOUNCE_MS = 300;

export function matchesFilter(s) {
  if (state.filter !== 'all' && statusOf(s) !== state.filter) return false;
  var q = state.query.toLowerCase();
  if (!q) return true;
  return [s.title, s.instructor, s.description].some(function (f) {
    return typeof f === 'string' && f.toLowerCase().indexOf(q) !== -1;
  });
}

function compareSessions(a, b) {
  var ra = STATUS_RANK[statusOf(a)];
  var rb = STATUS_RANK[statusOf(b)];
  if (ra !== rb) return ra - rb;
  var ta = Date.parse(a.startTime) || 0;
  var tb = Date.parse(b.startTime) || 0;
  if (ta !== tb) return ra >= 2 ? tb - ta : ta - tb;
  var ia = sessionId(a);
  var ib = sessionId(b);
  return ia < ib ? -1 : ia > ib ? 1 : 0;
}

/** The first page; a refresh asks for as many rows as are shown (the API gives at most 100). */
function listUrl(refresh) {
  var limit = refresh ? Math.min(100, Math.max(50, state.sessions.size)) : 50;
  var params = new URLSearchParams({ status: state.filter, limit: String(limit) });
  if (state.query) params.set('q', state.query);
  return API + '/live-sessions?' + params.toString();
}

function nextLink(res) {
  var link = res.headers.get('Link') || '';
  var m = /<([^>]+)>\s*;\s*rel="?next"?/i.exec(link);
  if (!m) return null;
  try {
    var url = new URL(m[1], window.location.href);
    return url.origin === window.location.origin ? url.pathname + url.search : null;
  } catch (e) {
    return null;
  }
}

/** Loads the first page for the current filter and query (or the next page when `more`). */
export function loadSessions(opts) {
  opts = opts || {};
  var more = !!opts.more;
  if (more && !state.nextUrl) return Promise.resolve();
  if (state.listAbort) state.listAbort.abort();
  var abort = typeof AbortController === 'function' ? new AbortController() : null;
  state.listAbort = abort;
  var seq = ++state.listSeq;
  var grid = $('sessions');
  grid.setAttribute('aria-busy', 'true');
  if (!opts.quiet && !more && state.sessions.size === 0) setListMessage('Loading sessions…');
  return api('GET', more ? state.nextUrl : listUrl(!!opts.quiet), { raw: true, signal: abort ? abort.signal : undefined })
    .then(function (res) {
      return res.json().then(function (list) {
        if (seq !== state.listSeq) return;
        if (!Array.isArray(list)) throw new ApiError(res.status, 'Unexpected response', 'The session list is not an array.');
        if (!more) state.sessions = new Map();
        list.forEach(function (s) { if (sessionId(s)) state.sessions.set(sessionId(s), s); });
        state.nextUrl = nextLink(res);
        renderGrid();
      });
    })
    .catch(function (err) {
      if (seq !== state.listSeq || (err && err.name === 'AbortError')) return;
      if (!opts.quiet) {
        setListMessage('Could not load sessions.');
        reportError(err, 'Could not load sessions');
      }
    })
    .then(function () {
      if (seq === state.listSeq) grid.setAttribute('aria-busy', 'false');
    });
}

function setListMessage(text) { $('list-message').textContent = text; }

function emptyMessage() {
  if (state.query) return 'No sessions match “' + state.query + '”.';
  return {
    all: 'No sessions yet.', live: 'No live sessions right now.',
    scheduled: 'No upcoming sessions.', ended: 'No ended sessions.'
  }[state.filter] || 'No sessions.';
}

function sortedSessions() {
  return Array.from(state.sessions.values()).sort(compareSessions);
}

export function renderGrid() {
  var grid = $('sessions');
  var focus = captureFocus(grid);
  clear(grid);
  var list = sortedSessions();
  list.forEach(function (s) { grid.appendChild(renderCard(s)); });
  setListMessage(list.length ? '' : emptyMessage());
  $('load-more').hidden = !state.nextUrl;
  restoreFocus(focus);
  refreshStartsIn();
}

/** Remembers which card action had focus so that re-rendering does not drop it. */
function captureFocus(container) {
  var active = document.activeElement;
  if (!active || !container.contains(active)) return null;
  var card = active.closest('.session-card');
  return card ? { id: card.dataset.id, action: active.dataset.action || null } : null;
}

function restoreFocus(focus) {
  if (!focus) return;
  var card = findCard(focus.id);
  if (!card) { $('list-heading').focus(); return; }
  var swap = { start: 'end', end: 'start' };
  var target = card.querySelector('[data-action="' + focus.action + '"]') ||
    card.querySelector('[data-action="' + swap[focus.action] + '"]') ||
    card.querySelector('button');
  if (target) target.focus();
}

export function findCard(id) {
  var cards = $('sessions').querySelectorAll('.session-card');
  for (var i = 0; i < cards.length; i++) if (cards[i].dataset.id === id) return cards[i];
  return null;
}

/** Applies a newer version of a session to the list: updates, inserts, moves or removes its card. */
export function upsertSession(s) {
  var id = sessionId(s);
  if (!id) return;
  var old = state.sessions.get(id);
  if (old && typeof old.version === 'number' && typeof s.version === 'number' && s.version < old.version) return;
  if (!matchesFilter(s)) { removeSession(id); return; }
  var card = findCard(id);
  state.sessions.set(id, s);
  if (old && card && renderKey(old) === renderKey(s)) {
    card.querySelector('.participants-count').textContent = String(Number(s.participants) || 0);
    return;
  }
  var grid = $('sessions');
  var focus = card ? captureFocus(card) : null;
  var fresh = renderCard(s);
  var list = sortedSessions();
  var next = null;
  for (var i = list.indexOf(s) + 1; i < list.length && !next; i++) next = findCard(sessionId(list[i]));
  if (card) card.remove();
  grid.insertBefore(fresh, next);
  setListMessage('');
  restoreFocus(focus);
  refreshStartsIn();
}

export function removeSession(id) {
  state.sessions.delete(id);
  var card = findCard(id);
  if (!card) return;
  var hadFocus = card.contains(document.activeElement);
  card.remove();
  if (!state.sessions.size) setListMessage(emptyMessage());
  if (hadFocus) $('list-heading').focus();
}

export function setFilter(filter) {
  if (filter === state.filter) return;
  state.filter = filter;
  document.querySelectorAll('[data-filter]').forEach(function (tab) {
    tab.setAttribute('aria-pressed', String(tab.dataset.filter === filter));
  });
  state.sessions = new Map();
  state.nextUrl = null;
  renderGrid();
  loadSessions();
}

let searchTimer = null;
export function onSearchInput() {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(function () {
    var q = $('search').value.trim();
    if (q === state.query) return;
    state.query = q;
    loadSessions();
  }, SEARCH_DEBOUNCE_MS);
}
