'use strict';
// Frame encoding and decoding (lib/frames.js, lib/framesmode.js) in-process.

const assert = require('node:assert/strict');
const { describe, it } = require('node:test');
const { encodeFrame, FrameReader } = require('../lib/frames');
const { encodeHead, encodeS } = require('../lib/framesmode');

function collect() {
  const got = [];
  const reader = new FrameReader((type, id, payload) => got.push([type, id, payload.toString('latin1')]));
  return { got, reader };
}

describe('FrameReader', () => {
  const frames = [
    ['I', 1, 'x'.repeat(300)],
    ['C', 7, ''],
    ['I', 0xfffffffe, 'héllo'],
  ];
  const wire = Buffer.concat(frames.map(([t, id, p]) => encodeFrame(t, id, Buffer.from(p, 'latin1'))));

  it('reads frames from one chunk', () => {
    const { got, reader } = collect();
    reader.push(wire);
    assert.deepEqual(got, frames);
  });

  it('reads frames split at every byte boundary', () => {
    for (let cut = 1; cut < wire.length; cut++) {
      const { got, reader } = collect();
      reader.push(wire.subarray(0, cut));
      reader.push(wire.subarray(cut));
      assert.deepEqual(got, frames, `cut at ${cut}`);
    }
  });

  it('reads frames fed one byte at a time', () => {
    const { got, reader } = collect();
    for (let i = 0; i < wire.length; i++) reader.push(wire.subarray(i, i + 1));
    assert.deepEqual(got, frames);
  });
});

describe('S frames', () => {
  function decodeS(frame) {
    assert.equal(frame.toString('latin1', 0, 1), 'S');
    assert.equal(frame.readUInt32BE(5), frame.length - 9);
    const hlen = frame.readUInt32BE(9);
    return { id: frame.readUInt32BE(1), head: JSON.parse(frame.toString('utf8', 13, 13 + hlen)), body: frame.subarray(13 + hlen) };
  }

  it('encodes status, headers (arrays as repeated pairs), stream flag and a string body', () => {
    const headers = new Map([
      ['content-type', ['Content-Type', 'text/plain; charset=utf-8']],
      ['set-cookie', ['Set-Cookie', ['a=1', 'b=2']]],
      ['x-n', ['X-N', 5]],
    ]);
    const s = decodeS(encodeS(42, encodeHead(201, headers, false), 'héllo ✓', 'utf8'));
    assert.equal(s.id, 42);
    assert.deepEqual(s.head, {
      status: 201,
      headers: [['Content-Type', 'text/plain; charset=utf-8'], ['Set-Cookie', 'a=1'], ['Set-Cookie', 'b=2'], ['X-N', '5']],
      stream: false,
    });
    assert.equal(s.body.toString('utf8'), 'héllo ✓');
  });

  it('encodes Buffer and empty bodies, and reuses heads with one header', () => {
    const headers = new Map([['content-type', ['Content-Type', 'application/json']]]);
    const a = encodeHead(200, headers, true);
    assert.equal(encodeHead(200, new Map(headers), true), a);
    assert.deepEqual(decodeS(encodeS(1, a, Buffer.from([0, 255]))).body, Buffer.from([0, 255]));
    const empty = decodeS(encodeS(2, encodeHead(204, null, false), undefined));
    assert.deepEqual(empty.head, { status: 204, headers: [], stream: false });
    assert.equal(empty.body.length, 0);
  });
});
