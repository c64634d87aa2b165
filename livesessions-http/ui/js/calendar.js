/* Calendar feeds: the "Add to calendar" link of a card (one session's event), the
 * "Subscribe" link to the public feed, and the signed-in user's own feed ("My calendar
 * feed"), whose link every request replaces (the server keeps only a hash of its token). */

import { api } from './api.js';
import { signedIn } from './auth.js';
import { $, h, isBusy, setBusy } from './dom.js';
import { errorMessage } from './errors.js';

/** The public feed's path. */
const PUBLIC_FEED = '/api/live-sessions/calendar.ics';

/** A `webcal://` link to `path` on this page's host: calendar apps subscribe to it. */
function webcal(path) { return 'webcal://' + window.location.host + path; }

/** The "Add to calendar" link of a card: the session's event as an .ics download. */
export function calendarLinkNode(s, id) {
  if (!id) return null;
  return h('a', {
    class: 'calendar-link', href: '/api/live-sessions/' + encodeURIComponent(id) + '/calendar.ics',
    download: 'session-' + id + '.ics', 'aria-label': 'Add to calendar: ' + (s.title || 'untitled session')
  }, '📅 Add to calendar');
}

function showFeedError(text) {
  var slot = $('calendar-feed-error');
  slot.textContent = text || '';
  slot.hidden = !text;
}

/** Asks the server for the user's feed link (a new one each time) and shows it. */
function loadFeed(button) {
  if (isBusy(button)) return;
  setBusy(button, true);
  showFeedError('');
  api('GET', '/live-sessions/me/calendar-feed').then(function (body) {
    var link = $('calendar-feed-link');
    var url = body && typeof body.webcalUrl === 'string' && body.webcalUrl.indexOf('webcal://') === 0
      ? body.webcalUrl : null;
    if (!url) throw new Error('the server sent no feed link');
    link.href = url;
    link.textContent = url;
    $('calendar-feed').hidden = false;
    $('calendar-feed-open').setAttribute('aria-expanded', 'true');
  }).catch(function (err) {
    $('calendar-feed').hidden = false;
    showFeedError('Could not get your calendar link: ' + errorMessage(err));
  }).then(function () { setBusy(button, false); });
}

function closeFeed() {
  $('calendar-feed').hidden = true;
  $('calendar-feed-open').setAttribute('aria-expanded', 'false');
  $('calendar-feed-open').focus();
}

/** Shows "My calendar feed" to signed-in users only; hides the feed when they sign out. */
export function renderCalendarAuth() {
  var open = $('calendar-feed-open');
  open.hidden = !signedIn();
  if (open.hidden && !$('calendar-feed').hidden) {
    $('calendar-feed').hidden = true;
    open.setAttribute('aria-expanded', 'false');
  }
}

/** Binds the calendar controls and points "Subscribe" at the public feed. */
export function bindCalendar() {
  $('calendar-subscribe').href = webcal(PUBLIC_FEED);
  $('calendar-feed-open').addEventListener('click', function (e) {
    if ($('calendar-feed').hidden) loadFeed(e.currentTarget);
    else closeFeed();
  });
  $('calendar-feed-rotate').addEventListener('click', function (e) { loadFeed(e.currentTarget); });
  $('calendar-feed-close').addEventListener('click', closeFeed);
}
