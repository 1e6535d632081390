'use strict';
const helper = require('./no-such-helper');

module.exports = { handler: () => helper };
