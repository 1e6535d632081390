'use strict';

const dep = require('kubeless-test-no-such-package');

module.exports = { handler: () => dep };
