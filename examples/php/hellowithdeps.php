<?php
// Dependency example (handler hellowithdeps.foo): kubeless/greeting comes
// from composer.json, installed by composer into vendor/ when the function
// is built (here from the local path repository that
// `make -C examples php-deps-src` names in COMPOSER_HOME/config.json).

require 'vendor/autoload.php';

use KubelessGreeting\Greeter;

function foo($event, $context) {
  $data = $event->data;
  $name = is_object($data) && isset($data->name) ? $data->name : 'world';
  return Greeter::greet($name);
}
