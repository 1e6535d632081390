'use strict';
// http mode (KUBELESS_WORKER_MODE=http): the worker listens with HTTP/1.1 on the Unix
// socket KUBELESS_WORKER_SOCKET; the host forwards each invocation unchanged and adds
// the Event-* headers. Functions get Node's own request and response objects.

const http = require('node:http');
const { addRequestHelpers, addResponseHelpers, mediaType } = require('./compat');
const { makeRunner, eventData, errorText, kFail, TEXT_TYPE } = require('./invoke');

const EMPTY = Buffer.alloc(0);
const ignore = () => {};

function headerBody(h) {
  return h['transfer-encoding'] !== undefined || (h['content-length'] !== undefined && h['content-length'] !== '0');
}

class KubelessRequest extends http.IncomingMessage {
  hasBody() { return headerBody(this.headers); }
}
addRequestHelpers(KubelessRequest.prototype);

class KubelessResponse extends http.ServerResponse {
  [kFail](message) {
    if (this.headersSent) {
      // The body had started: abort the connection so the caller sees a broken response.
      if (!this.writableEnded) this.destroy();
      return;
    }
    for (const name of this.getHeaderNames()) this.removeHeader(name);
    this.statusCode = 500;
    this.setHeader('Content-Type', TEXT_TYPE);
    this.end('Error: ' + message);
  }
}
addResponseHelpers(KubelessResponse.prototype);

// loopFreeReporter counts the calls this worker starts; while some run, it calls
// report(count) from setImmediate, which runs only once the event loop is free again:
// a call that starts a busy loop holds it back, and the host sends no call behind it
// (an L frame, docs/worker-protocol.md).
function loopFreeReporter(report) {
  let started = 0;
  let running = 0;
  let queued = false;
  const send = () => {
    queued = false;
    if (running > 0) report(started);
  };
  return {
    start(res) {
      started = (started + 1) >>> 0;
      running++;
      res.once('close', () => { running--; });
      if (!queued) {
        queued = true;
        setImmediate(send);
      }
    },
  };
}

function makeRequestListener(handler, cfg, onLoopFree) {
  const run = makeRunner(handler, cfg);
  const loop = onLoopFree ? loopFreeReporter(onLoopFree) : null;

  function invoke(req, res, body) {
    if (loop) loop.start(res);
    req.body = body;
    const h = req.headers;
    let data;
    try {
      data = eventData(h['content-type'], body);
    } catch (err) {
      // The host validates JSON bodies; this only happens without the host.
      res.statusCode = 400;
      res.setHeader('Content-Type', TEXT_TYPE);
      res.end(`invalid JSON body: ${errorText(err)}`);
      return;
    }
    run(req, res, data, h['event-id'] || '', h['event-type'] || '', h['event-time'] || '', h['event-namespace'] || '');
  }

  return function onRequest(req, res) {
    const h = req.headers;
    if (!headerBody(h)) {
      invoke(req, res, EMPTY);
      return;
    }
    if (h['content-type'] !== undefined && mediaType(h['content-type']).startsWith('multipart/')) {
      // Left unread for the function (e.g. multer), as the original runtime did.
      invoke(req, res, EMPTY);
      return;
    }
    const chunks = [];
    req.on('error', ignore); // the host gave up on this request: nothing to answer
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      invoke(req, res, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
    });
  };
}

// createServer returns the worker's HTTP server; onLoopFree(count), if given, gets the
// count of calls started each time the event loop ran free while calls run.
function createServer(handler, cfg, onLoopFree) {
  const server = http.createServer({
    IncomingMessage: KubelessRequest,
    ServerResponse: KubelessResponse,
    maxHeaderSize: 1 << 20,
  }, makeRequestListener(handler, cfg, onLoopFree));
  // The host keeps connections open and enforces the time limit itself.
  server.keepAliveTimeout = 0;
  server.requestTimeout = 0;
  server.headersTimeout = 0;
  server.timeout = 0;
  return server;
}

// serveHTTP listens on cfg.socket and calls onListening once it does; a listen error
// goes to onError. onLoopFree is createServer's.
function serveHTTP(handler, cfg, onListening, onError, onLoopFree) {
  const fs = require('node:fs');
  const server = createServer(handler, cfg, onLoopFree);
  let listening = false;
  server.on('error', (err) => {
    if (!listening) {
      onError(err);
      return;
    }
    process.stderr.write(`kubeless worker: server error: ${err.stack || err}\n`);
  });
  try { fs.unlinkSync(cfg.socket); } catch (_) { /* not there */ }
  server.listen(cfg.socket, () => {
    listening = true;
    onListening();
  });
  return server;
}

module.exports = { serveHTTP, createServer, KubelessRequest, KubelessResponse };
