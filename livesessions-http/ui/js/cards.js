/* Rendering a session card and the parts other views reuse (thumbnail, time). */

import { signedIn } from './auth.js';
import { calendarLinkNode } from './calendar.js';
import { checkRegistration } from './card-actions.js';
import { h, safeUrl } from './dom.js';
import { formatDateTime, formatRan, formatStartsIn, hashIndex, initials, viewerZone } from './format.js';
import { sessionId, STATUS_LABELS, statusOf } from './session.js';
import { state } from './state.js';

export function thumbnailNode(s, alt) {
  var url = safeUrl(s.thumbnail);
  var placeholder = h('div', {
    class: 'placeholder ph-' + hashIndex(sessionId(s) || String(s.title), 6), 'aria-hidden': 'true'
  }, initials(s.title));
  if (!url) return placeholder;
  var img = h('img', { src: url, alt: alt || '', loading: 'lazy', decoding: 'async' });
  img.addEventListener('error', function () { img.replaceWith(placeholder); });
  return img;
}

function participantsNode(s) {
  return h('span', { class: 'participants' },
    h('span', { 'aria-hidden': 'true' }, '👥'),
    h('span', { class: 'participants-count', text: String(Number(s.participants) || 0) }),
    h('span', { class: 'visually-hidden' }, ' participants'));
}

/** When the session is planned; for one that ran and ended, when it ran and for how long. */
export function timeNode(s) {
  var ran = statusOf(s) === 'ended' ? formatRan(s) : '';
  if (ran) {
    return h('time', {
      class: 'ran', datetime: s.startedAt, title: viewerZone ? 'Your time zone: ' + viewerZone : null
    }, '⏱️ ' + ran);
  }
  var until = s.endTime ? ' – ' + formatDateTime(s.endTime) : '';
  return h('time', {
    datetime: s.startTime || null, title: viewerZone ? 'Your time zone: ' + viewerZone : null
  }, '⏱️ ' + (formatDateTime(s.startTime) || 'No start time') + until);
}

/** How often the "Starts in …" lines are brought up to date, at most. */
const STARTS_IN_TICK_MS = 30000;
var startsInTimer = 0;

/** For a scheduled session, when it starts seen from now; updated by `refreshStartsIn`, and
 * deliberately not a live region so that screen readers do not announce every update. Not a
 * `.card-hint`: that class is the card's sign-in and automatic hints. */
function startsInNode(s, status) {
  var text = status === 'scheduled' ? formatStartsIn(s.startTime, !!s.autoStart, Date.now()) : '';
  if (!text) return null;
  return h('p', {
    class: 'starts-in', dataset: { start: s.startTime, auto: s.autoStart ? 'true' : 'false' }
  }, text);
}

/** Brings every "Starts in …" line on the page up to date, then runs again in 30 s, or just
 * after the nearest start if that is sooner so that "Starting now" shows on time. One timer
 * serves the whole page; call this again after cards are added. */
export function refreshStartsIn() {
  clearTimeout(startsInTimer);
  var now = Date.now();
  var next = STARTS_IN_TICK_MS;
  var lines = document.querySelectorAll('.starts-in[data-start]');
  for (var i = 0; i < lines.length; i++) {
    var text = formatStartsIn(lines[i].dataset.start, lines[i].dataset.auto === 'true', now);
    if (text && lines[i].textContent !== text) lines[i].textContent = text;
    var left = Date.parse(lines[i].dataset.start) - now;
    if (left > 0) next = Math.min(next, left + 100);
  }
  startsInTimer = lines.length ? setTimeout(refreshStartsIn, next) : 0;
}

/** What the scheduler will do with the session by itself, if anything. An automatic start is
 * told by the "Starts automatically in …" line when there is one. */
function automaticNode(s, status) {
  var parts = [];
  if (s.autoStart && status === 'scheduled' && !formatStartsIn(s.startTime, true, 0)) parts.push('starts');
  if (s.autoEnd && s.endTime && (status === 'scheduled' || status === 'live')) parts.push('ends');
  if (!parts.length) return null;
  return h('p', { class: 'card-hint automatic' }, '⚙️ ' + (parts.length === 2
    ? 'Starts and ends automatically' : parts[0] === 'starts' ? 'Starts automatically' : 'Ends automatically'));
}

/** For an occurrence of a series: a link to the series page. */
function seriesNode(s) {
  if (!s.seriesId) return null;
  return h('p', { class: 'card-series' },
    h('a', { class: 'series-link', href: '#/series/' + encodeURIComponent(s.seriesId) }, '🔁 Part of a series'));
}

/** That the session ends by itself once nobody watches it, while it may still go or be live. */
function emptyEndNode(s, status) {
  if (!s.endWhenEmptyMinutes || (status !== 'scheduled' && status !== 'live')) return null;
  return h('p', { class: 'card-hint automatic' },
    '⚙️ Ends after ' + s.endWhenEmptyMinutes + ' min with nobody watching');
}

/** The seats left for a walk-in of a session with a capacity ("23 seats left", or "Full"),
 * and those held for roster members who have not joined ("· 2 reserved"), while it may be
 * joined. Without an open seat but with reserved ones it says "No open seats": the people on
 * its roster can still join. */
