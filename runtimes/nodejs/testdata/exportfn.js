'use strict';
// module.exports is the function itself: FUNC_HANDLER does not matter (compat).
module.exports = (event, context) => `whole module ${context['function-name']}`;
