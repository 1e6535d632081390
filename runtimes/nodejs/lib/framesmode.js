'use strict';
// frames mode (KUBELESS_WORKER_MODE=frames, the host's default): invocations arrive as
// I frames on fd 3 and answers leave as S/D/E/X frames on fd 4 (docs/worker-protocol.md),
// with no HTTP parsing on either side. Functions get a request and a response shaped
// like Node's (FrameRequest is a Readable with method, url, headers; FrameResponse is a
// Writable with statusCode, setHeader, writeHead, write, end, ...), so streaming into
// event.extensions.response (hellostream.js) works as in http mode.

const net = require('node:net');
const { Readable, Writable } = require('node:stream');
const { FD_FROM_HOST, FD_TO_HOST, HEADER, FrameReader } = require('./frames');
const { addRequestHelpers, addResponseHelpers, mediaType } = require('./compat');
const { makeRunner, errorText, kFail } = require('./invoke');

const EMPTY = Buffer.alloc(0);

// States of a FrameResponse.
const IDLE = 0; // nothing sent yet
const STREAMING = 1; // S with "stream": true sent; D frames follow
const DONE = 2; // the last frame (S, E or X) is sent
const CANCELLED = 3; // the host gave up on the invocation (C): send nothing more

function headersSentError() {
  const err = new Error('Cannot set headers after they are sent to the client');
  err.code = 'ERR_HTTP_HEADERS_SENT';
  return err;
}

// ---------------------------------------------------------------------------
// Request

class FrameRequest extends Readable {
  constructor(head, body) {
    super();
    this.method = head.method;
    this.url = head.query ? `${head.path}?${head.query}` : head.path;
    this.httpVersion = '1.1';
    this.httpVersionMajor = 1;
    this.httpVersionMinor = 1;
    this.complete = true;
    this.body = body;
    this._pairs = head.headers || [];
    this._host = head.host || '';
    this._remote = head.remote || '';
    this._headers = undefined;
    this._socket = undefined;
  }

  // headers: lower-case names, repeated headers joined (cookie with "; ", set-cookie as
  // an array), as Node's http.IncomingMessage has them; the head's host is headers.host.
  // Built on first use.
  get headers() {
    if (this._headers === undefined) {
      const out = {};
      if (this._host) out.host = this._host;
      for (const [name, value] of this._pairs) {
        const key = name.toLowerCase();
        const prev = out[key];
        if (key === 'set-cookie') {
          if (prev === undefined) out[key] = [value];
          else prev.push(value);
        } else if (prev === undefined) {
          out[key] = value;
        } else {
          out[key] = prev + (key === 'cookie' ? '; ' : ', ') + value;
        }
      }
      this._headers = out;
    }
    return this._headers;
  }

  set headers(value) { this._headers = value; }

  get rawHeaders() {
    const raw = this._host ? ['Host', this._host] : [];
    for (const [name, value] of this._pairs) raw.push(name, value);
    return raw;
  }

  // socket (and its old name connection) only carries the caller's address.
  get socket() {
    if (this._socket === undefined) {
      const m = /^\[?(.*?)\]?:(\d+)$/.exec(this._remote);
      this._socket = { remoteAddress: m ? m[1] : this._remote, remotePort: m ? Number(m[2]) : undefined };
    }
    return this._socket;
  }

  get connection() { return this.socket; }

  hasBody() { return this.body.length > 0; }

  _read() {
    if (this.body.length > 0) this.push(this.body);
    this.push(null);
  }
}
addRequestHelpers(FrameRequest.prototype);

// ---------------------------------------------------------------------------
// Response

// statusOf checks a status code as Node's ServerResponse does.
function statusOf(code) {
  const n = code | 0;
  if (n < 100 || n > 999) throw new RangeError(`Invalid status code: ${code}`);
  return n;
}

// Heads of responses with only a Content-Type, the common case, are encoded once.
const headCache = new Map();
const HEAD_CACHE_MAX = 256;

