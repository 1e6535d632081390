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

const requestAccessors = {
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

  sendStatus(code) {
    this.statusCode = code;
    this.setHeader('Content-Type', 'text/plain; charset=utf-8');
    this.end(http.STATUS_CODES[code] || String(code));
    return this;
  },
};

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
