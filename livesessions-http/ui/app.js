/* Live Sessions page: plain JavaScript, no framework, no external resources.
 * Server data is only ever put into the page through textContent and validated attributes. */
(function () {
  'use strict';

  var API = '/api';
  var TOKEN_KEY = 'livesessions.token';
  var POLL_MS = 30000;
  var HEARTBEAT_MS = 30000;
  var SEARCH_DEBOUNCE_MS = 300;
  var SSE_MAX_ERRORS = 3;
  var MAX_THUMBNAIL_BYTES = 5 * 1024 * 1024;
  var THUMBNAIL_TYPES = ['image/jpeg', 'image/png', 'image/gif', 'image/webp'];
  var EMBED_PREFIXES = ['https://www.youtube.com/embed/', 'https://player.vimeo.com/video/'];
  var EVENT_NAMES = ['created', 'updated', 'deleted', 'live', 'ended', 'participants'];
  var STATUS_RANK = { live: 0, scheduled: 1, ended: 2, cancelled: 3 };
  var FORM_FIELDS = {
    title: 'f-title', instructor: 'f-instructor', startTime: 'f-start', timezone: 'f-start',
    videoUrl: 'f-video', description: 'f-description', thumbnail: 'f-thumbnail', isLive: 'f-live'
  };

  var dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  var viewerZone = (function () {
    try { return Intl.DateTimeFormat().resolvedOptions().timeZone || ''; } catch (e) { return ''; }
  })();

  // ---------------------------------------------------------------- state

  var state = {
    auth: { token: null, source: null, user: null, admin: false },
    devSignIn: 'unknown', // 'unknown' | 'available' | 'unavailable'
    filter: 'all',
    query: '',
    sessions: new Map(),
    nextUrl: null,
    listSeq: 0,
    listAbort: null,
    route: { name: 'list', id: null },
    pendingJoin: new Map(),
    watch: null,
    analyticsSeq: 0,
    live: { mode: 'connecting', source: null, errors: 0, opened: false, pollTimer: null, polls: 0 }
  };

  function $(id) { return document.getElementById(id); }

  // ---------------------------------------------------------------- DOM helpers

  /** Builds an element; children may be nodes or strings (added as text). */
  function h(tag, attrs) {
    var el = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (key) {
        var value = attrs[key];
        if (value === null || value === undefined || value === false) return;
        if (key === 'class') el.className = value;
        else if (key === 'text') el.textContent = value;
        else if (key === 'dataset') Object.keys(value).forEach(function (k) { el.dataset[k] = value[k]; });
        else el.setAttribute(key, value === true ? '' : String(value));
      });
    }
    for (var i = 2; i < arguments.length; i++) appendChild(el, arguments[i]);
    return el;
  }

  function appendChild(el, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) { child.forEach(function (c) { appendChild(el, c); }); return; }
    el.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }

  function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); }

  /** Marks a button busy without disabling it (a disabled button would lose keyboard focus). */
  function setBusy(button, busy) {
    if (busy) { button.setAttribute('aria-disabled', 'true'); button.setAttribute('aria-busy', 'true'); }
    else { button.removeAttribute('aria-disabled'); button.removeAttribute('aria-busy'); }
  }

  function isBusy(button) { return button.getAttribute('aria-disabled') === 'true'; }

  /** An absolute http(s) URL for `value` (relative URLs resolve against the page), or null. */
  function safeUrl(value) {
    if (typeof value !== 'string' || value.trim() === '') return null;
    try {
      var url = new URL(value, window.location.href);
      return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  function safeEmbedUrl(value) {
    if (typeof value !== 'string') return null;
    for (var i = 0; i < EMBED_PREFIXES.length; i++) {
      if (value.indexOf(EMBED_PREFIXES[i]) === 0) return safeUrl(value);
    }
    return null;
  }

  // ---------------------------------------------------------------- formatting

  function formatDateTime(iso) {
    if (!iso) return '';
    var date = new Date(iso);
    return isNaN(date.getTime()) ? '' : dateTimeFormat.format(date);
  }

  function formatDuration(seconds) {
    var total = Math.max(0, Math.round(Number(seconds) || 0));
    var hours = Math.floor(total / 3600);
    var minutes = Math.floor((total % 3600) / 60);
    var secs = total % 60;
    return hours + ':' + String(minutes).padStart(2, '0') + ':' + String(secs).padStart(2, '0');
  }

  function pad2(n) { return String(n).padStart(2, '0'); }

  /** Converts a `datetime-local` value to RFC 3339 with the viewer's offset at that moment. */
  function localInputToRfc3339(value) {
    var m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?$/.exec(value || '');
    if (!m) return null;
    var date = new Date(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0));
    if (isNaN(date.getTime())) return null;
    var offset = -date.getTimezoneOffset();
    var sign = offset >= 0 ? '+' : '-';
    var abs = Math.abs(offset);
    return date.getFullYear() + '-' + pad2(date.getMonth() + 1) + '-' + pad2(date.getDate()) +
      'T' + pad2(date.getHours()) + ':' + pad2(date.getMinutes()) + ':' + pad2(date.getSeconds()) +
      sign + pad2(Math.floor(abs / 60)) + ':' + pad2(abs % 60);
  }

  function initials(title) {
    var words = String(title || '').trim().split(/\s+/).filter(Boolean);
    var letters = words.slice(0, 2).map(function (w) { return Array.from(w)[0]; }).join('');
    return (letters || '?').toUpperCase();
  }

  function hashIndex(text, n) {
    var hash = 0;
    for (var i = 0; i < text.length; i++) hash = (hash * 31 + text.charCodeAt(i)) >>> 0;
    return hash % n;
  }

  function sessionId(s) { return String(s.id || s._id || ''); }

  function statusOf(s) {
    if (s.status && STATUS_RANK.hasOwnProperty(s.status)) return s.status;
    return s.isLive ? 'live' : 'scheduled';
  }

  var STATUS_LABELS = {
    live: '🔴 Live Now', scheduled: '⏰ Scheduled', ended: 'Ended', cancelled: 'Cancelled'
  };

  // ---------------------------------------------------------------- auth

  function decodeJwt(token) {
    var part = String(token).split('.')[1];
    if (!part) return null;
    try {
      var b64 = part.replace(/-/g, '+').replace(/_/g, '/');
      while (b64.length % 4) b64 += '=';
      var binary = atob(b64);
      var bytes = new Uint8Array(binary.length);
      for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
      var payload = JSON.parse(new TextDecoder().decode(bytes));
      return payload && typeof payload === 'object' ? payload : null;
    } catch (e) {
      return null;
    }
  }

  function hostToken() {
    var t = window.LIVESESSIONS_TOKEN;
    return typeof t === 'function' || (typeof t === 'string' && t !== '') ? t : null;
  }

  function readStoredToken() {
    try { return window.localStorage.getItem(TOKEN_KEY); } catch (e) { return null; }
  }

  function writeStoredToken(token) {
    try {
      if (token) window.localStorage.setItem(TOKEN_KEY, token);
      else window.localStorage.removeItem(TOKEN_KEY);
    } catch (e) { /* storage unavailable: the token lives for this page only */ }
  }

  /** Resolves the current token: the host's (a string or a function) or the stored one. */
  function resolveToken() {
    var host = hostToken();
    if (host) {
      if (typeof host === 'string') return Promise.resolve({ token: host, source: 'host' });
      return Promise.resolve()
        .then(function () { return host(); })
        .then(function (t) { return { token: typeof t === 'string' && t ? t : null, source: 'host' }; })
        .catch(function () { return { token: null, source: 'host' }; });
    }
    return Promise.resolve({ token: readStoredToken(), source: 'storage' });
  }

  function setAuth(token, source) {
    var claims = token ? decodeJwt(token) : null;
    var expired = claims && typeof claims.exp === 'number' && claims.exp * 1000 < Date.now();
    if (!claims || expired) {
      if (token && source === 'storage') writeStoredToken(null);
      state.auth = { token: null, source: source, user: null, admin: false };
      return;
    }
    var roles = Array.isArray(claims.roles) ? claims.roles : [];
    state.auth = {
      token: token,
      source: source,
      user: {
        id: typeof claims.sub === 'string' ? claims.sub : (claims.user_id || null),
        name: String(claims.name || claims.userName || claims.email || claims.sub || ''),
        email: String(claims.email || '')
      },
      admin: claims.admin === true || roles.indexOf('admin') !== -1,
      // A token that says `admin: false` outright is not probed for allow-list rights.
      adminKnown: claims.admin === false
    };
  }

  function refreshAuth() {
    return resolveToken().then(function (r) {
      var before = state.auth.token;
      setAuth(r.token, r.source);
      renderAuth();
      if (before !== state.auth.token) {
        renderGrid();
        if (state.auth.token && !state.auth.admin && !state.auth.adminKnown) probeAdmin(state.auth.token);
      }
    });
  }

  /** Admins may come from a server-side allow-list that the token does not show. */
  function probeAdmin(token) {
    api('GET', '/admin/analytics?limit=1').then(function () {
      if (state.auth.token === token && !state.auth.admin) {
        state.auth.admin = true;
        renderAuth();
        renderGrid();
      }
    }, function () { /* not an admin, or the server said no: nothing to do */ });
  }

  function signedIn() { return !!state.auth.token; }

  function renderAuth() {
    var auth = state.auth;
    var who = $('whoami');
    clear(who);
    if (auth.user) {
      appendChild(who, ['Signed in as ', h('strong', { text: auth.user.name || auth.user.email })]);
      if (auth.user.email && auth.user.name !== auth.user.email) appendChild(who, ' (' + auth.user.email + ')');
      if (auth.admin) appendChild(who, h('span', { class: 'admin-tag', text: 'admin' }));
    }
    who.hidden = !auth.user;
    $('signout').hidden = !(auth.user && auth.source === 'storage');

    var hostManaged = !!hostToken();
    var devUnavailable = hostManaged || state.devSignIn === 'unavailable';
    $('signin-panel').hidden = signedIn();
    // The form only once the server has said it signs people in.
    $('signin-form').hidden = devUnavailable || state.devSignIn !== 'available';
    $('signin-note').hidden = !devUnavailable;

    $('add-session-toggle').hidden = !auth.admin;
    if (!auth.admin) showSessionForm(false);
  }

  /** Without a dev sign-in route a GET answers 404; with one (POST only) it answers 405. */
  function probeDevSignIn() {
    if (hostToken()) return;
    fetch(API + '/dev/token', { method: 'GET', credentials: 'same-origin' }).then(function (res) {
      state.devSignIn = res.status === 404 ? 'unavailable' : 'available';
      renderAuth();
    }, function () {
      // Offline: offer the form; signing in says what went wrong.
      state.devSignIn = 'available';
      renderAuth();
    });
  }

  function onSignIn(event) {
    event.preventDefault();
    var name = $('signin-name').value.trim();
    var email = $('signin-email').value.trim();
    var errors = [];
    if (!name) errors.push({ field: 'signin-name', message: 'Enter your name.' });
    if (!/^[^\s@]+@[^\s@]+$/.test(email)) errors.push({ field: 'signin-email', message: 'Enter a valid email address.' });
    clearFieldErrors(['signin-name', 'signin-email']);
    if (errors.length) {
      errors.forEach(function (e) { setFieldError(e.field, e.message); });
      $(errors[0].field).focus();
      return;
    }
    var button = $('signin-submit');
    if (isBusy(button)) return;
    setBusy(button, true);
    api('POST', '/dev/token', { json: { name: name, email: email, admin: $('signin-admin').checked }, auth: false })
      .then(function (body) {
        if (!body || typeof body.token !== 'string') throw new ApiError(0, 'Sign-in failed', 'The server sent no token.');
        writeStoredToken(body.token);
        return refreshAuth().then(function () {
          if (!state.auth.user) throw new ApiError(0, 'Sign-in failed', 'The server sent a token this page cannot read.');
          showAlert('Signed in as ' + state.auth.user.name + '.', 'success');
          if (state.route.name !== 'list') route();
          else $('list-heading').focus();
        });
      })
      .catch(function (err) {
        if (err.status === 404 || err.status === 405) {
          state.devSignIn = 'unavailable';
          renderAuth();
          showAlert('Sign-in is provided by the host application.', 'info');
        } else {
          handleFormError(err, { name: 'signin-name', email: 'signin-email' });
        }
      })
      .then(function () { setBusy(button, false); });
  }

  function onSignOut() {
    writeStoredToken(null);
    stopWatch(true);
    refreshAuth().then(function () {
      showAlert('Signed out.', 'success');
      if (state.route.name !== 'list') window.location.hash = '#/';
    });
  }

  // ---------------------------------------------------------------- API

  function ApiError(status, title, detail, errors, retryAfter) {
    this.status = status;
    this.title = title || '';
    this.detail = detail || '';
    this.errors = Array.isArray(errors) ? errors : [];
    this.retryAfter = retryAfter;
  }

  function retryAfterSeconds(res) {
    var value = res.headers.get('Retry-After');
    if (!value) return null;
    if (/^\d+$/.test(value.trim())) return parseInt(value, 10);
    var at = Date.parse(value);
    return isNaN(at) ? null : Math.max(0, Math.ceil((at - Date.now()) / 1000));
  }

  function readError(res) {
    var type = res.headers.get('Content-Type') || '';
    var body = /json/i.test(type) ? res.json().catch(function () { return null; }) : Promise.resolve(null);
    return body.then(function (p) {
      p = p || {};
      return new ApiError(res.status, p.title || res.statusText, p.detail || p.message || '', p.errors, retryAfterSeconds(res));
    });
  }

  /** Calls the API. Resolves to the parsed body (null for 204), or rejects with an ApiError. */
  function api(method, path, opts) {
    opts = opts || {};
    var url = path.indexOf(API + '/') === 0 ? path : API + path;
    var headers = { Accept: opts.accept || 'application/json' };
    var body;
    if (opts.json !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(opts.json);
    } else if (opts.form) {
      body = opts.form;
    }
    var tokenPromise = opts.auth === false ? Promise.resolve(null) : resolveToken().then(function (r) {
      if (r.source === 'host' && r.token !== state.auth.token) { setAuth(r.token, r.source); renderAuth(); }
      return r.source === 'host' ? r.token : state.auth.token;
    });
    return tokenPromise.then(function (token) {
      if (token) headers.Authorization = 'Bearer ' + token;
      return fetch(url, {
        method: method, headers: headers, body: body, credentials: 'same-origin',
        signal: opts.signal, keepalive: !!opts.keepalive
      });
    }).then(function (res) {
      if (!res.ok) return readError(res).then(function (err) { throw err; });
      if (opts.raw) return res;
      if (res.status === 204) return null;
      return res.text().then(function (text) { return text ? JSON.parse(text) : null; });
    }, function (err) {
      if (err && err.name === 'AbortError') throw err;
      throw new ApiError(0, 'Network error', 'Cannot reach the server. Check your connection and try again.');
    });
  }

  /** A readable message for an ApiError. */
  function errorMessage(err) {
    if (!(err instanceof ApiError)) return 'Something went wrong: ' + (err && err.message ? err.message : String(err));
    var retry = err.retryAfter !== null && err.retryAfter !== undefined ? err.retryAfter : null;
    switch (err.status) {
      case 0: return err.detail || err.title;
      case 401: return 'Please sign in to continue.';
      case 403: return 'You are not allowed to do that' + (err.detail ? ': ' + err.detail : '.');
      case 404: return err.detail || 'Not found: it may have been deleted.';
      case 413: return err.detail || 'The upload is too large.';
      case 429: return 'Too many requests, retry in ' + (retry !== null ? retry : 'a few') + ' s.';
      case 503: return 'The service is temporarily unavailable' + (retry !== null ? ', retry in ' + retry + ' s.' : '. Try again shortly.');
      default:
        if (err.errors.length) return err.errors.map(function (e) { return e.message ? e.field + ': ' + e.message : e.field; }).join('; ');
        return [err.title, err.detail].filter(Boolean).join(': ') || ('Request failed (' + err.status + ').');
    }
  }

  /** Shows an error; a 401 also asks the user to sign in. */
  function reportError(err, prefix) {
    if (err && err.name === 'AbortError') return;
    if (err instanceof ApiError && err.status === 401) promptSignIn();
    showAlert((prefix ? prefix + ': ' : '') + errorMessage(err), 'error');
  }

  function promptSignIn() {
    if (state.auth.source === 'storage' && state.auth.token) writeStoredToken(null);
    refreshAuth().then(function () {
      var name = $('signin-name');
      if (!$('signin-panel').hidden && !$('signin-form').hidden) name.focus();
    });
  }

  // ---------------------------------------------------------------- alerts

  function showAlert(message, kind) {
    kind = kind || 'error';
    var box = $('alerts');
    var existing = Array.prototype.find.call(box.children, function (el) { return el.dataset.message === message; });
    if (existing) existing.remove();
    var close = h('button', { type: 'button', class: 'icon-btn alert-close', 'aria-label': 'Dismiss' }, '✕');
    var alert = h('div', {
      class: 'alert alert-' + kind, role: kind === 'error' ? 'alert' : 'status', dataset: { message: message }
    }, h('p', { text: message }), close);
    close.addEventListener('click', function () { alert.remove(); });
    box.appendChild(alert);
    while (box.children.length > 4) box.firstElementChild.remove();
    if (kind !== 'error') setTimeout(function () { alert.remove(); }, 6000);
    else if (alert.getBoundingClientRect().top < 0) alert.scrollIntoView({ block: 'nearest' });
  }

  // ---------------------------------------------------------------- field errors

  function setFieldError(inputId, message) {
    var input = $(inputId);
    var box = $(inputId + '-error');
    if (!input || !box) return false;
    box.textContent = message;
    box.hidden = false;
    input.setAttribute('aria-invalid', 'true');
    var ids = (input.getAttribute('aria-describedby') || '').split(/\s+/).filter(Boolean);
    if (ids.indexOf(box.id) === -1) ids.push(box.id);
    input.setAttribute('aria-describedby', ids.join(' '));
    return true;
  }

  function clearFieldError(inputId) {
    var input = $(inputId);
    var box = $(inputId + '-error');
    if (!input || !box) return;
    box.textContent = '';
    box.hidden = true;
    input.removeAttribute('aria-invalid');
    var ids = (input.getAttribute('aria-describedby') || '').split(/\s+/).filter(function (id) { return id && id !== box.id; });
    if (ids.length) input.setAttribute('aria-describedby', ids.join(' '));
    else input.removeAttribute('aria-describedby');
  }

  function clearFieldErrors(ids) { ids.forEach(clearFieldError); }

  /** Puts field errors next to their inputs (fieldMap: API field → input id); the rest goes to the alerts. */
  function handleFormError(err, fieldMap) {
    if (!(err instanceof ApiError) || !err.errors.length) { reportError(err); return; }
    var first = null;
    var rest = [];
    err.errors.forEach(function (e) {
      var inputId = fieldMap[e.field];
      var message = e.message || e.code || 'Invalid value.';
      if (inputId && setFieldError(inputId, message)) { first = first || inputId; } else rest.push(e);
    });
    if (rest.length) reportError(new ApiError(err.status, err.title, err.detail, rest, err.retryAfter));
    if (first) $(first).focus();
  }

  // ---------------------------------------------------------------- sessions list

  function matchesFilter(s) {
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
  function loadSessions(opts) {
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

  function renderGrid() {
    var grid = $('sessions');
    var focus = captureFocus(grid);
    clear(grid);
    var list = sortedSessions();
    list.forEach(function (s) { grid.appendChild(renderCard(s)); });
    setListMessage(list.length ? '' : emptyMessage());
    $('load-more').hidden = !state.nextUrl;
    restoreFocus(focus);
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

  function findCard(id) {
    var cards = $('sessions').querySelectorAll('.session-card');
    for (var i = 0; i < cards.length; i++) if (cards[i].dataset.id === id) return cards[i];
    return null;
  }

  function thumbnailNode(s, alt) {
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

  function timeNode(s) {
    return h('time', {
      datetime: s.startTime || null, title: viewerZone ? 'Your time zone: ' + viewerZone : null
    }, '⏱️ ' + (formatDateTime(s.startTime) || 'No start time'));
  }

  function actionButton(action, label, name, extraClass, s) {
    return h('button', {
      type: 'button', class: 'btn btn-small ' + action + '-btn ' + extraClass,
      dataset: { action: action }, 'aria-label': name + ': ' + (s.title || 'untitled session')
    }, label);
  }

  function renderCard(s) {
    var id = sessionId(s);
    var status = statusOf(s);
    var live = status === 'live';
    var titleId = 'card-title-' + id;
    var actions = h('div', { class: 'card-actions' });
    if (signedIn() && (status === 'live' || status === 'scheduled')) {
      actions.appendChild(actionButton('join', live ? 'Join Now →' : 'Join Now', 'Join Now', 'btn-primary', s));
    }
    if (state.auth.admin) {
      if (live) actions.appendChild(actionButton('end', '⏹️ End', 'End', 'btn-ghost', s));
      else if (status === 'scheduled' || status === 'ended') actions.appendChild(actionButton('start', '▶️ Start', 'Start', 'btn-live', s));
      actions.appendChild(actionButton('analytics', '📊 Analytics', 'Analytics', 'btn-ghost', s));
      actions.appendChild(actionButton('delete', '🗑️ Delete', 'Delete', 'btn-danger', s));
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
        actions.childNodes.length ? actions : null));
  }

  /** What a card shows apart from the counts: when it is unchanged only the count is updated. */
  function renderKey(s) {
    return JSON.stringify([statusOf(s), s.title, s.instructor, s.description, s.thumbnail, s.startTime]);
  }

  /** Applies a newer version of a session to the list: updates, inserts, moves or removes its card. */
  function upsertSession(s) {
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
  }

  function removeSession(id) {
    state.sessions.delete(id);
    var card = findCard(id);
    if (!card) return;
    var hadFocus = card.contains(document.activeElement);
    card.remove();
    if (!state.sessions.size) setListMessage(emptyMessage());
    if (hadFocus) $('list-heading').focus();
  }

  // ---------------------------------------------------------------- filters and search

  function setFilter(filter) {
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

  var searchTimer = null;
  function onSearchInput() {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(function () {
      var q = $('search').value.trim();
      if (q === state.query) return;
      state.query = q;
      loadSessions();
    }, SEARCH_DEBOUNCE_MS);
  }

  // ---------------------------------------------------------------- card actions

  function onGridClick(event) {
    var button = event.target.closest('button[data-action]');
    if (!button || isBusy(button)) return;
    var card = button.closest('.session-card');
    var s = card && state.sessions.get(card.dataset.id);
    if (!s) return;
    var action = button.dataset.action;
    if (action === 'join') openJoinModal(s, button);
    else if (action === 'start' || action === 'end') setLive(s, action === 'start', button);
    else if (action === 'delete') deleteSession(s, button);
    else if (action === 'analytics') window.location.hash = '#/sessions/' + encodeURIComponent(sessionId(s)) + '/analytics';
  }

  function setLive(s, live, button) {
    setBusy(button, true);
    api('PUT', '/admin/live-sessions/' + encodeURIComponent(sessionId(s)), { json: { isLive: live } })
      .then(function (updated) {
        if (updated && sessionId(updated)) upsertSession(updated);
        showAlert((live ? 'Started: ' : 'Ended: ') + s.title, 'success');
      })
      .catch(function (err) {
        reportError(err, live ? 'Could not start the session' : 'Could not end the session');
      })
      .then(function () {
        setBusy(button, false);
      });
  }

  function deleteSession(s, button) {
    confirmDialog('Delete “' + s.title + '”? Its attendance records are deleted too.', 'Delete', button)
      .then(function (ok) {
        if (!ok) return;
        setBusy(button, true);
        return api('DELETE', '/admin/live-sessions/' + encodeURIComponent(sessionId(s)))
          .then(function () {
            removeSession(sessionId(s));
            showAlert('Deleted: ' + s.title, 'success');
          })
          .catch(function (err) {
            setBusy(button, false);
            reportError(err, 'Could not delete the session');
          });
      });
  }

  // ---------------------------------------------------------------- dialogs

  function openDialog(dialog) {
    if (typeof dialog.showModal === 'function') dialog.showModal();
    else dialog.setAttribute('open', '');
  }

  function closeDialog(dialog) {
    if (typeof dialog.close === 'function') dialog.close();
    else dialog.removeAttribute('open');
  }

  var confirmState = null;
  function confirmDialog(message, okLabel, opener) {
    var dialog = $('confirm-modal');
    $('confirm-message').textContent = message;
    $('confirm-ok').textContent = okLabel;
    return new Promise(function (resolve) {
      confirmState = { resolve: resolve, opener: opener, result: false };
      openDialog(dialog);
      $('confirm-cancel').focus();
    });
  }

  function onConfirmClose() {
    if (!confirmState) return;
    var s = confirmState;
    confirmState = null;
    if (s.opener && s.opener.isConnected) s.opener.focus();
    s.resolve(s.result);
  }

  var joinState = null;
  function openJoinModal(s, opener) {
    if (!signedIn()) { promptSignIn(); showAlert('Please sign in to join a session.', 'info'); return; }
    joinState = { session: s, opener: opener };
    var thumb = $('join-thumb');
    clear(thumb);
    thumb.appendChild(thumbnailNode(s, 'Thumbnail of ' + (s.title || 'the session')));
    $('join-title').textContent = s.title || 'Untitled session';
    $('join-instructor').textContent = s.instructor ? '👨‍🏫 ' + s.instructor : '';
    var time = $('join-time');
    clear(time);
    time.appendChild(timeNode(s));
    appendChild(time, [' | ', h('span', { class: 'status status-' + statusOf(s), text: STATUS_LABELS[statusOf(s)] })]);
    $('join-count').textContent = '👥 ' + (Number(s.participants) || 0) + ' joined' +
      (statusOf(s) === 'live' ? ' · ' + (Number(s.watching) || 0) + ' watching now' : '');
    $('join-name').value = state.auth.user.name;
    $('join-email').value = state.auth.user.email;
    $('join-error').hidden = true;
    setBusy($('join-submit'), false);
    openDialog($('join-modal'));
    $('join-submit').focus();
  }

  function onJoinSubmit(event) {
    event.preventDefault();
    if (!joinState) return;
    var s = joinState.session;
    var id = sessionId(s);
    var user = state.auth.user;
    var body = { sessionId: id, userName: user.name, email: user.email };
    if (user.id) body.userId = user.id;
    var button = $('join-submit');
    if (isBusy(button)) return;
    setBusy(button, true);
    api('POST', '/live-sessions/join', { json: body })
      .then(function (result) {
        if (result && result.session) upsertSession(result.session);
        state.pendingJoin.set(id, result);
        joinState.opener = null;
        closeDialog($('join-modal'));
        window.location.hash = '#/watch/' + encodeURIComponent(id);
      })
      .catch(function (err) {
        setBusy(button, false);
        if (err instanceof ApiError && err.status === 401) { closeDialog($('join-modal')); reportError(err); return; }
        var box = $('join-error');
        box.textContent = errorMessage(err);
        box.hidden = false;
      });
  }

  function onJoinClose() {
    var opener = joinState && joinState.opener;
    joinState = null;
    if (opener && opener.isConnected) opener.focus();
  }

  // ---------------------------------------------------------------- admin form

  function showSessionForm(show) {
    var form = $('session-form');
    form.hidden = !show;
    $('add-session-toggle').setAttribute('aria-expanded', String(show));
    if (show) $('f-title').focus();
  }

  var previewUrl = null;
  function setPreview(file) {
    var img = $('f-thumbnail-preview');
    if (previewUrl) { URL.revokeObjectURL(previewUrl); previewUrl = null; }
    if (!file) { img.hidden = true; img.removeAttribute('src'); return; }
    previewUrl = URL.createObjectURL(file);
    img.src = previewUrl;
    img.hidden = false;
  }

  function thumbnailProblem(file) {
    if (!file) return null;
    if (THUMBNAIL_TYPES.indexOf(file.type) === -1) return 'Choose a JPEG, PNG, GIF or WebP image.';
    if (file.size > MAX_THUMBNAIL_BYTES) return 'The image is larger than 5 MB.';
    if (file.size === 0) return 'The file is empty.';
    return null;
  }

  function onThumbnailChange() {
    var file = $('f-thumbnail').files[0] || null;
    clearFieldError('f-thumbnail');
    var problem = thumbnailProblem(file);
    if (problem) { setFieldError('f-thumbnail', problem); setPreview(null); return; }
    setPreview(file);
  }

  function resetSessionForm() {
    $('session-form').reset();
    setPreview(null);
    clearFieldErrors(['f-title', 'f-instructor', 'f-start', 'f-video', 'f-description', 'f-thumbnail']);
  }

  function validateSessionForm() {
    var errors = [];
    if (!$('f-title').value.trim()) errors.push(['f-title', 'Enter a title.']);
    if (!$('f-instructor').value.trim()) errors.push(['f-instructor', 'Enter the instructor’s name.']);
    if (!$('f-start').value) errors.push(['f-start', 'Choose the start date and time.']);
    else if (!localInputToRfc3339($('f-start').value)) errors.push(['f-start', 'Enter a valid date and time.']);
    var video = $('f-video').value.trim();
    if (!video) errors.push(['f-video', 'Enter the video URL.']);
    else if (!/^https?:\/\//i.test(video) || !safeUrl(video)) errors.push(['f-video', 'Enter a full https:// link.']);
    var problem = thumbnailProblem($('f-thumbnail').files[0] || null);
    if (problem) errors.push(['f-thumbnail', problem]);
    return errors;
  }

  function onSessionSubmit(event) {
    event.preventDefault();
    if (isBusy($('f-submit'))) return;
    clearFieldErrors(['f-title', 'f-instructor', 'f-start', 'f-video', 'f-description', 'f-thumbnail']);
    var errors = validateSessionForm();
    if (errors.length) {
      errors.forEach(function (e) { setFieldError(e[0], e[1]); });
      $(errors[0][0]).focus();
      return;
    }
    var form = new FormData();
    form.append('title', $('f-title').value.trim());
    form.append('description', $('f-description').value.trim());
    form.append('instructor', $('f-instructor').value.trim());
    form.append('videoUrl', $('f-video').value.trim());
    form.append('startTime', localInputToRfc3339($('f-start').value));
    if (viewerZone) form.append('timezone', viewerZone);
    form.append('isLive', $('f-live').checked ? 'true' : 'false');
    var file = $('f-thumbnail').files[0];
    if (file) form.append('thumbnail', file, file.name);
    var button = $('f-submit');
    setBusy(button, true);
    button.textContent = 'Creating…';
    api('POST', '/admin/live-sessions', { form: form })
      .then(function (created) {
        resetSessionForm();
        showSessionForm(false);
        if (created && sessionId(created)) upsertSession(created);
        showAlert('Session created: ' + (created && created.title ? created.title : 'new session'), 'success');
        $('add-session-toggle').focus();
      })
      .catch(function (err) { handleFormError(err, FORM_FIELDS); })
      .then(function () {
        setBusy(button, false);
        button.textContent = 'Create Session';
      });
  }

  // ---------------------------------------------------------------- routing

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

  function route() {
    var previous = state.route;
    var next = parseRoute();
    if (previous.name === 'watch' && (next.name !== 'watch' || next.id !== previous.id)) stopWatch(true);
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

  function goToList() { window.location.hash = '#/'; }

  // ---------------------------------------------------------------- watch view

  function openWatch(id) {
    stopWatch(false);
    var watch = { id: id, session: null, timer: null, present: false, status: null, warned: false };
    state.watch = watch;
    $('watch-title').textContent = 'Loading…';
    $('watch-meta').textContent = '';
    $('watch-description').textContent = '';
    clear($('watch-player'));
    setWatchStatus('', null);
    $('watch-title').focus();
    if (!signedIn()) {
      $('watch-title').textContent = 'Sign in to watch';
      setWatchStatus('Sign in to join this session.', null);
      promptSignIn();
      return;
    }
    var pending = state.pendingJoin.get(id);
    state.pendingJoin.delete(id);
    var joined = pending ? Promise.resolve(pending) : joinForWatch(id);
    joined.then(function (result) {
      if (state.watch !== watch) return;
      if (result.session) renderWatchSession(result.session);
      var session = result.session || {};
      renderPlayer(result.embedUrl || session.embedUrl, result.videoUrl || session.videoUrl, session);
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

  /** The join was refused (e.g. the session ended): show the session and why. */
  function watchFailed(id, err) {
    if (err instanceof ApiError && err.status === 401) promptSignIn();
    api('GET', '/live-sessions/' + encodeURIComponent(id)).then(function (s) {
      if (!state.watch || state.watch.id !== id) return;
      renderWatchSession(s);
      if (statusOf(s) === 'live' || statusOf(s) === 'scheduled') setWatchStatus('Could not join: ' + errorMessage(err), null);
    }, function () {
      if (!state.watch || state.watch.id !== id) return;
      $('watch-title').textContent = 'Session unavailable';
      setWatchStatus(errorMessage(err), null);
    });
  }

  function setWatchStatus(text, kind) {
    var el = $('watch-status');
    el.textContent = text;
    el.className = 'watch-status' + (kind ? ' is-' + kind : '');
    el.hidden = !text;
  }

  function renderWatchSession(s) {
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
    else if (watch.status === 'scheduled') setWatchStatus('Starts ' + formatDateTime(s.startTime) + '. The stream begins when the instructor goes live.', null);
    else if (watch.status === 'ended') setWatchStatus('This session has ended.', 'ended');
    else setWatchStatus('This session was cancelled.', 'ended');
    // Going live opens the presence interval at once rather than at the next heartbeat.
    if (before && before !== 'live' && watch.status === 'live' && watch.present) heartbeat();
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

  function heartbeat() {
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
  function sendLeave(watch) {
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

  function stopWatch(leave) {
    var watch = state.watch;
    if (!watch) return;
    if (leave) sendLeave(watch);
    clearInterval(watch.timer);
    state.watch = null;
    clear($('watch-player'));
  }

  function onVisibilityChange() {
    var watch = state.watch;
    if (!watch || !watch.timer) return;
    if (document.visibilityState === 'hidden') sendLeave(watch);
    else if (!watch.present) heartbeat();
  }

  // ---------------------------------------------------------------- analytics view

  function attendanceUrl(id) {
    return API + '/admin/live-sessions/' + encodeURIComponent(id) + '/participants?sort=joinTime&order=asc&limit=1000';
  }

  function openAnalytics(id) {
    var seq = ++state.analyticsSeq;
    $('analytics-view').dataset.id = id;
    var known = state.sessions.get(id);
    $('analytics-title').textContent = 'Analytics: ' + (known ? known.title : '…');
    $('analytics-title').focus();
    if (!signedIn()) { promptSignIn(); showAlert('Sign in as an admin to see analytics.', 'info'); return; }
    loadAnalytics(id, seq, false);
  }

  function loadAnalytics(id, seq, quiet) {
    var base = '/admin/live-sessions/' + encodeURIComponent(id);
    var session = api('GET', '/live-sessions/' + encodeURIComponent(id));
    var report = api('GET', base + '/analytics');
    var attendance = api('GET', attendanceUrl(id));
    session.then(function (s) {
      if (seq !== state.analyticsSeq) return;
      $('analytics-title').textContent = 'Analytics: ' + (s.title || 'Untitled session');
      document.title = 'Analytics · ' + (s.title || 'Session') + ' · Live Sessions';
      $('analytics-meta').textContent = (s.instructor ? '👨‍🏫 ' + s.instructor + ' · ' : '') +
        formatDateTime(s.startTime) + ' · ' + STATUS_LABELS[statusOf(s)];
    }, function () {});
    return Promise.all([report, attendance, session.catch(function () { return null; })]).then(function (r) {
      if (seq !== state.analyticsSeq) return;
      renderReport(r[0] || {});
      renderAttendees((r[1] && r[1].participants) || []);
    }).catch(function (err) {
      if (seq !== state.analyticsSeq || quiet) return;
      reportError(err, 'Could not load analytics');
    });
  }

  function renderReport(r) {
    $('analytics-participants').textContent = String(Number(r.participants) || 0);
    $('analytics-watching').textContent = String(Number(r.watching) || 0);
    $('analytics-attended').textContent = String(Number(r.attended) || 0);
    $('analytics-attended-label').textContent = 'Attended (≥ ' + (Number(r.thresholdPercent) || 0) + '% of live time)';
    $('analytics-average').textContent = formatDuration(r.averageWatchSeconds);
    $('analytics-max').textContent = formatDuration(r.maxWatchSeconds);
    $('analytics-total').textContent = formatDuration(r.totalWatchSeconds);
    $('analytics-live').textContent = formatDuration(r.liveSeconds);
  }

  function renderAttendees(list) {
    var body = document.querySelector('#attendees tbody');
    clear(body);
    list.forEach(function (p) {
      var seconds = p.watchSeconds !== undefined ? p.watchSeconds : (Number(p.watchDuration) || 0) * 60;
      body.appendChild(h('tr', {},
        h('td', { text: p.userName || '' }),
        h('td', { text: p.email || '' }),
        h('td', {}, h('time', { datetime: p.joinTime || null, text: formatDateTime(p.joinTime) })),
        h('td', { class: 'num', text: formatDuration(seconds) }),
        h('td', { class: 'num', text: String(Number(p.joinCount) || 1) }),
        h('td', { text: p.present ? 'Yes' : 'No' })));
    });
    $('attendees-empty').hidden = list.length > 0;
  }

  var analyticsTimer = null;
  function scheduleAnalyticsRefresh() {
    clearTimeout(analyticsTimer);
    analyticsTimer = setTimeout(function () {
      if (state.route.name === 'analytics') loadAnalytics(state.route.id, ++state.analyticsSeq, true);
    }, 1000);
  }

  function downloadCsv() {
    var id = state.route.id;
    var button = $('download-csv');
    if (isBusy(button)) return;
    setBusy(button, true);
    api('GET', attendanceUrl(id), { accept: 'text/csv', raw: true })
      .then(function (res) { return res.blob(); })
      .then(function (blob) {
        var url = URL.createObjectURL(blob);
        var a = h('a', { href: url, download: 'attendance-' + id + '.csv', hidden: true });
        document.body.appendChild(a);
        a.click();
        a.remove();
        setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
      })
      .catch(function (err) { reportError(err, 'Could not download the CSV'); })
      .then(function () { setBusy(button, false); });
  }

  // ---------------------------------------------------------------- live updates

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

  function connectEvents() {
    if (typeof window.EventSource !== 'function') { startPolling(); return; }
    var live = state.live;
    var source;
    try { source = new EventSource(API + '/live-sessions/events'); } catch (e) { startPolling(); return; }
    live.source = source;
    live.errors = 0;
    EVENT_NAMES.forEach(function (name) {
      source.addEventListener(name, function (e) {
        var data;
        try { data = JSON.parse(e.data); } catch (err) { return; }
        applyEvent(name, data);
      });
    });
    source.addEventListener('open', function () {
      // Events sent while disconnected or polling are lost: catch up.
      var catchUp = live.opened || live.pollTimer !== null;
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

  // ---------------------------------------------------------------- wiring

  function bind() {
    $('signin-form').addEventListener('submit', onSignIn);
    ['signin-name', 'signin-email'].forEach(function (id) {
      $(id).addEventListener('input', function () { clearFieldError(id); });
    });
    $('signout').addEventListener('click', onSignOut);

    $('add-session-toggle').addEventListener('click', function () { showSessionForm($('session-form').hidden); });
    $('f-cancel').addEventListener('click', function () { resetSessionForm(); showSessionForm(false); $('add-session-toggle').focus(); });
    $('session-form').addEventListener('submit', onSessionSubmit);
    $('f-thumbnail').addEventListener('change', onThumbnailChange);
    ['f-title', 'f-instructor', 'f-start', 'f-video', 'f-description'].forEach(function (id) {
      $(id).addEventListener('input', function () { clearFieldError(id); });
    });

    document.querySelectorAll('[data-filter]').forEach(function (tab) {
      tab.addEventListener('click', function () { setFilter(tab.dataset.filter); });
    });
    $('search').addEventListener('input', onSearchInput);
    $('sessions').addEventListener('click', onGridClick);
    $('load-more').addEventListener('click', function () { loadSessions({ more: true }); });

    $('join-form').addEventListener('submit', onJoinSubmit);
    $('join-close').addEventListener('click', function () { closeDialog($('join-modal')); });
    $('join-cancel').addEventListener('click', function () { closeDialog($('join-modal')); });
    $('join-modal').addEventListener('close', onJoinClose);

    $('confirm-ok').addEventListener('click', function () {
      if (confirmState) confirmState.result = true;
      closeDialog($('confirm-modal'));
    });
    $('confirm-cancel').addEventListener('click', function () { closeDialog($('confirm-modal')); });
    $('confirm-modal').addEventListener('close', onConfirmClose);

    $('watch-back').addEventListener('click', goToList);
    $('analytics-back').addEventListener('click', goToList);
    $('analytics-refresh').addEventListener('click', function () {
      if (state.route.name === 'analytics') loadAnalytics(state.route.id, ++state.analyticsSeq, false);
    });
    $('download-csv').addEventListener('click', downloadCsv);

    window.addEventListener('hashchange', route);
    document.addEventListener('visibilitychange', onVisibilityChange);
    window.addEventListener('pagehide', function () { sendLeave(state.watch); });
    window.addEventListener('pageshow', function (e) { if (e.persisted && state.watch) heartbeat(); });
    window.addEventListener('storage', function (e) { if (e.key === TOKEN_KEY) refreshAuth(); });
  }

  function start() {
    bind();
    setAuth(null, null);
    refreshAuth().then(function () {
      probeDevSignIn();
      loadSessions();
      connectEvents();
      route();
    });
  }

  /** For host applications whose token changes (e.g. after their own sign-in). */
  window.LiveSessions = { refreshAuth: refreshAuth, reload: function () { return loadSessions(); } };

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
