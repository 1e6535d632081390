'use strict';
// Express-style helpers on the request and the response (compat: the original runtime
// handed functions Express's req and res). Only the commonly used ones, written for
// this runtime; the objects stay Node's (http mode) or Node-shaped (frames mode).

const http = require('node:http');

const JSON_TYPE = 'application/json';
const BYTES_TYPE = 'application/octet-stream';
const SHORT_TYPES = {
  json: JSON_TYPE, html: 'text/html', text: 'text/plain', txt: 'text/plain',
  xml: 'application/xml', js: 'application/javascript', css: 'text/css',
  bin: BYTES_TYPE, 'octet-stream': BYTES_TYPE, form: 'application/x-www-form-urlencoded',
  urlencoded: 'application/x-www-form-urlencoded', multipart: 'multipart/*',
};
const kQuery = Symbol('kubeless.query');

// mediaType: "Application/JSON; charset=utf-8" -> "application/json".
function mediaType(contentType) {
  if (!contentType) return '';
  const semi = contentType.indexOf(';');
  return (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}

function typeMatches(actual, wanted) {
  let want = String(wanted).toLowerCase();
  if (!want.includes('/')) {
    if (want === 'json' && (actual === JSON_TYPE || actual.endsWith('+json'))) return true;
    want = SHORT_TYPES[want] || `*/${want}`;
  }
  const [wMain, wSub] = want.split('/');
  const [aMain, aSub] = actual.split('/');
  if (wMain !== '*' && wMain !== aMain) return false;
  return wSub === '*' || wSub === aSub || (wSub.startsWith('*+') && aSub.endsWith(wSub.slice(1)));
}

// requestHelpers need this.headers, this.url and this.hasBody().
const requestHelpers = {
  get(name) {
    const key = String(name).toLowerCase();
    if (key === 'referer' || key === 'referrer') return this.headers.referer || this.headers.referrer;
    return this.headers[key];
  },

  header(name) { return this.get(name); },

  // is('json'), is('application/json'), is('text/*'), is('multipart'), ...: the first
  // matching argument, false when none matches, null when the request has no body.
  is(...types) {
    if (!this.hasBody()) return null;
    const actual = mediaType(this.headers['content-type']);
    if (types.length === 1 && Array.isArray(types[0])) types = types[0];
    if (types.length === 0) return actual || false;
    if (!actual) return false;
    for (const t of types) if (typeMatches(actual, t)) return t;
    return false;
  },
};

const kParams = Symbol('kubeless.params');

// lastForwarded: the address the host appended to X-Forwarded-For (http mode, where the
// worker's socket is the host's Unix socket).
function lastForwarded(headers) {
  const xff = headers['x-forwarded-for'];
  if (!xff) return undefined;
  const parts = String(xff).split(',');
  return parts[parts.length - 1].trim() || undefined;
}

const requestAccessors = {
  // The original mounted the function with app.all('*'), so Express gave req.params[0],
  // the whole path.
  params: {
    get() {
      if (this[kParams] === undefined) this[kParams] = { 0: this.path };
      return this[kParams];
    },
    set(value) { this[kParams] = value; },
  },
  // The Host header without its port ("[::1]:8080" -> "[::1]").
  hostname: {
    get() {
      const host = this.headers.host;
      if (!host) return undefined;
      const start = host[0] === '[' ? host.indexOf(']') + 1 : 0;
      const colon = host.indexOf(':', start);
      return colon === -1 ? host : host.slice(0, colon);
    },
  },
  // The caller's address.
  ip: {
    get() {
      const s = this.socket;
      return (s && s.remoteAddress) || lastForwarded(this.headers);
    },
  },
  originalUrl: {
    get() { return this.url; },
  },
  protocol: { get() { return 'http'; } },
  secure: { get() { return false; } },
  path: {
    get() {
      const q = this.url.indexOf('?');
      return q === -1 ? this.url : this.url.slice(0, q);
    },
  },
  query: {
    get() {
      if (this[kQuery] === undefined) {
        const q = this.url.indexOf('?');
        const out = {};
        if (q !== -1) {
          for (const [k, v] of new URLSearchParams(this.url.slice(q + 1))) {
            const prev = out[k];
            if (prev === undefined) out[k] = v;
            else if (Array.isArray(prev)) prev.push(v);
            else out[k] = [prev, v];
          }
        }
        this[kQuery] = out;
      }
      return this[kQuery];
    },
    set(value) { this[kQuery] = value; },
  },
};

// responseHelpers need statusCode, setHeader, getHeader, hasHeader and end.
const responseHelpers = {
  status(code) { this.statusCode = code; return this; },

  set(field, value) {
    if (field !== null && typeof field === 'object') {
      for (const k of Object.keys(field)) this.setHeader(k, field[k]);
    } else {
      this.setHeader(field, Array.isArray(value) ? value.map(String) : String(value));
    }
    return this;
  },

  header(field, value) { return this.set(field, value); },

  get(field) { return this.getHeader(field); },

  type(t) {
    const s = String(t);
    return this.set('Content-Type', s.includes('/') ? s : (SHORT_TYPES[s.replace(/^\./, '')] || BYTES_TYPE));
  },

  send(body) {
    if (typeof body === 'string') {
      if (!this.hasHeader('content-type')) this.setHeader('Content-Type', 'text/html; charset=utf-8');
      this.end(body);
    } else if (body instanceof Uint8Array) {
      if (!this.hasHeader('content-type')) this.setHeader('Content-Type', BYTES_TYPE);
      this.end(body);
    } else if (body === undefined || body === null) {
      this.end();
    } else {
      this.json(body);
    }
    return this;
  },

  json(value) {
    if (!this.hasHeader('content-type')) this.setHeader('Content-Type', JSON_TYPE);
    this.end(JSON.stringify(value));
    return this;
  },

  // append adds a value to a header (Set-Cookie keeps every cookie).
  append(field, value) {
    const prev = this.getHeader(field);
    let v = Array.isArray(value) ? value.map(String) : String(value);
    if (prev !== undefined) v = [].concat(prev, v);
    this.setHeader(field, v);
    return this;
  },

  location(url) {
    let loc = String(url);
    if (loc === 'back') loc = (this.req && (this.req.headers.referer || this.req.headers.referrer)) || '/';
    return this.set('Location', encodeUrl(loc));
  },

  // redirect(url) or redirect(status, url): 302 by default, with Express's short body.
  redirect(a, b) {
    let status = 302;
    let url = a;
    if (b !== undefined) {
      status = typeof a === 'number' ? a : b;
      url = typeof a === 'number' ? b : a;
    }
    this.location(url);
    const address = this.getHeader('location');
    const reason = http.STATUS_CODES[status] || String(status);
    const accept = (this.req && this.req.headers.accept) || '';
    let body;
    if (accept.includes('html') && !/text\/plain/.test(accept.split('html')[0])) {
      const esc = escapeHtml(address);
      this.setHeader('Content-Type', 'text/html; charset=utf-8');
      body = `<p>${reason}. Redirecting to <a href="${esc}">${esc}</a></p>`;
    } else {
      this.setHeader('Content-Type', 'text/plain; charset=utf-8');
      body = `${reason}. Redirecting to ${address}`;
    }
    this.statusCode = status;
    this.end(this.req && this.req.method === 'HEAD' ? undefined : body);
    return this;
  },

  // cookie(name, value, options) as Express: an object value is "j:" + JSON, maxAge in
  // milliseconds, path "/" by default.
  cookie(name, value, options) {
    const opts = { path: '/', ...(options || {}) };
    if (opts.signed) throw new Error('res.cookie: signed cookies need a secret, which the Kubeless runtime does not have; sign the value yourself');
    let val = typeof value === 'object' && value !== null ? 'j:' + JSON.stringify(value) : String(value);
    val = (opts.encode || encodeURIComponent)(val);
    if (!/^[a-zA-Z0-9!#$%&'*+.^_`|~-]+$/.test(name)) throw new TypeError(`res.cookie: invalid cookie name ${JSON.stringify(name)}`);
    let cookie = `${name}=${val}`;
    if (opts.maxAge !== undefined && opts.maxAge !== null) {
      const ms = Number(opts.maxAge);
      if (!Number.isFinite(ms)) throw new TypeError('res.cookie: maxAge must be a number of milliseconds');
      opts.expires = new Date(Date.now() + ms);
      cookie += `; Max-Age=${Math.floor(ms / 1000)}`;
    }
    if (opts.domain) cookie += `; Domain=${opts.domain}`;
    if (opts.path) cookie += `; Path=${opts.path}`;
    if (opts.expires) cookie += `; Expires=${new Date(opts.expires).toUTCString()}`;
    if (opts.httpOnly) cookie += '; HttpOnly';
    if (opts.secure) cookie += '; Secure';
    if (opts.partitioned) cookie += '; Partitioned';
    if (opts.sameSite) {
      const ss = opts.sameSite === true ? 'Strict' : String(opts.sameSite).toLowerCase();
      const names = { strict: 'Strict', lax: 'Lax', none: 'None', Strict: 'Strict' };
      if (!names[ss]) throw new TypeError(`res.cookie: sameSite must be true, "lax", "strict" or "none", not ${JSON.stringify(opts.sameSite)}`);
      cookie += `; SameSite=${names[ss]}`;
    }
    return this.append('Set-Cookie', cookie);
  },

  clearCookie(name, options) {
    const opts = { path: '/', ...(options || {}), expires: new Date(1) };
    delete opts.maxAge;
    return this.cookie(name, '', opts);
  },

  sendStatus(code) {
    this.statusCode = code;
    this.setHeader('Content-Type', 'text/plain; charset=utf-8');
    this.end(http.STATUS_CODES[code] || String(code));
    return this;
  },
};

// encodeUrl percent-encodes what a URL may not hold, leaving %XX sequences alone.
function encodeUrl(url) {
  return url.replace(/%(?![0-9A-Fa-f]{2})|[^\x21\x23-\x3B\x3D\x3F-\x5B\x5D\x5F\x61-\x7A\x7E]+/g,
    (m) => (m === '%' ? '%25' : encodeURI(m)));
}

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

// define adds methods and accessors to a prototype, non-enumerable like class members.
function define(proto, members) {
  for (const [name, desc] of Object.entries(Object.getOwnPropertyDescriptors(members))) {
    Object.defineProperty(proto, name, { ...desc, enumerable: false });
  }
}

function addRequestHelpers(proto) {
  define(proto, requestHelpers);
  for (const [name, desc] of Object.entries(requestAccessors)) {
    Object.defineProperty(proto, name, { ...desc, enumerable: false, configurable: true });
  }
}

function addResponseHelpers(proto) {
  define(proto, responseHelpers);
}

module.exports = { mediaType, typeMatches, addRequestHelpers, addResponseHelpers };
