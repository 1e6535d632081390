'use strict';
// Test harness: starts kubeless.js the way kubeless-host does (fd 3 and fd 4 links, the
// environment) and talks to it in either worker mode:
//   http:   HTTP/1.1 over its Unix socket (KUBELESS_WORKER_SOCKET);
//   frames: I frames on fd 3, S/D/E/X frames back on fd 4, turned into the same
//           {status, headers, body} the host would answer (X -> 500 "Error: <msg>").
// (node --test also runs this file; it defines no tests.)

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');

const WORKER = path.join(__dirname, '..', 'kubeless.js');
const TESTDATA = path.join(__dirname, '..', 'testdata');
const FIXTURES = path.join(__dirname, '..', '..', '..', 'internal', 'conformance', 'fixtures', 'nodejs');
const EXAMPLES = path.join(__dirname, '..', 'examples-compat');
const MODES = ['http', 'frames'];

// parseFrames calls onFrame(type, id, payload Buffer) for each complete frame.
function parseFrames(stream, onFrame) {
  let buf = Buffer.alloc(0);
  stream.on('data', (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= 9) {
      const len = buf.readUInt32BE(5);
      if (buf.length < 9 + len) break;
      onFrame(buf.toString('latin1', 0, 1), buf.readUInt32BE(1), buf.subarray(9, 9 + len));
      buf = buf.subarray(9 + len);
    }
  });
}

function frame(type, id, payload) {
  const head = Buffer.alloc(9);
  head.write(type, 0, 'latin1');
  head.writeUInt32BE(id, 1);
  head.writeUInt32BE(payload.length, 5);
  return Buffer.concat([head, payload]);
}

function baseEnv() {
  const env = { PATH: process.env.PATH, HOME: process.env.HOME || os.tmpdir() };
  if (process.env.LD_LIBRARY_PATH) env.LD_LIBRARY_PATH = process.env.LD_LIBRARY_PATH; // a Node from an unpacked package
  return env;
}

