'use strict';
// Kubeless example "helloget" (handler helloget.foo): answers a fixed greeting.

module.exports = {
  foo(event, context) {
    return 'hello world!';
  },
};
