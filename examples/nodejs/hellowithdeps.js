'use strict';
// Dependency example (handler hellowithdeps.handler): lodash comes from
// package.json, installed by npm when the function is built. It stamps the
// request data with the time of day:
// `kubeless function call get-nodejs-deps --data '{"hello": "world"}'`
// answers {"hello":"world","date":"10:00:00 GMT+0000 (Coordinated Universal Time)"}.

const _ = require('lodash');

module.exports = {
  handler(event, context) {
    const data = _.isPlainObject(event.data) ? event.data : {};
    return JSON.stringify(_.assign({}, data, { date: new Date().toTimeString() }));
  },
};
