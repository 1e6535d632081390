'use strict';
// Kubeless example "hellowithdeps" (handler hellowithdeps.handler): uses the lodash
// dependency (package.json) to stamp the request data with the time of day, and answers
// the result serialised by the function itself.

const _ = require('lodash');

module.exports = {
  handler(event, context) {
    const stamped = _.assign({}, event.data, { date: new Date().toTimeString() });
    return JSON.stringify(stamped);
  },
};
