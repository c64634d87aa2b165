/* The watch page (#/watch/<id>): join, heartbeats while the tab is visible, leave. A session that
 * has not started is a waiting room: a countdown to its start and no video until it goes live,
 * when the player appears without a reload. A session that has ended or was cancelled shows no
 * player; a signed-out visitor is asked to sign in first. */

import { api, API, ApiError } from './api.js';
import { promptSignIn, signedIn } from './auth.js';
import { timeNode } from './cards.js';
import { $, appendChild, clear, h, safeEmbedUrl, safeUrl } from './dom.js';
import { errorMessage, reportError } from './errors.js';
import { formatCountdown, formatDateTime, formatSpan } from './format.js';
import { upsertSession } from './list.js';
import { sessionId, statusOf } from './session.js';
import { state } from './state.js';

const HEARTBEAT_MS = 30000;

export function openWatch(id) {
  stopWatch(false);
  var watch = { id: id, session: null, timer: null, present: false, status: null, warned: false, media: null, countdown: 0 };
  state.watch = watch;
  $('watch-title').textContent = 'Loading…';
  $('watch-meta').textContent = '';
  $('watch-description').textContent = '';
  clear($('watch-player'));
  setWatchStatus('', null);
  $('watch-title').focus();
  if (!signedIn()) {
    $('watch-title').textContent = 'Sign in to watch';
    setWatchStatus('Sign in above to join this session and watch it.', null);
    promptSignIn();
    return;
  }
  var pending = state.pendingJoin.get(id);
  state.pendingJoin.delete(id);
  var known = state.sessions.get(id);
  // A session the list already shows as over is not joined (the server would refuse): it is shown.
  if (!pending && known && isOver(statusOf(known))) { watchFailed(id, null); return; }
  var joined = pending ? Promise.resolve(pending) : joinForWatch(id);
  joined.then(function (result) {
    if (state.watch !== watch) return;
    if (result.session) renderWatchSession(result.session);
    if (isOver(watch.status)) return;
    var session = result.session || {};
    watch.media = { embedUrl: result.embedUrl || session.embedUrl, videoUrl: result.videoUrl || session.videoUrl, session: session };
    showPlayer(watch);
    watch.present = true;
    watch.timer = setInterval(function () { if (document.visibilityState === 'visible') heartbeat(); }, HEARTBEAT_MS);
  }).catch(function (err) {
    if (state.watch !== watch) return;
    watchFailed(id, err);
  });
}

function joinForWatch(id) {
  var user = state.auth.user;
  var body = { sessionId: id, userName: user.name, email: user.email };
  if (user.id) body.userId = user.id;
  return api('POST', '/live-sessions/join', { json: body }).then(function (result) {
    if (result && result.session) upsertSession(result.session);
    return result || {};
  });
}

/** The join was refused (e.g. the session ended), or not tried (`err` null): show the session and why. */
function watchFailed(id, err) {
  if (err instanceof ApiError && err.status === 401) promptSignIn();
  api('GET', '/live-sessions/' + encodeURIComponent(id)).then(function (s) {
    if (!state.watch || state.watch.id !== id) return;
    renderWatchSession(s);
    if (err instanceof ApiError && err.code === 'not_on_roster') err.registrationOpen = s.registration === 'open';
    if (err && !isOver(statusOf(s))) setWatchStatus('Could not join: ' + errorMessage(err), null);
  }, function (getErr) {
    if (!state.watch || state.watch.id !== id) return;
    $('watch-title').textContent = 'Session unavailable';
    setWatchStatus(errorMessage(err || getErr), null);
  });
}

export function setWatchStatus(text, kind) {
  var el = $('watch-status');
  el.textContent = text;
  el.className = 'watch-status' + (kind ? ' is-' + kind : '');
  el.hidden = !text;
}

export function renderWatchSession(s) {
  var watch = state.watch;
  if (!watch || sessionId(s) !== watch.id) return;
  var before = watch.status;
  watch.session = s;
  watch.status = statusOf(s);
  $('watch-title').textContent = s.title || 'Untitled session';
  document.title = (s.title || 'Session') + ' · Live Sessions';
  var meta = $('watch-meta');
  clear(meta);
  appendChild(meta, [s.instructor ? '👨‍🏫 ' + s.instructor + ' · ' : '', timeNode(s), ' · 👥 ' + (Number(s.participants) || 0)]);
  $('watch-description').textContent = s.description || '';
  if (watch.status === 'live') setWatchStatus('🔴 Live now', 'live');
  else if (watch.status === 'scheduled') setWatchStatus('Starts ' + formatDateTime(s.startTime) + '. You are in the waiting room: the video appears when the class goes live.', null);
  else if (watch.status === 'ended') setWatchStatus(endedText(s), 'ended');
  else setWatchStatus('This session was cancelled.', 'ended');
  if (watch.status === 'scheduled') tickCountdown(watch);
  else stopCountdown(watch);
  if (before && before !== watch.status && watch.media) showPlayer(watch);
  if (isOver(watch.status)) {
    // Nothing more to watch or to record: the player and the heartbeats stop.
    clearInterval(watch.timer);
    watch.timer = null;
    clear($('watch-player'));
  }
  // Going live opens the presence interval at once rather than at the next heartbeat.
  if (before && before !== 'live' && watch.status === 'live' && watch.present) heartbeat();
}

