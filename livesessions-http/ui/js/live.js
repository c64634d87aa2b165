/* Live updates: Server-Sent Events applied to the page, with polling when the stream is
 * unavailable. */

import { scheduleAnalyticsRefresh } from './analytics.js';
import { api, API } from './api.js';
import { $ } from './dom.js';
import { loadSessions, matchesFilter, removeSession, upsertSession } from './list.js';
import { sessionId } from './session.js';
import { state } from './state.js';
import { renderWatchSession, setWatchStatus } from './watch.js';

const POLL_MS = 30000;
const SSE_MAX_ERRORS = 3;
const EVENT_NAMES = ['created', 'updated', 'cancelled', 'deleted', 'live', 'ended', 'participants'];

function setLiveStatus(mode) {
  state.live.mode = mode;
  var el = $('live-status');
  el.textContent = { sse: 'Live updates', polling: 'Polling', connecting: 'Connecting…' }[mode];
  el.className = 'live-status is-' + mode;
}

function applyEvent(type, event) {
  var id = event && event.sessionId ? String(event.sessionId) : null;
  if (!id) return;
  if (type === 'deleted') {
    removeSession(id);
    if (state.watch && state.watch.id === id) setWatchStatus('This session has ended: it was deleted.', 'ended');
    return;
  }
  var session = event.session && sessionId(event.session) ? Promise.resolve(event.session)
    : api('GET', '/live-sessions/' + encodeURIComponent(id));
  session.then(function (s) {
    if (!s) return;
    var known = state.sessions.has(id);
    if (known || matchesFilter(s)) upsertSession(s);
    if (state.watch && state.watch.id === id) renderWatchSession(s);
  }, function () {});
  if (state.route.name === 'analytics' && state.route.id === id) scheduleAnalyticsRefresh();
}

export function connectEvents() {
  if (typeof window.EventSource !== 'function') { startPolling(); return; }
  var live = state.live;
  var source;
  try { source = new EventSource(API + '/live-sessions/events'); } catch (e) { startPolling(); return; }
  live.source = source;
  live.errors = 0;
  // Whether this EventSource holds an event id: then a reconnect sends it as Last-Event-ID
  // and the server replays what was missed (or sends `reset`). A new EventSource holds none.
  live.resumable = false;
  EVENT_NAMES.forEach(function (name) {
    source.addEventListener(name, function (e) {
      live.resumable = !!e.lastEventId;
      var data;
      try { data = JSON.parse(e.data); } catch (err) { return; }
      applyEvent(name, data);
    });
  });
  source.addEventListener('reset', function (e) {
    // The server cannot say what was missed: catch up by reloading.
    live.resumable = !!e.lastEventId;
    refreshAll();
  });
  source.addEventListener('open', function () {
    // Coming back from polling, or reconnecting to a stream without ids (the server keeps no
    // event log), the events sent meanwhile are lost: catch up. A stream with ids resumes by
    // itself.
    var catchUp = live.pollTimer !== null || (live.opened && !live.resumable);
    live.opened = true;
    live.errors = 0;
    stopPolling();
    setLiveStatus('sse');
    if (catchUp) refreshAll();
  });
  source.addEventListener('error', function () {
    live.errors++;
    if (source.readyState === 2 || live.errors >= SSE_MAX_ERRORS) {
      source.close();
      live.source = null;
      startPolling();
    } else {
      setLiveStatus('connecting');
    }
  });
}

function refreshAll() {
  loadSessions({ quiet: true });
  if (state.watch) {
    var id = state.watch.id;
    api('GET', '/live-sessions/' + encodeURIComponent(id)).then(function (s) {
      if (state.watch && state.watch.id === id) renderWatchSession(s);
    }, function () {});
  }
  if (state.route.name === 'analytics') scheduleAnalyticsRefresh();
}

function startPolling() {
  var live = state.live;
  setLiveStatus('polling');
  if (live.pollTimer) return;
  live.polls = 0;
  live.pollTimer = setInterval(function () {
    refreshAll();
    live.polls++;
    // Every five minutes, try live updates again.
    if (live.polls % 10 === 0 && !live.source) connectEvents();
  }, POLL_MS);
}

function stopPolling() {
  clearInterval(state.live.pollTimer);
  state.live.pollTimer = null;
}
