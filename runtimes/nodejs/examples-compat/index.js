'use strict';
// Kubeless multi-file example (handlers index.helloGet, index.helloWithData): one entry
// module re-exporting functions of its sibling files.

module.exports = {
  helloGet: require('./helloget').foo,
  helloWithData: require('./hellowithdata').handler,
};
