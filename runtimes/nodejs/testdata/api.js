'use strict';
// Test functions for runtimes/nodejs/test (not conformance fixtures).

const { Readable } = require('node:stream');

const meeting = []; // the calls waiting in meet

const values = {
  string: 'text',
  buffer: Buffer.from([0, 1, 2, 255]),
  uint8: new Uint8Array([104, 105]),
  object: { a: 1, b: [true, null] },
  array: [1, 'two'],
  number: 42,
  zero: 0,
  boolean: false,
  null: null,
  undefined: undefined,
  emptystring: '',
};

module.exports = {
  // ?kind=<name> returns values[name], synchronously or (with &async=1) through a Promise.
  typed: (event) => {
    const req = event.extensions.request;
    const kind = req.query.kind;
    if (req.query.async) return Promise.resolve(values[kind]);
    return values[kind];
  },

  typeset: (event) => {
    event.extensions.response.setHeader('Content-Type', 'text/csv');
    return 'a,b\n1,2\n';
  },

  objtypeset: (event) => {
    event.extensions.response.setHeader('Content-Type', 'application/vnd.test+json');
    return { ok: true };
  },

  reject: () => Promise.reject(new TypeError('bad thing')),
  rejectlater: async () => {
    await new Promise((resolve) => setTimeout(resolve, 10));
    throw new Error('later');
  },
  throwstring: () => {
    throw 'plain string'; // eslint-disable-line no-throw-literal
  },
  throwobject: () => {
    throw { code: 7 }; // eslint-disable-line no-throw-literal
  },
  multiline: () => {
    throw new Error('first line\nsecond line');
  },
  throwaftersetting: (event) => {
    const res = event.extensions.response;
    res.statusCode = 202;
    res.setHeader('X-Leak', 'no');
    res.setHeader('Content-Type', 'application/json');
    throw new Error('after headers');
  },
  badstatus: (event) => {
    event.extensions.response.statusCode = 42;
    return 'never';
  },
  circular: () => {
    const a = {};
    a.self = a;
    return a;
  },
  fn: () => () => 1,

  asyncthrow: () => {
    setTimeout(() => { throw new Error('escaped timer'); }, 1);
    return 'answered';
  },
  unhandled: () => {
    Promise.reject(new Error('nobody listens'));
    return 'answered';
  },

  // Ends the response itself and returns a value that must be ignored.
  selfend: (event) => {
    const res = event.extensions.response;
    res.writeHead(203, { 'Content-Type': 'text/plain' });
    res.end('mine');
    return 'ignored';
  },

  // Streams chunks over time and resolves when done.
  stream: (event) => new Promise((resolve) => {
    const res = event.extensions.response;
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    let i = 0;
    const tick = () => {
      if (i === 3) {
        res.end();
        resolve();
        return;
      }
      res.write(`data: ${i++}\n\n`);
      setTimeout(tick, 5);
    };
    tick();
  }),

  streamthenthrow: async (event) => {
    const res = event.extensions.response;
    res.write('partial');
    await new Promise((resolve) => setTimeout(resolve, 5));
    throw new Error('mid-stream');
  },

  readable: () => Readable.from(['chunk1-', 'chunk2']),

  express: (event) => {
    const req = event.extensions.request;
    const res = event.extensions.response;
    res.status(202).set('X-Express', 'yes').set({ 'X-More': '1' });
    return {
      get: req.get('X-Test'),
      header: req.header('x-test'),
      isJSON: req.is('json'),
      isAppJSON: req.is('application/json'),
      isText: req.is('text/*'),
      isMultipart: req.is('multipart'),
      path: req.path,
      query: req.query,
      body: req.body.toString(),
      resGet: res.get('x-express'),
      host: req.get('host'),
    };
  },
  expressmembers: (event) => {
    const req = event.extensions.request;
    const res = event.extensions.response;
    const how = req.query.how;
    if (how === 'redirect') return res.redirect('/to/a b?x=%41');
    if (how === 'redirect301') return res.redirect(301, 'https://example.com/');
    if (how === 'back') return res.redirect('back');
    res.cookie('sid', 'abc', { httpOnly: true, maxAge: 60000 });
    res.cookie('prefs', { dark: true }, { path: '/app', sameSite: 'lax' });
    res.clearCookie('old');
    return {
      params: req.params, hostname: req.hostname, ip: req.ip, originalUrl: req.originalUrl,
      protocol: req.protocol, secure: req.secure,
    };
  },
  expresssend: (event) => {
    const res = event.extensions.response;
    const how = event.extensions.request.query.how;
    if (how === 'json') res.status(201).json({ sent: true });
    else if (how === 'buffer') res.send(Buffer.from('raw'));
    else if (how === 'status') res.sendStatus(404);
    else if (how === 'type') res.type('json').send('{"typed":1}');
    else res.send('<p>hi</p>');
  },

  // Multipart bodies are left unread: the function reads the stream itself.
  multipart: (event) => new Promise((resolve, reject) => {
    const req = event.extensions.request;
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve({ data: event.data === undefined ? 'undefined' : event.data, read: Buffer.concat(chunks).length }));
    req.on('error', reject);
  }),

  // Streams until the caller goes away (http: hangs up; frames: the host's C frame).
  endless: (event) => {
    const res = event.extensions.response;
    res.setHeader('Content-Type', 'text/plain');
    const timer = setInterval(() => res.write('tick\n'), 10);
    res.on('close', () => {
      clearInterval(timer);
      console.log('endless closed');
    });
    return new Promise(() => {});
  },

  // Answers late: used to check that a caller who hung up does not upset the worker.
  late: () => new Promise((resolve) => setTimeout(() => resolve('late'), 200)),

  whoami: () => `worker ${process.env.KUBELESS_WORKER_ID || ''} pid ${process.pid}`,

  // Answers "met" once event.data.parties calls are inside it at the same
  // time; fails after 10 s if they never are (one at a time, they never are).
  meet: (event) => new Promise((resolve, reject) => {
    const parties = event.data.parties;
    const timer = setTimeout(() => reject(new Error(`only ${meeting.length} of ${parties} calls met`)), 10000);
    meeting.push(() => { clearTimeout(timer); resolve('met'); });
    if (meeting.length >= parties) meeting.splice(0).forEach((met) => met());
  }),
};
