'use strict';
// The original Kubeless Node.js examples (examples-compat/, written from their documented
// behaviour) answer through the worker as they did on the original runtime. Their npm
// dependencies are installed with `npm install` into a temporary volume, as the
// runtime's install step does.

const assert = require('node:assert/strict');
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { describe, it, before, after } = require('node:test');
const { startWorker, EXAMPLES } = require('./harness');

const npmMissing = spawnSync('npm', ['--version'], { stdio: 'ignore' }).error !== undefined;
// Under CI (CI set to anything but "", "0" or "false", as test/lib/ci.bash says) a
// missing npm fails the tests (npm install reports it) instead of skipping them.
const inCI = !['', '0', 'false'].includes(String(process.env.CI ?? '').trim().toLowerCase());
const skip = npmMissing && !inCI ? 'npm is not installed: cannot install the examples\' dependencies (under CI this fails)' : false;

function npmInstall(dir) {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['install', '--no-audit', '--no-fund', '--no-package-lock', '--loglevel=error'], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`npm install failed (exit ${code}):\n${out}`))));
  });
}

describe('original examples', { skip }, () => {
  let tmp;
  let volume; // examples + node_modules, as the install step leaves /kubeless
  let bare; // the examples alone; dependencies come through NODE_PATH

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kl-node-examples-'));
    volume = path.join(tmp, 'volume');
    bare = path.join(tmp, 'bare');
    fs.cpSync(EXAMPLES, volume, { recursive: true });
    fs.cpSync(EXAMPLES, bare, { recursive: true });
    await npmInstall(volume);
  }, { timeout: 300000 });

  after(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  async function call(mod, handler, req, env) {
    const w = await startWorker({ volume, mod, handler, ...env });
    assert.ok(w.ready !== undefined, `${mod}.${handler} did not load: ${w.fatal}`);
    try {
      const r = await w.request(req);
      r.stdout = w.out.stdout;
      return r;
    } finally {
      await w.stop();
    }
  }

  const data = { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"it-s":"alive"}' };

  it('helloget.foo answers hello world!', async () => {
    const r = await call('helloget', 'foo', {});
    assert.equal(r.status, 200);
    assert.equal(r.text, 'hello world!');
  });

  it('helloexpress.foo uses Express request and response members', async () => {
    // frames mode, the host's default: the caller's address comes in the invocation head.
    let r = await call('helloexpress', 'foo', { path: '/x?y=1' }, { mode: 'frames' });
    assert.equal(r.status, 200);
    assert.equal(r.text, 'hello localhost from 127.0.0.1, you asked for /x?y=1');
    assert.deepEqual([].concat(r.headers['set-cookie']), ['visited=yes; Path=/; HttpOnly']);
    r = await call('helloexpress', 'foo', { path: '/old' });
    assert.equal(r.status, 301);
    assert.equal(r.headers.location, '/new');
  });

  it('hellowithdata.handler logs the event and echoes the JSON data', async () => {
    const r = await call('hellowithdata', 'handler', data);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(r.text), { 'it-s': 'alive' });
    assert.match(r.stdout, /data: \{ 'it-s': 'alive' \}/);
  });

  it('hellowithdeps.handler stamps the data with lodash', async () => {
    const r = await call('hellowithdeps', 'handler', { ...data, body: '{"hello":"world"}' });
    assert.equal(r.status, 200);
    const got = JSON.parse(r.text);
    assert.equal(got.hello, 'world');
    assert.match(got.date, /^\d\d:\d\d:\d\d GMT[+-]\d{4}/);
  });

  it('hellostream.foo streams hello world! into event.extensions.response', async () => {
    const r = await call('hellostream', 'foo', {});
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'text/event-stream; charset=utf-8');
    assert.equal(r.text, 'hello world!');
  });

  it('index.helloGet and index.helloWithData re-export their siblings (multi-file)', async () => {
    assert.equal((await call('index', 'helloGet', {})).text, 'hello world!');
    assert.deepEqual(JSON.parse((await call('index', 'helloWithData', data)).text), { 'it-s': 'alive' });
  });

  it('dependencies are found through NODE_PATH', async () => {
    const nodePath = path.join(volume, 'node_modules');
    for (const [mod, handler, req] of [['hellowithdeps', 'handler', data], ['hellostream', 'foo', {}]]) {
      const w = await startWorker({ volume: bare, mod, handler, env: { NODE_PATH: nodePath } });
      assert.ok(w.ready !== undefined, `${mod}.${handler} did not load: ${w.fatal}`);
      try {
        assert.equal((await w.request(req)).status, 200);
      } finally {
        await w.stop();
      }
    }
    const r = await startWorker({ volume: bare, mod: 'hellowithdeps', handler: 'handler' });
    assert.match(r.fatal, /hellowithdeps\.js:\d+: cannot find module 'lodash': list it in the "dependencies" of package\.json/);
  });
});
