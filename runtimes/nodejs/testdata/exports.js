'use strict';
module.exports = { alpha: () => 'a', beta: () => 'b', notfn: 42 };
