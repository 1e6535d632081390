'use strict';
// Copied by the tests into a temporary volume: one package comes from the volume's own
// node_modules, the other through NODE_PATH.
const local = require('kl-local-dep');
const global = require('kl-global-dep');

module.exports = { handler: () => `${local} ${global}` };
