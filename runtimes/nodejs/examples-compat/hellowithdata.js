'use strict';
// Kubeless example "hellowithdata" (handler hellowithdata.handler): logs the event and
// answers its data (a JSON body comes back as JSON).

module.exports = {
  handler(event, context) {
    console.log(event);
    return event.data;
  },
};
