'use strict';
// The host <-> worker frames (docs/worker-protocol.md):
//   type 1 byte (ASCII) | id 4 bytes BE | length 4 bytes BE | payload

const fs = require('node:fs');

const FD_FROM_HOST = 3;
const FD_TO_HOST = 4;
const HEADER = 9;

function encodeFrame(type, id, payload) {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const frame = Buffer.allocUnsafe(HEADER + body.length);
  frame[0] = type.charCodeAt(0);
  frame.writeUInt32BE(id, 1);
  frame.writeUInt32BE(body.length, 5);
  body.copy(frame, HEADER);
  return frame;
}

function writeAllSync(fd, buf) {
  let off = 0;
  while (off < buf.length) {
    try {
      off += fs.writeSync(fd, buf, off, buf.length - off);
    } catch (err) {
      if (err.code !== 'EAGAIN') throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
  }
}

// sendFrameSync writes one worker-level frame (id 0) to fd 4 where the worker has not
// opened it as a stream (F, and R and L in http mode).
function sendFrameSync(type, payload) {
  writeAllSync(FD_TO_HOST, encodeFrame(type, 0, payload));
}

// fatal reports a start-up failure: one F frame with one line (the host prints it to
// its stderr and exits 1), then exit 1. Without a host, the line goes to stderr.
function fatal(message) {
  const line = String(message).replace(/\s*\n\s*/g, ' ');
  try {
    sendFrameSync('F', line);
  } catch (_) {
    process.stderr.write(line + '\n');
  }
  process.exit(1);
}

// FrameReader calls onFrame(type, id, payload) for every complete frame of a byte
// stream. Payloads are views into the received chunks (no copy unless a frame spans
// chunks; then the chunks are joined once).
class FrameReader {
  constructor(onFrame) {
    this.onFrame = onFrame;
    this.chunks = [];
    this.have = 0;
    this.need = HEADER;
  }

  push(chunk) {
    this.chunks.push(chunk);
    this.have += chunk.length;
    if (this.have < this.need) return;
    const buf = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.have);
    let off = 0;
    this.need = HEADER;
    while (buf.length - off >= HEADER) {
      const len = buf.readUInt32BE(off + 5);
      if (buf.length - off < HEADER + len) {
        this.need = HEADER + len;
        break;
      }
      const start = off + HEADER;
      off = start + len;
      this.onFrame(String.fromCharCode(buf[start - HEADER]), buf.readUInt32BE(start - 8), buf.subarray(start, off));
    }
    const rest = off === buf.length ? null : buf.subarray(off);
    this.chunks = rest ? [rest] : [];
    this.have = rest ? rest.length : 0;
  }
}

module.exports = { FD_FROM_HOST, FD_TO_HOST, HEADER, encodeFrame, sendFrameSync, fatal, FrameReader };