function encodeHead(status, headers, stream) {
  let single;
  if (headers === null || headers.size === 0) {
    single = `${status}\0\0${stream}`;
  } else if (headers.size === 1) {
    const [[, [name, value]]] = headers;
    if (typeof value === 'string') single = `${status}\0${name}\0${value}\0${stream}`;
  }
  if (single !== undefined) {
    const hit = headCache.get(single);
    if (hit !== undefined) return hit;
  }
  let pairs = '';
  if (headers !== null) {
    for (const [, [name, value]] of headers) {
      const n = JSON.stringify(String(name));
      if (Array.isArray(value)) {
        for (const v of value) pairs += `${pairs ? ',' : ''}[${n},${JSON.stringify(String(v))}]`;
      } else {
        pairs += `${pairs ? ',' : ''}[${n},${JSON.stringify(String(value))}]`;
      }
    }
  }
  const head = Buffer.from(`{"status":${status},"headers":[${pairs}],"stream":${stream}}`, 'utf8');
  if (single !== undefined && headCache.size < HEAD_CACHE_MAX) headCache.set(single, head);
  return head;
}

// encodeS builds an S frame: header | head length | head | body (a Buffer or a string).
function encodeS(id, head, body, encoding) {
  const isString = typeof body === 'string';
  const blen = body === undefined ? 0 : (isString ? Buffer.byteLength(body, encoding) : body.length);
  const frame = Buffer.allocUnsafe(HEADER + 4 + head.length + blen);
  frame[0] = 0x53; // 'S'
  frame.writeUInt32BE(id, 1);
  frame.writeUInt32BE(4 + head.length + blen, 5);
  frame.writeUInt32BE(head.length, HEADER);
  head.copy(frame, HEADER + 4);
  if (blen > 0) {
    if (isString) frame.write(body, HEADER + 4 + head.length, encoding);
    else frame.set(body, HEADER + 4 + head.length);
  }
  return frame;
}

function encodeFrameWith(code, id, payload) {
  const frame = Buffer.allocUnsafe(HEADER + payload.length);
  frame[0] = code;
  frame.writeUInt32BE(id, 1);
  frame.writeUInt32BE(payload.length, 5);
  frame.set(payload, HEADER);
  return frame;
}

class FrameResponse extends Writable {
  constructor(link, id, req) {
    super();
    this.statusCode = 200;
    this.statusMessage = undefined;
    this.req = req;
    this._link = link;
    this._id = id;
    this._hdrs = null; // lower-case name -> [name as set, value]
    this._state = IDLE;
    this._headWritten = false;
  }

  get headersSent() { return this._state !== IDLE || this._headWritten; }

  get finished() { return this.writableEnded; }

  get socket() { return this.req.socket; }

  get connection() { return this.req.socket; }

  setHeader(name, value) {
    if (this._state !== IDLE) throw headersSentError();
    if (this._hdrs === null) this._hdrs = new Map();
    this._hdrs.set(String(name).toLowerCase(), [String(name), value]);
    return this;
  }

  appendHeader(name, value) {
    const prev = this.getHeader(name);
    if (prev === undefined) return this.setHeader(name, value);
    return this.setHeader(name, [].concat(prev, value));
  }

  getHeader(name) {
    const e = this._hdrs === null ? undefined : this._hdrs.get(String(name).toLowerCase());
    return e === undefined ? undefined : e[1];
  }

  hasHeader(name) { return this._hdrs !== null && this._hdrs.has(String(name).toLowerCase()); }

  removeHeader(name) {
    if (this._state !== IDLE) throw headersSentError();
    if (this._hdrs !== null) this._hdrs.delete(String(name).toLowerCase());
  }

  getHeaderNames() { return this._hdrs === null ? [] : [...this._hdrs.keys()]; }

  getHeaders() {
    const out = Object.create(null);
    if (this._hdrs !== null) for (const [key, [, value]] of this._hdrs) out[key] = value;
    return out;
  }

