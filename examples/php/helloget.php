<?php
// GET example (handler helloget.foo): `kubeless function call get-php`
// answers "hello world".

function foo($event, $context) {
  return "hello world";
}