function seatsNode(s, status) {
  if (s.seatsLeft === null || s.seatsLeft === undefined || (status !== 'scheduled' && status !== 'live')) return null;
  var left = Number(s.seatsLeft) || 0;
  var reserved = Number(s.reservedSeats) || 0;
  var text = left ? '🪑 ' + left + (left === 1 ? ' seat left' : ' seats left')
    : (reserved ? '🪑 No open seats' : '🪑 Full');
  if (reserved) text += ' · ' + reserved + ' reserved';
  return h('p', {
    class: 'card-hint seats' + (left ? '' : ' is-full'),
    title: reserved ? 'Seats are held for the ' + reserved + (reserved === 1 ? ' person' : ' people')
      + ' on the roster who have not joined yet.' : null
  }, text);
}

/** For a signed-in student: "Register" where the session takes registrations, or
 * "Registered" with a way to cancel once they did; and that a restricted session is for its
 * roster only. */
function registrationNode(s, status) {
  if (status !== 'scheduled' && status !== 'live') return null;
  var restricted = s.restricted ? h('p', { class: 'card-hint roster-only' }, '🔒 Only for the people on its roster') : null;
  if (!signedIn() || state.auth.admin || s.registration !== 'open') return restricted;
  var name = s.title || 'untitled session';
  // Asked once per session and page: the card is shown again if the answer is "on the roster".
  if (!state.registered.has(sessionId(s))) checkRegistration(s);
  if (state.registered.get(sessionId(s))) {
    return h('div', { class: 'registration' }, restricted,
      h('p', { class: 'registered', role: 'status' }, '✅ Registered'),
      h('button', {
        type: 'button', class: 'btn btn-small btn-ghost unregister-btn', dataset: { action: 'unregister' },
        'aria-label': 'Cancel registration: ' + name
      }, 'Cancel registration'));
  }
  return h('div', { class: 'registration' }, restricted,
    h('button', {
      type: 'button', class: 'btn btn-small btn-primary register-btn', dataset: { action: 'register' },
      'aria-label': 'Register: ' + name
    }, 'Register'));
}

function actionButton(action, label, name, extraClass, s) {
  return h('button', {
    type: 'button', class: 'btn btn-small ' + action + '-btn ' + extraClass,
    dataset: { action: action }, 'aria-label': name + ': ' + (s.title || 'untitled session')
  }, label);
}

export function renderCard(s) {
  var id = sessionId(s);
  var status = statusOf(s);
  var live = status === 'live';
  var titleId = 'card-title-' + id;
  var actions = h('div', { class: 'card-actions' });
  // Cancel and Delete sit in their own row, apart from the everyday buttons.
  var danger = null;
  if (signedIn() && (status === 'live' || status === 'scheduled')) {
    actions.appendChild(actionButton('join', live ? 'Join Now →' : 'Join Now', 'Join Now', 'btn-primary', s));
  }
  if (state.auth.admin) {
    if (live) actions.appendChild(actionButton('end', '⏹️ End', 'End', 'btn-ghost', s));
    else if (status === 'scheduled' || status === 'ended') actions.appendChild(actionButton('start', '▶️ Start', 'Start', 'btn-ghost', s));
    actions.appendChild(actionButton('edit', '✏️ Edit', 'Edit', 'btn-ghost', s));
    actions.appendChild(actionButton('analytics', '📊 Analytics', 'Analytics', 'btn-ghost', s));
    danger = h('div', { class: 'card-danger' },
      status === 'scheduled' ? actionButton('cancel', 'Cancel session', 'Cancel session', 'btn-danger', s) : null,
      actionButton('delete', '🗑️ Delete', 'Delete', 'btn-danger', s));
  }
  return h('article', {
    class: 'session-card is-' + status + (live ? ' is-live' : ''), dataset: { id: id }, 'aria-labelledby': titleId
  },
    h('div', { class: 'card-media' },
      thumbnailNode(s, ''),
      h('div', { class: 'media-badges' },
        live ? h('span', { class: 'live-badge' }, '🔴 LIVE') : null,
        participantsNode(s))),
    h('div', { class: 'card-body' },
      h('h3', { id: titleId, text: s.title || 'Untitled session' }),
      s.instructor ? h('p', { class: 'instructor' }, '👨‍🏫 ' + s.instructor) : null,
      s.description ? h('p', { class: 'description', text: s.description }) : null,
      h('p', { class: 'meta' }, timeNode(s), ' | ',
        h('span', { class: 'status status-' + status, text: STATUS_LABELS[status] })),
      startsInNode(s, status),
      automaticNode(s, status),
      seriesNode(s),
      status !== 'ended' ? calendarLinkNode(s, id) : null,
      emptyEndNode(s, status),
      seatsNode(s, status),
      registrationNode(s, status),
      actions.childNodes.length ? actions : null,
      !signedIn() && (live || status === 'scheduled')
        ? h('p', { class: 'card-hint' }, 'Sign in to join this session.') : null,
      danger));
}

/** What a card shows apart from the counts: when it is unchanged only the count is updated. */
export function renderKey(s) {
  return JSON.stringify([statusOf(s), s.title, s.instructor, s.description, s.thumbnail, s.startTime,
    s.endTime, !!s.autoStart, !!s.autoEnd, s.endWhenEmptyMinutes || null, s.startedAt, s.endedAt, statusOf(s) === 'ended' ? s.liveSeconds : null, s.seatsLeft, s.reservedSeats || 0,
    !!s.restricted, s.registration || null, state.registered.get(sessionId(s)) || false]);
}