/** The player while live; a placeholder while the session has not started; nothing after. */
function showPlayer(watch) {
  var m = watch.media;
  if (watch.status === 'live' && !m.embedUrl && !m.videoUrl) fetchMedia(watch);
  else if (watch.status === 'live') renderPlayer(m.embedUrl, m.videoUrl, m.session);
  else if (watch.status === 'scheduled') {
    var player = $('watch-player');
    clear(player);
    player.appendChild(h('div', { id: 'watch-waiting', class: 'player-link' },
      h('p', {}, '⏳ The video appears here when the class goes live.')));
  }
}

/** A join in the waiting room gets no video (the server gives it out once the session is live):
 * read the session again as the signed-in user when it goes live, and show its player. */
function fetchMedia(watch) {
  if (watch.fetchingMedia) return;
  watch.fetchingMedia = true;
  api('GET', '/live-sessions/' + encodeURIComponent(watch.id)).then(function (s) {
    watch.fetchingMedia = false;
    if (state.watch !== watch || watch.status !== 'live') return;
    watch.media = { embedUrl: s.embedUrl, videoUrl: s.videoUrl, session: s };
    renderPlayer(s.embedUrl, s.videoUrl, s);
  }, function () { watch.fetchingMedia = false; });
}

/** Shows the time left to the start, to the second, and schedules the next second's update. */
function tickCountdown(watch) {
  clearTimeout(watch.countdown);
  var s = watch.session;
  var left = new Date(s.startTime || '').getTime() - Date.now();
  var span = formatCountdown(left);
  var el = $('watch-countdown');
  el.textContent = span ? (s.autoStart ? 'Starts automatically in ' : 'Starts in ') + span
    : s.autoStart ? 'Starting now…' : 'Waiting for the instructor to go live…';
  el.hidden = false;
  watch.countdown = span ? setTimeout(function () {
    if (state.watch === watch && watch.status === 'scheduled') tickCountdown(watch);
  }, left % 1000 || 1000) : 0;
}

function stopCountdown(watch) {
  clearTimeout(watch.countdown);
  watch.countdown = 0;
  var el = $('watch-countdown');
  el.textContent = '';
  el.hidden = true;
}

function isOver(status) { return status === 'ended' || status === 'cancelled'; }

function endedText(s) {
  return 'This session has ended.' + (s.startedAt ? ' It ran for ' + formatSpan(s.liveSeconds) + '.' : '');
}

function renderPlayer(embedUrl, videoUrl, s) {
  var player = $('watch-player');
  clear(player);
  var title = (s && s.title) || 'session';
  var embed = safeEmbedUrl(embedUrl);
  if (embed) {
    player.appendChild(h('iframe', {
      id: 'watch-frame', src: embed, title: 'Video: ' + title,
      allow: 'autoplay; fullscreen; picture-in-picture',
      referrerpolicy: 'strict-origin-when-cross-origin'
    }));
    return;
  }
  var link = safeUrl(videoUrl);
  player.appendChild(h('div', { class: 'player-link' },
    link ? h('p', {}, 'This stream plays on its own site.') : h('p', {}, 'No video link is available for this session.'),
    link ? h('a', { id: 'watch-link', class: 'btn btn-primary', href: link, target: '_blank', rel: 'noopener noreferrer' },
      'Open stream', h('span', { class: 'visually-hidden' }, ' (opens in a new tab)')) : null));
}

export function heartbeat() {
  var watch = state.watch;
  if (!watch || !signedIn()) return;
  watch.present = true;
  api('POST', '/live-sessions/' + encodeURIComponent(watch.id) + '/heartbeat', { json: {} }).catch(function (err) {
    if (state.watch !== watch) return;
    if (err instanceof ApiError && err.status === 404) {
      joinForWatch(watch.id).then(function (r) { if (r.session) renderWatchSession(r.session); }, function () {});
    } else if (!watch.warned) {
      watch.warned = true;
      reportError(err, 'Could not record your attendance');
    }
  });
}

/** Records a leave; keepalive lets it finish while the page unloads. */
export function sendLeave(watch) {
  if (!watch || !watch.present || !state.auth.token) return;
  watch.present = false;
  try {
    fetch(API + '/live-sessions/' + encodeURIComponent(watch.id) + '/leave', {
      method: 'POST', keepalive: true, credentials: 'same-origin',
      headers: { Authorization: 'Bearer ' + state.auth.token, 'Content-Type': 'application/json', Accept: 'application/json' },
      body: '{}'
    }).catch(function () {});
  } catch (e) { /* the page is going away */ }
}

export function stopWatch(leave) {
  var watch = state.watch;
  if (!watch) return;
  if (leave) sendLeave(watch);
  clearInterval(watch.timer);
  stopCountdown(watch);
  state.watch = null;
  clear($('watch-player'));
}

export function onVisibilityChange() {
  var watch = state.watch;
  if (!watch || !watch.timer) return;
  if (document.visibilityState === 'hidden') sendLeave(watch);
  else if (!watch.present) heartbeat();
}