  writeHead(status, reason, headers) {
    if (typeof reason !== 'string') {
      headers = reason;
      reason = undefined;
    }
    if (this._state !== IDLE) throw headersSentError();
    this.statusCode = status;
    if (reason !== undefined) this.statusMessage = reason;
    if (Array.isArray(headers)) {
      if (headers.length > 0 && Array.isArray(headers[0])) {
        for (const [n, v] of headers) this.appendHeader(n, v);
      } else {
        for (let i = 0; i + 1 < headers.length; i += 2) this.appendHeader(headers[i], headers[i + 1]);
      }
    } else if (headers) {
      for (const k of Object.keys(headers)) this.setHeader(k, headers[k]);
    }
    this._headWritten = true;
    return this;
  }

  flushHeaders() {
    if (this._state === IDLE) this._begin(EMPTY, undefined);
  }

  writeContinue() {}

  writeProcessing() {}

  setTimeout() { return this; }

  // _begin sends the S frame that starts a streamed answer.
  _begin(chunk, cb) {
    this._state = STREAMING;
    this._link.send(encodeS(this._id, encodeHead(statusOf(this.statusCode), this._hdrs, true), chunk), cb);
  }

  _write(chunk, encoding, cb) {
    if (this._state === IDLE) this._begin(chunk, cb);
    else if (this._state === STREAMING) this._link.send(encodeFrameWith(0x44 /* D */, this._id, chunk), cb);
    else cb();
  }

  // end(body) before anything was written sends the whole answer as one S frame, now.
  end(chunk, encoding, cb) {
    if (typeof chunk === 'function') {
      cb = chunk;
      chunk = undefined;
    } else if (typeof encoding === 'function') {
      cb = encoding;
      encoding = undefined;
    }
    if (this._state === IDLE && !this.writableEnded && this.writableLength === 0 && !this.destroyed &&
        (chunk === undefined || chunk === null || typeof chunk === 'string' || chunk instanceof Uint8Array)) {
      const head = encodeHead(statusOf(this.statusCode), this._hdrs, false);
      this._finish();
      this._link.send(encodeS(this._id, head, chunk === null ? undefined : chunk, encoding || 'utf8'));
      chunk = undefined;
    }
    return super.end(chunk, encoding, cb);
  }

  _final(cb) {
    if (this._state === IDLE) {
      let head;
      try {
        head = encodeHead(statusOf(this.statusCode), this._hdrs, false);
      } catch (err) {
        this._abort(errorText(err));
        cb();
        return;
      }
      this._finish();
      this._link.send(encodeS(this._id, head, undefined));
    } else if (this._state === STREAMING) {
      this._finish();
      this._link.send(encodeFrameWith(0x45 /* E */, this._id, EMPTY));
    }
    cb();
  }

  _destroy(err, cb) {
    if (this._state === IDLE || this._state === STREAMING) {
      this._abort(err ? errorText(err) : 'the response was destroyed before it ended');
    }
    cb(err);
  }

  _finish() {
    this._state = DONE;
    this._link.live.delete(this._id);
  }

  // _abort reports a failed invocation: X before anything was sent (the host answers
  // 500 "Error: <message>"), E with the message once streaming began (the host aborts).
  _abort(message) {
    const wasStreaming = this._state === STREAMING;
    this._finish();
    const payload = Buffer.from(message, 'utf8');
    this._link.send(encodeFrameWith(wasStreaming ? 0x45 /* E */ : 0x58 /* X */, this._id, payload));
  }

  [kFail](message) {
    if (this._state >= DONE || this.writableEnded) return;
    this._abort(message);
    this.destroy();
  }

  // _cancel: the host gave up (it answered 408). Nothing more is sent; the function
  // sees 'close' on both objects, as when a caller hangs up in http mode.
  _cancel() {
    this._state = CANCELLED;
    this._link.live.delete(this._id);
    this.destroy();
    this.req.destroy();
  }
}
addResponseHelpers(FrameResponse.prototype);

