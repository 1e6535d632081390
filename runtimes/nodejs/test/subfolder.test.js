'use strict';
// Handlers in a sub-folder of the function's folder: MOD_NAME=src/api/hello.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startWorker } = require('./harness');

describe('handler in a sub-folder', () => {
  let dir;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubeless-node-sub-'));
    fs.mkdirSync(path.join(dir, 'src', 'api'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'src', 'api', 'hello.js'),
      "const helper = require('./helper');\nmodule.exports = { foo: () => helper.name };\n");
    fs.writeFileSync(path.join(dir, 'src', 'api', 'helper.js'), "module.exports = { name: 'sub-folder' };\n");
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('loads the module and its siblings', async () => {
    const w = await startWorker({ mode: 'frames', volume: dir, mod: 'src/api/hello', handler: 'foo' });
    try {
      assert.equal(w.fatal, undefined, w.fatal);
      assert.equal((await w.request()).text, 'sub-folder');
    } finally {
      await w.stop();
    }
  });

  for (const mod of ['../hello', 'src/../../hello', '/etc/hello', 'src//hello']) {
    it(`refuses ${mod}`, async () => {
      const w = await startWorker({ mode: 'frames', volume: dir, mod, handler: 'foo' });
      assert.equal(w.fatal, `cannot load function "${mod}.foo": MOD_NAME=${mod} must be a path inside ${dir} ` +
        '(no leading "/", no empty, "." or ".." parts), for example MOD_NAME=src/hello');
      assert.equal(w.code, 1);
    });
  }
});