// startWorker resolves with a worker once it sent R, or with {fatal, code, stderr} when
// it sent F or exited. opts: mode ('http' default, or 'frames'), volume, mod, handler,
// env (undefined values remove a variable), waitMs.
function startWorker(opts) {
  const mode = opts.mode || 'http';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kl-node-'));
  const socket = path.join(dir, 'worker.sock');
  const env = Object.assign(baseEnv(), {
    MOD_NAME: opts.mod === undefined ? 'fixtures' : opts.mod,
    FUNC_HANDLER: opts.handler,
    KUBELESS_INSTALL_VOLUME: opts.volume || FIXTURES,
    KUBELESS_WORKER_MODE: mode,
    KUBELESS_WORKER_SOCKET: mode === 'http' ? socket : undefined,
    KUBELESS_WORKER_ID: '1',
    KUBELESS_WORKER_CONCURRENCY: '64',
  }, opts.env || {});
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];

  const child = spawn(process.execPath, [WORKER], {
    env,
    stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'],
  });
  const out = { stdout: '', stderr: '' };
  child.stdout.setEncoding('utf8').on('data', (s) => { out.stdout += s; });
  child.stderr.setEncoding('utf8').on('data', (s) => { out.stderr += s; });
  const exited = new Promise((resolve) => child.on('close', (code, signal) => resolve(code === null ? signal : code)));
  const frames = []; // every frame the worker sent
  let onFrame = null; // frames after R go to the frames-mode client
  const loopFreeWaiters = []; // {count, resolve}: see waitLoopFree
  const protocolErrors = []; // frames the host would not expect

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`worker sent no frame within ${opts.waitMs || 10000} ms; stderr: ${out.stderr}`));
    }, opts.waitMs || 10000);
    exited.then((code) => {
      if (frames.length === 0) {
        clearTimeout(timer);
        resolve({ fatal: null, code, stderr: out.stderr, frames });
      }
    });
    parseFrames(child.stdio[4], (type, id, payload) => {
      frames.push({ type, id, payload: payload.toString('utf8'), raw: payload });
      if (type === 'L' && frames.length > 1) {
        // L (both modes): the event loop ran free after the worker had started `count` calls.
        if (id !== 0 || payload.length !== 4) {
          protocolErrors.push(`L frame with id ${id} and a payload of ${payload.length} bytes, want id 0 and 4 bytes`);
          return;
        }
        const count = payload.readUInt32BE(0);
        for (let i = loopFreeWaiters.length - 1; i >= 0; i--) {
          if (loopFreeWaiters[i].count === count) loopFreeWaiters.splice(i, 1)[0].resolve();
        }
        return;
      }
      if (frames.length > 1) {
        if (onFrame) onFrame(type, id, payload);
        return;
      }
      clearTimeout(timer);
      if (type === 'F') {
        exited.then((code) => resolve({ fatal: payload.toString('utf8'), id, code, stderr: out.stderr, frames }));
        return;
      }
      if (type !== 'R') {
        reject(new Error(`first frame is ${type}, want R or F`));
        return;
      }
      const w = {
        mode,
        ready: payload.toString('utf8'),
        id,
        child,
        socket,
        out,
        frames,
        exited,
        protocolErrors, // frames the host would not expect
        // waitLoopFree resolves once an L frame says count calls had started.
        waitLoopFree: (count) => new Promise((resolve) => loopFreeWaiters.push({ count, resolve })),
        // waitOutput resolves with out[stream] once it matches re (output has its own pipe).
        async waitOutput(stream, re, ms = 10000) {
          const deadline = Date.now() + ms;
          while (!re.test(out[stream])) {
            if (Date.now() > deadline) throw new Error(`${stream} does not match ${re}: ${JSON.stringify(out[stream])}`);
            await new Promise((r) => setTimeout(r, 10));
          }
          return out[stream];
        },
        async stop() {
          if (w.agent) w.agent.destroy();
          child.stdio[3].end();
          const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
          const code = await exited;
          clearTimeout(kill);
          fs.rmSync(dir, { recursive: true, force: true });
          if (w.protocolErrors.length > 0) throw new Error(`protocol errors: ${w.protocolErrors.join('; ')}`);
          return code;
        },
      };
      if (mode === 'http') {
        w.agent = new http.Agent({ keepAlive: true, maxSockets: 128 });
        w.request = (r) => httpRequest(socket, w.agent, r);
      } else {
        const client = framesClient(child.stdio[3], w.protocolErrors);
        onFrame = client.onFrame;
        w.request = client.request;
        w.invoke = client.invoke;
        w.cancel = client.cancel;
      }
      resolve(w);
    });
  });
}

// httpRequest sends one HTTP request over the Unix socket: r = {method, path, headers, body}.
function httpRequest(socketPath, agent, r = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({
      socketPath,
      agent,
      method: r.method || 'GET',
      path: r.path || '/',
      headers: r.headers || {},
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode, headers: res.headers, body, text: body.toString('utf8'), socket: req.socket });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (r.body !== undefined) req.end(r.body);
    else req.end();
  });
}

