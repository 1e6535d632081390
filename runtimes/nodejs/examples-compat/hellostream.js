'use strict';
// Kubeless example "hellostream" (handler hellostream.foo): streams its answer into the
// response object of event.extensions, and settles once the response has been sent.

const from = require('from2');
const eos = require('end-of-stream');

const WORDS = ['hello', ' ', 'world', '!'];

module.exports = {
  foo(event, context) {
    const res = event.extensions.response;
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    let next = 0;
    const source = from((size, cb) => {
      if (next === WORDS.length) {
        cb(null, null);
        return;
      }
      setTimeout(() => cb(null, WORDS[next++]), 1);
    });
    return new Promise((resolve, reject) => {
      eos(res, (err) => (err ? reject(err) : resolve()));
      source.pipe(res);
    });
  },
};
