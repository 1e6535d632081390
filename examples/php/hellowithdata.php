<?php
// POST example (handler hellowithdata.foo): answers the request data as JSON:
// `kubeless function call post-php --data '{"it-s": "alive"}'` answers
// {"it-s":"alive"}.

function foo($event, $context) {
  return json_encode($event->data);
}
