'use strict';
// Forgot to export anything.
function handler() { return 'x'; }
handler();
