/* The API client: fetch with the bearer token, and failures read from problem documents
 * (application/problem+json) into ApiError. */

export const API = '/api';

/* Where `api` gets the bearer token; main.js sets it to auth.js's requestToken. */
let tokenSource = function () { return Promise.resolve(null); };

/** Sets the function that resolves (a promise of) the bearer token for each request. */
export function setTokenSource(source) { tokenSource = source; }

export function ApiError(status, title, detail, errors, retryAfter, code) {
  this.status = status;
  this.code = code || '';
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
    return new ApiError(res.status, p.title || res.statusText, p.detail || p.message || '', p.errors, retryAfterSeconds(res), p.code);
  });
}

/** Calls the API. Resolves to the parsed body (null for 204), or rejects with an ApiError. */
export function api(method, path, opts) {
  opts = opts || {};
  var url = path.indexOf(API + '/') === 0 ? path : API + path;
  var headers = { Accept: opts.accept || 'application/json' };
  var body;
  if (opts.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.json);
  } else if (opts.form) {
    body = opts.form;
  } else if (opts.body !== undefined) {
    // A file or text as it is (a CSV roster), declared as `opts.contentType`.
    headers['Content-Type'] = opts.contentType || 'application/octet-stream';
    body = opts.body;
  }
  var tokenPromise = opts.auth === false ? Promise.resolve(null) : tokenSource();
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
