'use strict';
// Loading the function once, at start-up, with one-line reasons when it cannot be loaded.

const fs = require('node:fs');
const path = require('node:path');
const Module = require('node:module');
const { pathToFileURL } = require('node:url');

const RUNTIME_FILES = [path.join(__dirname, '..', 'kubeless.js'), __dirname + path.sep];

class LoadError extends Error {}

// addModulePath makes dir a global module folder, as if listed in NODE_PATH (it is
// $KUBELESS_INSTALL_VOLUME/node_modules, so dependencies resolve even from files that
// are symlinks into the volume).
function addModulePath(dir) {
  const parts = (process.env.NODE_PATH || '').split(path.delimiter).filter(Boolean);
  if (parts.includes(dir)) return;
  parts.push(dir);
  process.env.NODE_PATH = parts.join(path.delimiter);
  if (typeof Module._initPaths === 'function') Module._initPaths();
}

function isRuntimeFile(file) {
  return file === RUNTIME_FILES[0] || file.startsWith(RUNTIME_FILES[1]);
}

// userLocation returns "file:line" of the first stack frame outside Node and the runtime.
function userLocation(err) {
  const stack = typeof (err && err.stack) === 'string' ? err.stack : '';
  const re = /^\s+at (?:.*?\()?((?:file:\/\/)?\/[^()]*?):(\d+):\d+\)?$/gm;
  let m;
  while ((m = re.exec(stack)) !== null) {
    const file = m[1].startsWith('file://') ? new URL(m[1]).pathname : m[1];
    if (!isRuntimeFile(file)) return `${file}:${m[2]}`;
  }
  return '';
}

function describeLoadError(err, file) {
  if (err instanceof SyntaxError && typeof err.stack === 'string') {
    // Node's compile errors start with "<file>:<line>", then the source line.
    const where = /^(\/.*:\d+)\n/.exec(err.stack);
    let msg = `${where ? where[1] : file}: SyntaxError: ${err.message}`;
    if (/import statement outside a module|Unexpected token 'export'/.test(err.message)) {
      msg += ' (the function is loaded as CommonJS: use require() and module.exports)';
    }
    return msg;
  }
  if (err && err.code === 'MODULE_NOT_FOUND') {
    const name = (/Cannot find module '([^']*)'/.exec(err.message) || [])[1] || '?';
    const where = userLocation(err) || file;
    if (name.startsWith('.') || path.isAbsolute(name)) {
      return `${where}: cannot find module '${name}': is that file part of the function?`;
    }
    return `${where}: cannot find module '${name}': list it in the "dependencies" of ` +
      `package.json so that it is installed (NODE_PATH=${process.env.NODE_PATH || ''})`;
  }
  const where = userLocation(err) || file;
  const text = err instanceof Error ? `${err.name}: ${err.message}` : `thrown value: ${String(err)}`;
  return `${where}: ${text.split('\n')[0]}`;
}

function exportNames(exp) {
  if (exp === null || (typeof exp !== 'object' && typeof exp !== 'function')) return [];
  return Object.keys(exp).filter((k) => k !== '__esModule' && k !== 'default');
}

// pickHandler applies Kubeless's rule: module.exports is the function itself, or an
// object holding it under FUNC_HANDLER. An ES module's default export counts as
// module.exports.
function pickHandler(exp, name, file) {
  if (typeof exp === 'function') return exp;
  if (exp !== null && typeof exp === 'object') {
    const fn = exp[name];
    if (typeof fn === 'function') return fn;
    if (fn !== undefined) {
      throw new LoadError(`${file}: export "${name}" is a ${fn === null ? 'null' : typeof fn}, not a function`);
    }
    if (exp.default !== undefined && exp.default !== exp) {
      try {
        return pickHandler(exp.default, name, file);
      } catch (_) { /* report the outer module's exports below */ }
    }
    const found = exportNames(exp).concat(exportNames(exp.default));
    throw new LoadError(`${file}: no function "${name}" among the module's exports ` +
      `(found: ${found.length ? found.join(', ') : 'none; is module.exports set?'})`);
  }
  throw new LoadError(`${file}: module.exports is ${exp === null ? 'null' : typeof exp}; ` +
    `expected a function or an object with the function "${name}"`);
}

// loadFunction loads $KUBELESS_INSTALL_VOLUME/$MOD_NAME.js and returns the handler, or
// throws a LoadError whose message names the file, the line and the cause.
async function loadFunction(cfg) {
  if (!cfg.modName) throw new LoadError('MOD_NAME is not set');
  if (!cfg.handlerName) throw new LoadError('FUNC_HANDLER is not set');
  // A handler may sit in a sub-folder (MOD_NAME=src/hello), never outside the volume.
  if (cfg.modName.startsWith('/') || cfg.modName.split('/').some((p) => p === '' || p === '.' || p === '..')) {
    throw new LoadError(`MOD_NAME=${cfg.modName} must be a path inside ${path.resolve(cfg.volume)} ` +
      '(no leading "/", no empty, "." or ".." parts), for example MOD_NAME=src/hello');
  }
  const file = path.resolve(cfg.volume, cfg.modName + '.js');
  if (!fs.existsSync(file)) {
    let found = [];
    try {
      found = fs.readdirSync(path.dirname(file)).filter((f) => f.endsWith('.js')).slice(0, 10);
    } catch (_) { /* the folder is missing too */ }
    throw new LoadError(`${file}: file not found (MOD_NAME=${cfg.modName}, ` +
      `KUBELESS_INSTALL_VOLUME=${cfg.volume}; .js files there: ${found.join(', ') || 'none'})`);
  }
  addModulePath(path.join(path.resolve(cfg.volume), 'node_modules'));
  let exp;
  try {
    exp = require(file);
  } catch (err) {
    if (!err || (err.code !== 'ERR_REQUIRE_ESM' && err.code !== 'ERR_REQUIRE_ASYNC_MODULE')) {
      throw new LoadError(describeLoadError(err, file));
    }
    try {
      exp = await import(pathToFileURL(file).href);
    } catch (err2) {
      throw new LoadError(describeLoadError(err2, file));
    }
  }
  return pickHandler(exp, cfg.handlerName, file);
}

module.exports = { loadFunction, LoadError, describeLoadError, pickHandler };
