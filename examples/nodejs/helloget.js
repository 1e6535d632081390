'use strict';
// GET example (handler helloget.foo): `kubeless function call get-nodejs`
// answers "hello world!".

module.exports = {
  foo(event, context) {
    return 'hello world!';
  },
};
