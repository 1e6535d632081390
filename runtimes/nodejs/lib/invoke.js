'use strict';
// One invocation: build event and context, call the function, turn its outcome into
// the response. Shared by both worker modes: `res` is Node's http.ServerResponse (http
// mode) or a FrameResponse with the same interface (frames mode).

const { mediaType } = require('./compat');

const TEXT_TYPE = 'text/plain; charset=utf-8';
const JSON_TYPE = 'application/json';
const BYTES_TYPE = 'application/octet-stream';
// Each response class implements res[kFail](message): answer a failed invocation.
const kFail = Symbol('kubeless.fail');

function isJSONType(contentType) {
  return contentType !== undefined && mediaType(contentType) === JSON_TYPE;
}

// eventData: parsed JSON for a non-empty application/json body (parameters allowed),
// else the body as a UTF-8 string; an empty body is the empty string.
function eventData(contentType, body) {
  if (body.length === 0) return '';
  const text = body.toString('utf8');
  return isJSONType(contentType) ? JSON.parse(text) : text;
}

// errorText is the one-line message of a thrown value (no stack).
function errorText(err) {
  let msg;
  if (err instanceof Error) msg = err.message || err.name;
  else if (err !== null && typeof err === 'object' && typeof err.message === 'string') msg = err.message;
  else if (err !== null && typeof err === 'object') {
    try { msg = JSON.stringify(err); } catch (_) { msg = String(err); }
  } else msg = String(err);
  return String(msg).split('\n')[0];
}

function fail(res, err) {
  process.stderr.write(`Function failed to execute: ${err instanceof Error && err.stack ? err.stack : errorText(err)}\n`);
  res[kFail](errorText(err));
}

// respond turns the function's return value into the response (docs/runtime-contract.md §3.1), unless
// the function answered itself through event.extensions.response.
function respond(res, value) {
  if (res.headersSent || res.writableEnded || res.destroyed) return;
  if (typeof value === 'string') {
    if (!res.hasHeader('content-type')) res.setHeader('Content-Type', TEXT_TYPE);
    res.end(value);
  } else if (value === undefined || value === null) {
    res.end();
  } else if (value instanceof Uint8Array || value instanceof ArrayBuffer) {
    if (!res.hasHeader('content-type')) res.setHeader('Content-Type', BYTES_TYPE);
    res.end(value instanceof ArrayBuffer ? Buffer.from(value) : value);
  } else if (typeof value.pipe === 'function' && typeof value.on === 'function') {
    if (!res.hasHeader('content-type')) res.setHeader('Content-Type', BYTES_TYPE);
    value.on('error', (err) => fail(res, err));
    value.pipe(res);
  } else {
    let text;
    try {
      text = JSON.stringify(value);
    } catch (err) {
      fail(res, err);
      return;
    }
    if (text === undefined) {
      fail(res, new TypeError(`the function returned a ${typeof value}, which has no JSON form`));
      return;
    }
    if (!res.hasHeader('content-type')) res.setHeader('Content-Type', JSON_TYPE);
    res.end(text);
  }
}

// settle sends the value; what the response refuses (an invalid status code set by the
// function, say) fails the invocation.
function settle(res, value) {
  try {
    respond(res, value);
  } catch (err) {
    fail(res, err);
  }
}

// makeRunner returns run(req, res, data, id, type, time, namespace), which calls the
// function with its event and context and sends its outcome.
function makeRunner(handler, cfg) {
  const { handlerName, timeout, runtime, memoryLimit } = cfg;
  return function run(req, res, data, id, type, time, namespace) {
    const event = {
      data,
      'event-id': id,
      'event-type': type,
      'event-time': time,
      'event-namespace': namespace,
      extensions: { request: req, response: res },
    };
    const context = {
      'function-name': handlerName,
      timeout,
      runtime,
      'memory-limit': memoryLimit,
    };
    let result;
    try {
      result = handler(event, context);
    } catch (err) {
      fail(res, err);
      return;
    }
    if (result !== null && typeof result === 'object' && typeof result.then === 'function') {
      result.then((value) => settle(res, value), (err) => fail(res, err));
    } else {
      settle(res, result);
    }
  };
}

module.exports = { makeRunner, eventData, errorText, isJSONType, kFail, TEXT_TYPE, JSON_TYPE, BYTES_TYPE };
