/* DOM helpers: building elements, busy buttons, and the URL checks that guard every link, image
 * and frame. */

const EMBED_PREFIXES = ['https://www.youtube.com/embed/', 'https://player.vimeo.com/video/'];

export function $(id) { return document.getElementById(id); }

/** Builds an element; children may be nodes or strings (added as text). */
export function h(tag, attrs) {
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

export function appendChild(el, child) {
  if (child === null || child === undefined || child === false) return;
  if (Array.isArray(child)) { child.forEach(function (c) { appendChild(el, c); }); return; }
  el.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
}

export function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); }

/** Marks a button busy without disabling it (a disabled button would lose keyboard focus). */
export function setBusy(button, busy) {
  if (busy) { button.setAttribute('aria-disabled', 'true'); button.setAttribute('aria-busy', 'true'); }
  else { button.removeAttribute('aria-disabled'); button.removeAttribute('aria-busy'); }
}

export function isBusy(button) { return button.getAttribute('aria-disabled') === 'true'; }

/** An absolute http(s) URL for `value` (relative URLs resolve against the page), or null. */
export function safeUrl(value) {
  if (typeof value !== 'string' || value.trim() === '') return null;
  try {
    var url = new URL(value, window.location.href);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
  } catch (e) {
    return null;
  }
}

export function safeEmbedUrl(value) {
  if (typeof value !== 'string') return null;
  for (var i = 0; i < EMBED_PREFIXES.length; i++) {
    if (value.indexOf(EMBED_PREFIXES[i]) === 0) return safeUrl(value);
  }
  return null;
}
