'use strict';
// The Node.js worker, driven as kubeless-host drives it (see harness.js).

const assert = require('node:assert/strict');
const { describe, it, before, after, beforeEach, afterEach } = require('node:test');
const { startWorker, TESTDATA, MODES } = require('./harness');

// withWorker starts one worker for the duration of a describe block.
function withWorker(opts) {
  const ref = {};
  before(async () => {
    const w = await startWorker(opts);
    assert.ok(w.ready !== undefined, `worker failed to start: ${w.fatal} ${w.stderr}`);
    ref.w = w;
  });
  after(async () => {
    if (ref.w) await ref.w.stop();
  });
  return ref;
}

const JSON_HEADERS = { 'Content-Type': 'application/json' };

describe('start-up and fd links', () => {
  for (const mode of MODES) {
    it(`${mode} mode: sends R with the runtime version, frame id 0, and exits 0 when fd 3 ends`, async () => {
      const w = await startWorker({ mode, handler: 'hello' });
      try {
        assert.equal(w.id, 0);
        // event_loop: its calls share one event loop, and it sends L frames.
        assert.deepEqual(JSON.parse(w.ready), { runtime: `nodejs ${process.versions.node}`, event_loop: true });
        const r = await w.request({ path: '/' });
        assert.equal(r.status, 200);
      } finally {
        assert.equal(await w.stop(), 0);
      }
    });

    it(`${mode} mode: exits when fd 3 ends, also with an invocation still running`, async () => {
      const w = await startWorker({ mode, handler: 'printsleep' });
      w.request({ headers: { 'Event-Id': 'abc' } }).catch(() => {});
      await w.waitOutput('stdout', /^printed abc$/m);
      assert.equal(await w.stop(), 0);
    });
  }

  it('frames is the default mode', async () => {
    const w = await startWorker({ mode: 'frames', handler: 'hello', env: { KUBELESS_WORKER_MODE: undefined } });
    try {
      assert.equal((await w.request()).text, 'hello world');
    } finally {
      await w.stop();
    }
  });

  it('refuses an unknown mode with an F frame', async () => {
    const r = await startWorker({ handler: 'hello', env: { KUBELESS_WORKER_MODE: 'grpc' } });
    assert.equal(r.code, 1);
    assert.match(r.fatal, /KUBELESS_WORKER_MODE="grpc" is not a worker mode: use http or frames/);
  });

  it('http mode refuses to start without KUBELESS_WORKER_SOCKET', async () => {
    const r = await startWorker({ handler: 'hello', env: { KUBELESS_WORKER_SOCKET: '' } });
    assert.equal(r.code, 1);
    assert.match(r.fatal, /KUBELESS_WORKER_SOCKET is not set/);
  });
});

