'use strict';

function init() {
  throw new Error('cannot connect to the database');
}
init();

module.exports = { handler: () => 'never' };
