'use strict';
// Kubeless Node.js runtime: a language worker of the Go host (kubeless-host).
//
// The host owns the public HTTP server, /healthz, /metrics, the request log, the time
// limit, the concurrency limit, drain, CORS, body-size and JSON validation and the event
// metadata defaults (docs/worker-protocol.md). This worker only:
//   1. loads the function once, at start-up ($KUBELESS_INSTALL_VOLUME/$MOD_NAME.js);
//   2. sends the frame R on fd 4 when it can serve (or F with one line naming the
//      cause, then exits 1);
//   3. serves invocations by calling handler(event, context), in the host's mode:
//      - http   (KUBELESS_WORKER_MODE=http): HTTP/1.1 on the Unix socket
//                KUBELESS_WORKER_SOCKET, and L frames on fd 4 when the event loop ran
//                free while calls run; the function gets Node's own request and
//                response objects (lib/httpmode.js);
//      - frames (the host's default): I frames in on fd 3, S/D/E/X frames out on fd 4,
//                and L frames when the event loop ran free while calls run (so the
//                host never sends a call behind one that blocks the loop); the
//                function gets a Node-shaped request and response (lib/framesmode.js);
//   4. exits when fd 3 (the host's end of the link) reaches end of file.
//
// Standard library only: a function's dependencies can never clash with the runtime's.
// The function API is documented in README.md next to this file.

const fs = require('node:fs');
const net = require('node:net');
const { FD_FROM_HOST, FD_TO_HOST, fatal, sendFrameSync } = require('./lib/frames');
const { loadFunction, LoadError } = require('./lib/loader');
const { errorText } = require('./lib/invoke');

function readConfig(env) {
  const timeout = Number(env.FUNC_TIMEOUT);
  return {
    modName: env.MOD_NAME || '',
    handlerName: env.FUNC_HANDLER || '',
    volume: env.KUBELESS_INSTALL_VOLUME || '/kubeless',
    socket: env.KUBELESS_WORKER_SOCKET || '',
    mode: env.KUBELESS_WORKER_MODE || 'frames',
    timeout: env.FUNC_TIMEOUT && Number.isFinite(timeout) ? timeout : 180,
    runtime: env.FUNC_RUNTIME || '',
    memoryLimit: env.FUNC_MEMORY_LIMIT || '',
  };
}

function installProcessGuards() {
  // An error escaping a function asynchronously must not end the worker (or the other
  // invocations it serves). The invocation it belonged to is ended by the host's time limit.
  process.on('uncaughtException', (err) => {
    process.stderr.write(`Uncaught exception in function (worker keeps serving): ${err && err.stack ? err.stack : String(err)}\n`);
  });
  process.on('unhandledRejection', (err) => {
    process.stderr.write(`Unhandled promise rejection in function (worker keeps serving): ${err && err.stack ? err.stack : String(err)}\n`);
  });
}

async function main() {
  const cfg = readConfig(process.env);
  const label = `cannot load function "${cfg.modName}.${cfg.handlerName}"`;
  try {
    fs.fstatSync(FD_TO_HOST);
    fs.fstatSync(FD_FROM_HOST);
  } catch (_) {
    process.stderr.write('kubeless.js is a worker of kubeless-host: start it through the host, ' +
      'for example FUNC_PROCESS="node kubeless.js" kubeless-host\n');
    process.exit(1);
  }
  if (cfg.mode !== 'http' && cfg.mode !== 'frames') {
    fatal(`${label}: KUBELESS_WORKER_MODE="${cfg.mode}" is not a worker mode: use http or frames`);
  }
  if (cfg.mode === 'http' && !cfg.socket) {
    fatal(`${label}: KUBELESS_WORKER_SOCKET is not set; http mode needs the socket path from the host`);
  }
  installProcessGuards();

  let handler;
  try {
    handler = await loadFunction(cfg);
  } catch (err) {
    fatal(`${label}: ${err instanceof LoadError ? err.message : errorText(err)}`);
  }

  // event_loop: every call runs on this one event loop; the worker sends L frames when
  // that loop ran free while calls run (lib/framesmode.js, lib/httpmode.js).
  const ready = JSON.stringify({ runtime: `nodejs ${process.versions.node}`, event_loop: true });
  if (cfg.mode === 'frames') {
    require('./lib/framesmode').serveFrames(handler, cfg, ready, () => process.exit(0));
    return;
  }
  const gone = () => {
    try { fs.unlinkSync(cfg.socket); } catch (_) { /* gone already */ }
    process.exit(0);
  };
  const link = new net.Socket({ fd: FD_FROM_HOST, readable: true, writable: false });
  link.on('data', () => {}); // no frames matter in http mode (the host closes connections to cancel)
  link.on('end', gone);
  link.on('close', gone);
  link.on('error', gone);
  require('./lib/httpmode').serveHTTP(handler, cfg,
    () => sendFrameSync('R', ready),
    (err) => fatal(`${label}: listen on ${cfg.socket}: ${err.message}`),
    (count) => {
      const payload = Buffer.allocUnsafe(4);
      payload.writeUInt32BE(count, 0);
      try {
        sendFrameSync('L', payload);
      } catch (_) { /* the host is gone: fd 3 ends too, and the worker exits */ }
    });
}

main();
