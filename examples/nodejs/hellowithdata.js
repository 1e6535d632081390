'use strict';
// POST example (handler hellowithdata.handler): logs the event (see
// `kubeless function logs post-nodejs`) and answers its data. A JSON body
// arrives parsed and an object is answered as JSON, so
// `kubeless function call post-nodejs --data '{"it-s": "alive"}'` answers
// {"it-s":"alive"}.

module.exports = {
  handler(event, context) {
    console.log(event);
    return event.data;
  },
};