// framesClient plays the host's part of the frames protocol.
function framesClient(toWorker, errors) {
  let nextId = 1;
  const calls = new Map(); // id -> {resolve, reject, status, headers, chunks, method}

  function header(headers, name) {
    for (const k of Object.keys(headers)) if (k.toLowerCase() === name) return String(headers[k]);
    return '';
  }

  // invoke sends an I frame and returns its id and a promise of the answer.
  function invoke(r = {}) {
    const id = nextId++;
    const headers = r.headers || {};
    const body = r.body === undefined ? Buffer.alloc(0) : Buffer.from(r.body);
    const url = r.path || '/';
    const q = url.indexOf('?');
    const ct = header(headers, 'content-type');
    const isJSON = ct.split(';')[0].trim().toLowerCase() === 'application/json' && body.length > 0;
    const head = Buffer.from(JSON.stringify({
      method: r.method || 'GET',
      path: q === -1 ? url : url.slice(0, q),
      host: 'localhost',
      query: q === -1 ? '' : url.slice(q + 1),
      headers: Object.keys(headers).map((k) => [k, String(headers[k])]),
      remote: '127.0.0.1:40000',
      json: isJSON,
      event: {
        'event-id': header(headers, 'event-id'),
        'event-type': header(headers, 'event-type'),
        'event-time': header(headers, 'event-time'),
        'event-namespace': header(headers, 'event-namespace'),
      },
    }));
    const hlen = Buffer.alloc(4);
    hlen.writeUInt32BE(head.length);
    const answer = new Promise((resolve, reject) => {
      calls.set(id, { resolve, reject, method: r.method || 'GET', chunks: [] });
    });
    if (isJSON) {
      try {
        JSON.parse(body.toString('utf8'));
      } catch (err) {
        // The host answers 400 itself; the worker never sees the body.
        calls.get(id).resolve(result(400, { 'content-type': 'text/plain; charset=utf-8' }, Buffer.from(`invalid JSON body: ${err.message}`)));
        calls.delete(id);
        return { id, answer };
      }
    }
    toWorker.write(frame('I', id, Buffer.concat([hlen, head, body])));
    return { id, answer };
  }

  function result(status, headers, body) {
    return { status, headers, body, text: body.toString('utf8') };
  }

  function onFrame(type, id, payload) {
    const c = calls.get(id);
    if (c === undefined) {
      errors.push(`worker sent ${type} for unknown or finished invocation ${id}`);
      return;
    }
    if (type === 'S') {
      const hlen = payload.readUInt32BE(0);
      const head = JSON.parse(payload.toString('utf8', 4, 4 + hlen));
      c.status = head.status;
      c.headers = {};
      for (const [n, v] of head.headers) {
        const k = n.toLowerCase();
        // As Node's client: Set-Cookie is an array, other repeated headers are joined.
        if (k === 'set-cookie') (c.headers[k] = c.headers[k] || []).push(v);
        else c.headers[k] = c.headers[k] === undefined ? v : `${c.headers[k]}, ${v}`;
      }
      c.chunks.push(payload.subarray(4 + hlen));
      if (!head.stream) {
        const body = c.method === 'HEAD' ? Buffer.alloc(0) : Buffer.concat(c.chunks);
        c.headers['content-length'] = String(Buffer.concat(c.chunks).length);
        calls.delete(id);
        c.resolve(result(c.status, c.headers, body));
      } else {
        c.headers['transfer-encoding'] = 'chunked';
      }
    } else if (type === 'D') {
      c.chunks.push(payload);
    } else if (type === 'E') {
      calls.delete(id);
      if (payload.length > 0) {
        const err = new Error(`stream failed: ${payload.toString('utf8')}`);
        err.code = 'ECONNRESET';
        c.reject(err);
      } else {
        c.resolve(result(c.status, c.headers, Buffer.concat(c.chunks)));
      }
    } else if (type === 'X') {
      calls.delete(id);
      c.resolve(result(500, { 'content-type': 'text/plain; charset=utf-8' }, Buffer.from(`Error: ${payload.toString('utf8')}`)));
    } else {
      errors.push(`unexpected frame ${type} for invocation ${id}`);
    }
  }

  return {
    onFrame,
    invoke,
    request: (r) => invoke(r).answer,
    // cancel sends C for id and forgets the invocation; a later frame for it fails the test.
    cancel(id) {
      calls.delete(id);
      toWorker.write(frame('C', id, Buffer.alloc(0)));
    },
  };
}

module.exports = { startWorker, parseFrames, WORKER, TESTDATA, FIXTURES, EXAMPLES, MODES };