// ---------------------------------------------------------------------------
// The link to the host

function contentTypeOf(pairs) {
  for (const [name, value] of pairs) if (name.length === 12 && name.toLowerCase() === 'content-type') return value;
  return undefined;
}

// serveFrames sends R (with readyPayload), then answers I frames from fd 3 on fd 4,
// with L frames when the event loop ran free while calls run, until fd 3 ends (then
// onGone).
function serveFrames(handler, cfg, readyPayload, onGone) {
  const run = makeRunner(handler, cfg);
  const out = new net.Socket({ fd: FD_TO_HOST, readable: false, writable: true });
  out.on('error', onGone); // the host is gone
  const link = {
    live: new Map(), // invocation id -> FrameResponse, until its last frame
    send(frame, cb) { out.write(frame, cb); },
  };

  function invoke(id, payload) {
    const hlen = payload.readUInt32BE(0);
    const head = JSON.parse(payload.toString('utf8', 4, 4 + hlen));
    const body = payload.subarray(4 + hlen);
    const req = new FrameRequest(head, body);
    const res = new FrameResponse(link, id, req);
    link.live.set(id, res);
    let data = '';
    if (body.length > 0) {
      if (head.json) {
        try {
          data = JSON.parse(body.toString('utf8'));
        } catch (err) {
          res[kFail](`invalid JSON body: ${errorText(err)}`);
          return;
        }
      } else if (!mediaType(contentTypeOf(req._pairs)).startsWith('multipart/')) {
        data = body.toString('utf8');
      }
    }
    const ev = head.event || {};
    run(req, res, data, ev['event-id'] || '', ev['event-type'] || '', ev['event-time'] || '', ev['event-namespace'] || '');
  }

  // Every call runs on this one event loop, so a call that starts a busy loop holds
  // back any call sent after it. R announces "event_loop" (kubeless.js), and once calls
  // have started, an L frame sent from setImmediate (which runs only when the loop is
  // free again) tells the host how many calls this worker had started by then; the host
  // sends a further call beside running ones only when its last L frame covers every
  // call it sent (docs/worker-protocol.md). With no call running, the answers say it.
  let started = 0;
  let loopFreeQueued = false;
  const loopFree = () => {
    loopFreeQueued = false;
    if (link.live.size === 0) return;
    const count = Buffer.allocUnsafe(4);
    count.writeUInt32BE(started, 0);
    link.send(encodeFrameWith(0x4c /* L */, 0, count));
  };

  const reader = new FrameReader((type, id, payload) => {
    if (type === 'I') {
      started = (started + 1) >>> 0;
      if (!loopFreeQueued) {
        loopFreeQueued = true;
        setImmediate(loopFree);
      }
      try {
        invoke(id, payload);
      } catch (err) {
        // A malformed frame: the protocol is broken, not the function.
        process.stderr.write(`kubeless worker: bad invocation frame ${id}: ${err.stack || err}\n`);
        link.send(encodeFrameWith(0x58 /* X */, id, Buffer.from('bad invocation frame', 'utf8')));
      }
    } else if (type === 'C') {
      const res = link.live.get(id);
      if (res !== undefined) res._cancel();
    }
  });

  const input = new net.Socket({ fd: FD_FROM_HOST, readable: true, writable: false });
  // Answers produced while one batch of frames is handled leave in one write.
  const uncork = () => out.uncork();
  input.on('data', (chunk) => {
    out.cork();
    reader.push(chunk);
    process.nextTick(uncork);
  });
  input.on('end', onGone);
  input.on('close', onGone);
  input.on('error', onGone);

  out.write(encodeFrameWith(0x52 /* R */, 0, Buffer.from(readyPayload, 'utf8')));
  return { out, link };
}

module.exports = { serveFrames, FrameRequest, FrameResponse, encodeHead, encodeS };
