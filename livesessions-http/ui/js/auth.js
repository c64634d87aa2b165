/* Who is signed in: the token (from the host page or localStorage), its claims, the admin probe,
 * the dev sign-in probe, and the header parts that depend on them. */

import { api, API } from './api.js';
import { $, appendChild, clear, h } from './dom.js';
import { state } from './state.js';

export const TOKEN_KEY = 'livesessions.token';

/* Called when the signed-in user or their admin rights change (main.js adds the list's renderGrid). */
const authListeners = [];

/** Adds a function to call when the signed-in user or their admin rights change. */
export function onAuthChange(listener) { authListeners.push(listener); }

function authChanged() { authListeners.forEach(function (listener) { listener(); }); }

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

export function writeStoredToken(token) {
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

export function setAuth(token, source) {
  // What the page learnt about the previous user's registrations is not this one's.
  state.registered.clear();
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

export function refreshAuth() {
  return resolveToken().then(function (r) {
    var before = state.auth.token;
    setAuth(r.token, r.source);
    renderAuth();
    if (before !== state.auth.token) {
      authChanged();
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
      authChanged();
    }
  }, function () { /* not an admin, or the server said no: nothing to do */ });
}

/** The bearer token for a request; a host token that changed is adopted (and shown) first. */
export function requestToken() {
  return resolveToken().then(function (r) {
    if (r.source === 'host' && r.token !== state.auth.token) { setAuth(r.token, r.source); renderAuth(); }
    return r.source === 'host' ? r.token : state.auth.token;
  });
}

export function signedIn() { return !!state.auth.token; }

export function renderAuth() {
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
  $('webhooks-open').hidden = !auth.admin;
  if (!auth.admin) showSessionForm(false);
}

export function showSessionForm(show) {
  var form = $('session-form');
  form.hidden = !show;
  $('add-session-toggle').setAttribute('aria-expanded', String(show));
  if (show) $('f-title').focus();
}

/** Without a dev sign-in route a GET answers 404; with one (POST only) it answers 405. */
export function probeDevSignIn() {
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

export function promptSignIn() {
  if (state.auth.source === 'storage' && state.auth.token) writeStoredToken(null);
  refreshAuth().then(function () {
    var name = $('signin-name');
    if (!$('signin-panel').hidden && !$('signin-form').hidden) name.focus();
  });
}
