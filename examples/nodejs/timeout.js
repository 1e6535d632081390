'use strict';
// Timeout example (handler timeout.forever): never returns. Deployed with
// --timeout 3, a call answers 408 after 3 seconds (`Request timeout
// exceeded`) and the runtime replaces the blocked worker.

module.exports = {
  forever(event, context) {
    while (true) {} // eslint-disable-line no-constant-condition, no-empty
  },
};