describe('load errors: one F line, exit 1', () => {
  const cases = [
    {
      name: 'missing file',
      opts: { mod: 'nope', handler: 'hello' },
      want: [/^cannot load function "nope\.hello": \/.*\/nope\.js: file not found/, /fixtures\.js/],
    },
    {
      name: 'syntax error with file:line',
      opts: { mod: 'syntaxerror', handler: 'hello' },
      want: [/^cannot load function "syntaxerror\.hello": \/.*\/syntaxerror\.js:4: SyntaxError: /],
    },
    {
      name: 'missing package names it and hints at package.json',
      opts: { volume: TESTDATA, mod: 'missingdep', handler: 'handler' },
      want: [/\/missingdep\.js:3: cannot find module 'kubeless-test-no-such-package': list it in the "dependencies" of package\.json/],
    },
    {
      name: 'missing relative file',
      opts: { volume: TESTDATA, mod: 'missingrel', handler: 'handler' },
      want: [/\/missingrel\.js:2: cannot find module '\.\/no-such-helper': is that file part of the function\?/],
    },
    {
      name: 'top-level throw with file:line',
      opts: { volume: TESTDATA, mod: 'topthrow', handler: 'handler' },
      want: [/\/topthrow\.js:4: Error: cannot connect to the database$/],
    },
    {
      name: 'handler not found lists the exports',
      opts: { mod: 'fixtures', handler: 'nope' },
      want: [/no function "nope" among the module's exports \(found: hello, echo, throw, sleep, busy, status, unicode, large, printsleep, context, event\)/],
    },
    {
      name: 'export that is not a function',
      opts: { volume: TESTDATA, mod: 'exports', handler: 'notfn' },
      want: [/export "notfn" is a number, not a function/],
    },
    {
      name: 'module that exports nothing',
      opts: { volume: TESTDATA, mod: 'nothing', handler: 'handler' },
      want: [/no function "handler" among the module's exports \(found: none; is module\.exports set\?\)/],
    },
    {
      name: 'MOD_NAME unset',
      opts: { mod: '', handler: 'hello' },
      want: [/MOD_NAME is not set/],
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const r = await startWorker(c.opts);
      assert.equal(r.code, 1, `exit code; stderr: ${r.stderr}`);
      assert.equal(r.id, 0);
      assert.equal(r.frames.length, 1);
      assert.ok(!r.fatal.includes('\n'), `one line: ${r.fatal}`);
      for (const re of c.want) assert.match(r.fatal, re);
    });
  }
});

// invocationSuite runs every invocation test in one worker mode.
function invocationSuite(mode) {
  // runs handler `name` of testdata/api.js and gives the worker to fn.
  function apiCase(title, name, fn) {
    it(title, async () => {
      const w = await startWorker({ mode, volume: TESTDATA, mod: 'api', handler: name });
      try {
        await fn(w);
      } finally {
        await w.stop();
      }
    });
  }

  describe('handler lookup', () => {
    it('module.exports as a function is the handler whatever FUNC_HANDLER says', async () => {
      const w = await startWorker({ mode, volume: TESTDATA, mod: 'exportfn', handler: 'anything' });
      try {
        assert.equal((await w.request()).text, 'whole module anything');
      } finally {
        await w.stop();
      }
    });

    it('an ES module in a .js file loads where Node can require it, else a clear F line', async () => {
      const r = await startWorker({ mode, volume: TESTDATA, mod: 'esm', handler: 'hello' });
      if (r.fatal) {
        assert.match(r.fatal, /use require\(\) and module\.exports/);
        return;
      }
      try {
        assert.equal((await r.request()).text, 'hello from esm');
      } finally {
        await r.stop();
      }
    });
  });

  describe('fixtures', () => {
    describe('hello', () => {
      const ref = withWorker({ mode, handler: 'hello' });
      it('answers any method and path', async () => {
        for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) {
          const r = await ref.w.request({ method, path: '/any/path?x=1' });
          assert.equal(r.status, 200, method);
          assert.equal(r.text, 'hello world');
          assert.equal(r.headers['content-type'], 'text/plain; charset=utf-8');
          assert.equal(r.headers['content-length'], '11');
        }
      });
      it('HEAD has headers and no body', async () => {
        const r = await ref.w.request({ method: 'HEAD' });
        assert.equal(r.status, 200);
        assert.equal(r.body.length, 0);
      });
      it('keeps the connection alive', { skip: mode !== 'http' && 'http mode only' }, async () => {
        const a = await ref.w.request();
        const b = await ref.w.request();
        assert.equal(a.headers.connection, 'keep-alive');
        assert.equal(a.socket, b.socket);
      });
    });

    describe('echo', () => {
      const ref = withWorker({ mode, handler: 'echo' });
      it('JSON in, the same JSON out', async () => {
        const body = JSON.stringify({ it: 's alive', n: [1, 2.5, null], u: 'ü' });
        const r = await ref.w.request({ method: 'POST', headers: JSON_HEADERS, body });
        assert.equal(r.headers['content-type'], 'application/json');
        assert.deepEqual(JSON.parse(r.text), JSON.parse(body));
      });
      it('JSON with a charset parameter is parsed too', async () => {
        const r = await ref.w.request({ method: 'POST', headers: { 'Content-Type': 'Application/JSON; charset=utf-8' }, body: '[1,2]' });
        assert.equal(r.headers['content-type'], 'application/json');
        assert.equal(r.text, '[1,2]');
      });
      it('a JSON string stays JSON', async () => {
        const r = await ref.w.request({ method: 'POST', headers: JSON_HEADERS, body: '"abc"' });
        assert.equal(r.text, '"abc"');
      });
      it('text in, the same text out', async () => {
        const r = await ref.w.request({ method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: 'plain ✓' });
        assert.equal(r.headers['content-type'], 'text/plain; charset=utf-8');
        assert.equal(r.text, 'plain ✓');
      });
      it('application/json+x or json-ish types are text', async () => {
        const r = await ref.w.request({ method: 'POST', headers: { 'Content-Type': 'application/jsonx' }, body: '{}' });
        assert.equal(r.headers['content-type'], 'text/plain; charset=utf-8');
      });
      it('empty body: empty answer, even for JSON', async () => {
        for (const headers of [{}, JSON_HEADERS]) {
          const r = await ref.w.request({ method: 'POST', headers, body: '' });
          assert.equal(r.status, 200);
          assert.equal(r.text, '');
        }
      });
      it('chunked body', { skip: mode !== 'http' && 'http mode only' }, async () => {
        const r = await ref.w.request({ method: 'POST', headers: { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked' }, body: 'chunky' });
        assert.equal(r.text, 'chunky');
      });
      it('a body that is not JSON is 400 when the worker is used without the host', { skip: mode !== 'http' && 'http mode only' }, async () => {
        const r = await ref.w.request({ method: 'POST', headers: JSON_HEADERS, body: '{nope' });
        assert.equal(r.status, 400);
        assert.match(r.text, /^invalid JSON body: /);
      });
    });

    describe('throw', () => {
      const ref = withWorker({ mode, handler: 'throw' });
      it('answers 500 "Error: boom", stack on stderr, keeps serving', async () => {
        for (let i = 0; i < 2; i++) {
          const r = await ref.w.request();
          assert.equal(r.status, 500);
          assert.equal(r.text, 'Error: boom');
          assert.equal(r.headers['content-type'], 'text/plain; charset=utf-8');
        }
        await ref.w.waitOutput('stderr', /Function failed to execute: Error: boom\n\s+at throw /);
      });
    });

    describe('sleep', () => {
      const ref = withWorker({ mode, handler: 'sleep' });
      it('sleeps', async () => {
        const r = await ref.w.request({ method: 'POST', headers: JSON_HEADERS, body: '{"seconds":0.1}' });
        assert.equal(r.text, 'slept');
      });
    });

    // The four calls meet: each answers only once all four run at once.
    apiCase('runs invocations concurrently', 'meet', async (w) => {
      const rs = await Promise.all([0, 1, 2, 3].map(() => w.request({ method: 'POST', headers: JSON_HEADERS, body: '{"parties":4}' })));
      for (const r of rs) assert.equal(r.text, 'met');
    });

    describe('status', () => {
      const ref = withWorker({ mode, handler: 'status' });
      it('201 with X-Conformance', async () => {
        const r = await ref.w.request();
        assert.equal(r.status, 201);
        assert.equal(r.headers['x-conformance'], 'yes');
        assert.equal(r.text, 'created');
      });
    });

    describe('unicode', () => {
      const ref = withWorker({ mode, handler: 'unicode' });
      it('UTF-8 body with the right length', async () => {
        const r = await ref.w.request();
        assert.equal(r.text, 'héllo wörld ✓ 日本語 🚀');
        assert.equal(Number(r.headers['content-length']), Buffer.byteLength('héllo wörld ✓ 日本語 🚀'));
      });
    });

    describe('large', () => {
      const ref = withWorker({ mode, handler: 'large' });
      it('counts the raw bytes of a 3 MiB body', async () => {
        const body = Buffer.alloc(3 << 20, 0xe2);
        const r = await ref.w.request({ method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body });
        assert.equal(r.text, String(3 << 20));
      });
    });

    describe('context', () => {
      const ref = withWorker({
        mode,
        handler: 'context',
        env: { FUNC_TIMEOUT: '2.5', FUNC_RUNTIME: 'nodejs20', FUNC_MEMORY_LIMIT: '128Mi', CONFORMANCE_ENV: 'set' },
      });
      it('carries FUNC_* values, timeout as a number', async () => {
        const r = await ref.w.request();
        assert.deepEqual(JSON.parse(r.text), {
          'function-name': 'context', timeout: 2.5, runtime: 'nodejs20', 'memory-limit': '128Mi', env: 'set',
        });
      });
      it('timeout defaults to 180', async () => {
        const w = await startWorker({ mode, handler: 'context' });
        try {
          const got = JSON.parse((await w.request()).text);
          assert.equal(got.timeout, 180);
          assert.equal(got.runtime, '');
          assert.equal(got.env, '');
        } finally {
          await w.stop();
        }
      });
    });

    describe('event', () => {
      const ref = withWorker({ mode, handler: 'event' });
      const headers = {
        'Event-Id': 'id-1', 'Event-Type': 'type-1', 'Event-Time': '2026-01-02T03:04:05Z',
        'Event-Namespace': 'cli.kubeless.io', 'X-Conformance-Header': 'hdr',
      };
      it('takes event fields from the host headers and the request from extensions', async () => {
        const r = await ref.w.request({ method: 'PUT', path: '/a/b?x=1&y=%20', headers: { ...headers, ...JSON_HEADERS }, body: '{"k":1}' });
        assert.deepEqual(JSON.parse(r.text), {
          'event-id': 'id-1', 'event-type': 'type-1', 'event-time': '2026-01-02T03:04:05Z',
          'event-namespace': 'cli.kubeless.io', method: 'PUT', path: '/a/b', query: 'x=1&y=%20',
          header: 'hdr', 'data-kind': 'json',
        });
      });
      it('data kinds text and empty; absent headers are empty strings', async () => {
        const text = JSON.parse((await ref.w.request({ method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: 'x' })).text);
        assert.equal(text['data-kind'], 'text');
        const empty = JSON.parse((await ref.w.request()).text);
        assert.equal(empty['data-kind'], 'empty');
        assert.equal(empty['event-id'], '');
        assert.equal(empty['event-namespace'], '');
        assert.equal(empty.header, '');
      });
    });
  });

  describe('return values (contract 3.1)', () => {
    const ref = withWorker({ mode, volume: TESTDATA, mod: 'api', handler: 'typed' });
    const cases = [
      ['string', 'text/plain; charset=utf-8', 'text'],
      ['emptystring', 'text/plain; charset=utf-8', ''],
      ['buffer', 'application/octet-stream', Buffer.from([0, 1, 2, 255]).toString('latin1')],
      ['uint8', 'application/octet-stream', 'hi'],
      ['object', 'application/json', '{"a":1,"b":[true,null]}'],
      ['array', 'application/json', '[1,"two"]'],
      ['number', 'application/json', '42'],
      ['zero', 'application/json', '0'],
      ['boolean', 'application/json', 'false'],
      ['null', undefined, ''],
      ['undefined', undefined, ''],
    ];
    for (const [kind, type, body] of cases) {
      for (const mode of ['sync', 'async']) {
        it(`${kind} (${mode})`, async () => {
          const r = await ref.w.request({ path: `/?kind=${kind}${mode === 'async' ? '&async=1' : ''}` });
          assert.equal(r.status, 200);
          assert.equal(r.headers['content-type'], type);
          assert.equal(r.body.toString('latin1'), body);
          assert.equal(r.headers['content-length'], String(r.body.length));
        });
      }
    }
  });

  describe('function API', () => {
    apiCase('a Content-Type set by the function wins for a string', 'typeset', async (w) => {
      const r = await w.request();
      assert.equal(r.headers['content-type'], 'text/csv');
      assert.equal(r.text, 'a,b\n1,2\n');
    });
    apiCase('... and for an object', 'objtypeset', async (w) => {
      const r = await w.request();
      assert.equal(r.headers['content-type'], 'application/vnd.test+json');
      assert.equal(r.text, '{"ok":true}');
    });
    apiCase('a function that ends the response itself: its return value is ignored', 'selfend', async (w) => {
      const r = await w.request();
      assert.equal(r.status, 203);
      assert.equal(r.text, 'mine');
    });
    apiCase('streaming into event.extensions.response', 'stream', async (w) => {
      const r = await w.request();
      assert.equal(r.headers['content-type'], 'text/event-stream; charset=utf-8');
      assert.equal(r.headers['transfer-encoding'], 'chunked');
      assert.equal(r.text, 'data: 0\n\ndata: 1\n\ndata: 2\n\n');
    });
    apiCase('a returned Readable stream is piped', 'readable', async (w) => {
      const r = await w.request();
      assert.equal(r.headers['content-type'], 'application/octet-stream');
      assert.equal(r.text, 'chunk1-chunk2');
    });
    apiCase('a failure after streaming began aborts the response', 'streamthenthrow', async (w) => {
      await assert.rejects(w.request());
      await w.waitOutput('stderr', /Function failed to execute: Error: mid-stream/);
      assert.equal((await w.request().catch((e) => e)).code, 'ECONNRESET');
    });
    apiCase('Express-style helpers on request and response (compat)', 'express', async (w) => {
      const r = await w.request({
        method: 'POST', path: '/p/q?a=1&a=2&b=x%20y', headers: { 'X-Test': 't', ...JSON_HEADERS }, body: '{"z":1}',
      });
      assert.equal(r.status, 202);
      assert.equal(r.headers['x-express'], 'yes');
      assert.equal(r.headers['x-more'], '1');
      assert.deepEqual(JSON.parse(r.text), {
        get: 't', header: 't', isJSON: 'json', isAppJSON: 'application/json', isText: false, isMultipart: false,
        path: '/p/q', query: { a: ['1', '2'], b: 'x y' }, body: '{"z":1}', resGet: 'yes', host: 'localhost',
      });
      const bodiless = JSON.parse((await w.request()).text);
      assert.equal(bodiless.isJSON, null);
    });
    apiCase('Express request members and res.redirect, res.cookie (compat)', 'expressmembers', async (w) => {
      let r = await w.request({ path: '/some/where?q=1', headers: { 'X-Forwarded-For': '1.2.3.4, 10.0.0.9' } });
      assert.equal(r.status, 200);
      assert.deepEqual(JSON.parse(r.text), {
        params: { 0: '/some/where' }, hostname: 'localhost', ip: mode === 'http' ? '10.0.0.9' : '127.0.0.1',
        originalUrl: '/some/where?q=1', protocol: 'http', secure: false,
      });
      const cookies = [].concat(r.headers['set-cookie']);
      assert.equal(cookies.length, 3);
      assert.match(cookies[0], /^sid=abc; Max-Age=60; Path=\/; Expires=[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} [\d:]{8} GMT; HttpOnly$/);
      assert.equal(cookies[1], 'prefs=j%3A%7B%22dark%22%3Atrue%7D; Path=/app; SameSite=Lax');
      assert.equal(cookies[2], 'old=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT');
      r = await w.request({ path: '/?how=redirect' });
      assert.equal(r.status, 302);
      assert.equal(r.headers.location, '/to/a%20b?x=%41');
      assert.equal(r.text, 'Found. Redirecting to /to/a%20b?x=%41');
      r = await w.request({ path: '/?how=redirect301', headers: { Accept: 'text/html' } });
      assert.equal(r.status, 301);
      assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
      assert.equal(r.text, '<p>Moved Permanently. Redirecting to <a href="https://example.com/">https://example.com/</a></p>');
      r = await w.request({ path: '/?how=back', headers: { Referer: '/from' } });
      assert.equal(r.headers.location, '/from');
    });
    apiCase('Express-style send, json, sendStatus, type (compat)', 'expresssend', async (w) => {
      let r = await w.request();
      assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
      assert.equal(r.text, '<p>hi</p>');
      r = await w.request({ path: '/?how=json' });
      assert.equal(r.status, 201);
      assert.equal(r.headers['content-type'], 'application/json');
      assert.equal(r.text, '{"sent":true}');
      r = await w.request({ path: '/?how=buffer' });
      assert.equal(r.headers['content-type'], 'application/octet-stream');
      r = await w.request({ path: '/?how=status' });
      assert.equal(r.status, 404);
      assert.equal(r.text, 'Not Found');
      r = await w.request({ path: '/?how=type' });
      assert.equal(r.headers['content-type'], 'application/json');
    });
    apiCase('multipart bodies are left unread for the function', 'multipart', async (w) => {
      const body = '--XX\r\nContent-Disposition: form-data; name="f"\r\n\r\nhello\r\n--XX--\r\n';
      const r = await w.request({ method: 'POST', headers: { 'Content-Type': 'multipart/form-data; boundary=XX' }, body });
      assert.deepEqual(JSON.parse(r.text), { data: '', read: Buffer.byteLength(body) });
    });
    apiCase('a caller that hangs up early does not upset the worker', 'late', async (w) => {
      if (mode === 'http') {
        await new Promise((resolve) => {
          const req = require('node:http').request({ socketPath: w.socket, path: '/' });
          req.on('error', () => resolve());
          req.end();
          setTimeout(() => { req.destroy(); resolve(); }, 50);
        });
      } else {
        // The host's C frame: the worker must send nothing more for that invocation.
        const { id } = w.invoke({});
        await new Promise((resolve) => setTimeout(resolve, 50));
        w.cancel(id);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
      assert.equal((await w.request()).text, 'late');
      assert.equal(w.out.stderr, '');
    });
  });

  describe('cancellation', () => {
    apiCase('a streaming function sees close when the caller goes away, and nothing more is sent', 'endless', async (w) => {
      const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
      if (mode === 'http') {
        await new Promise((resolve) => {
          const req = require('node:http').request({ socketPath: w.socket, path: '/' }, (res) => {
            res.once('data', () => {
              req.destroy();
              resolve();
            });
          });
          req.on('error', () => {});
          req.end();
        });
      } else {
        const { id } = w.invoke({});
        const sent = () => w.frames.filter((f) => f.id === id).length;
        while (sent() < 2) await sleep(5);
        w.cancel(id);
        // The function saw close: the worker has handled C. Frames it sent
        // before are all read once the first frame of a later invocation
        // has come (one pipe, in order); none may follow.
        await w.waitOutput('stdout', /endless closed/);
        const firstFrame = async () => {
          const next = w.invoke({});
          while (!w.frames.some((f) => f.id === next.id)) await sleep(5);
          return next.id;
        };
        const second = await firstFrame();
        const n = sent();
        // Again, after the worker handled a later C: nothing more for id.
        w.cancel(second);
        await w.waitOutput('stdout', /endless closed\n(.|\n)*endless closed/);
        await firstFrame();
        assert.equal(sent(), n, 'frames after C');
        // Frames of the cancelled invocations sent before C was handled.
        w.protocolErrors.length = 0;
      }
      await w.waitOutput('stdout', /endless closed/);
      assert.equal(w.child.exitCode, null);
      assert.equal(w.out.stderr, '');
    });
  });

  describe('errors (contract 3.3)', () => {
    const cases = [
      ['reject', 'Error: bad thing', /Function failed to execute: TypeError: bad thing/],
      ['rejectlater', 'Error: later', /Error: later/],
      ['throwstring', 'Error: plain string', /Function failed to execute: plain string/],
      ['throwobject', 'Error: {"code":7}', /\{"code":7\}/],
      ['multiline', 'Error: first line', /second line/],
      ['circular', /^Error: Converting circular structure to JSON/, /circular/],
      ['badstatus', /^Error: Invalid status code: 42$/, /Invalid status code/],
      ['fn', 'Error: the function returned a function, which has no JSON form', /no JSON form/],
    ];
    for (const [name, body, log] of cases) {
      apiCase(name, name, async (w) => {
        const r = await w.request();
        assert.equal(r.status, 500);
        if (typeof body === 'string') assert.equal(r.text, body);
        else assert.match(r.text, body);
        assert.ok(!r.text.includes('\n'));
        await w.waitOutput('stderr', log);
      });
    }
    apiCase('headers set before a throw do not leak into the 500', 'throwaftersetting', async (w) => {
      const r = await w.request();
      assert.equal(r.status, 500);
      assert.equal(r.headers['x-leak'], undefined);
      assert.equal(r.headers['content-type'], 'text/plain; charset=utf-8');
      assert.equal(r.text, 'Error: after headers');
    });
    for (const name of ['asyncthrow', 'unhandled']) {
      apiCase(`${name}: an error escaping the invocation does not end the worker`, name, async (w) => {
        assert.equal((await w.request()).text, 'answered');
        await new Promise((resolve) => setTimeout(resolve, 50));
        assert.equal((await w.request()).text, 'answered');
        await w.waitOutput('stderr', /worker keeps serving/);
        assert.equal(w.child.exitCode, null);
      });
    }
  });
}

for (const mode of MODES) describe(`${mode} mode`, () => invocationSuite(mode));

// L frames (frames mode): the worker tells the host when its event loop ran free
// after it had started calls, so that the host sends no call behind one that blocks it.
for (const mode of MODES) describe(`event loop free (L frames, ${mode} mode)`, () => {
  const os = require('node:os');
  const path = require('node:path');
  const fs = require('node:fs');
  const ref = {};
  beforeEach(async () => {
    ref.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kl-node-loop-'));
    ref.w = await startWorker({ mode, handler: 'sleep' });
    assert.ok(ref.w.ready !== undefined, `worker failed to start: ${ref.w.fatal} ${ref.w.stderr}`);
  });
  afterEach(async () => {
    await ref.w.stop();
    fs.rmSync(ref.dir, { recursive: true, force: true });
  });
  const waitFile = async (f) => {
    while (!fs.existsSync(f)) await new Promise((r) => setTimeout(r, 5));
  };
  const sleepUntil = (touch, until, busy) => ({
    method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ touch, until, busy }),
  });

  it('sends L with the count of calls started once the loop runs free while calls run', { timeout: 30000 }, async () => {
    const { w, dir } = ref;
    const release = path.join(dir, 'release');
    const first = w.waitLoopFree(1);
    const a = w.request(sleepUntil(path.join(dir, 'a'), release, false));
    await first;
    const second = w.waitLoopFree(2);
    const b = w.request(sleepUntil(path.join(dir, 'b'), release, false));
    await second;
    fs.writeFileSync(release, '');
    assert.equal((await a).text, 'slept');
    assert.equal((await b).text, 'slept');
  });

  it('sends no L while a call keeps the loop busy', async () => {
    const { w, dir } = ref;
    const started = path.join(dir, 'spinning');
    const release = path.join(dir, 'release');
    const spin = w.request(sleepUntil(started, release, true));
    await waitFile(started); // the call spins from here until release exists
    fs.writeFileSync(release, '');
    assert.equal((await spin).text, 'slept');
    // Its answer ended the only call, so the loop never ran free while a call ran.
    assert.deepEqual(w.frames.filter((f) => f.type === 'L'), []);
  });
});

describe('dependencies', () => {
  it('resolves from the volume\'s node_modules and through NODE_PATH', async () => {
    const fs = require('node:fs');
    const os = require('node:os');
    const path = require('node:path');
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kl-node-deps-'));
    const vol = path.join(tmp, 'vol');
    const global = path.join(tmp, 'global');
    const write = (file, text) => {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, text);
    };
    write(path.join(vol, 'deps.js'), fs.readFileSync(path.join(TESTDATA, 'deps.js')));
    write(path.join(vol, 'node_modules', 'kl-local-dep', 'index.js'), "module.exports = 'local';\n");
    write(path.join(global, 'kl-global-dep', 'index.js'), "module.exports = 'global';\n");
    try {
      const w = await startWorker({ volume: vol, mod: 'deps', handler: 'handler', env: { NODE_PATH: global } });
      assert.ok(w.ready !== undefined, w.fatal);
      try {
        assert.equal((await w.request()).text, 'local global');
      } finally {
        await w.stop();
      }
      const r = await startWorker({ volume: vol, mod: 'deps', handler: 'handler' });
      assert.match(r.fatal, /deps\.js:5: cannot find module 'kl-global-dep': list it in the "dependencies"/);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
