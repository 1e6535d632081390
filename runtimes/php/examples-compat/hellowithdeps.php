<?php

require 'vendor/autoload.php';

use Monolog\Logger;
use Monolog\Handler\StreamHandler;

function foo($event, $context) {
  $log = new Logger('name');
  $log->pushHandler(new StreamHandler('php://stdout', Logger::WARNING));
  $log->warning('Hello');
  $log->error('World');
  return "hello world";
}
