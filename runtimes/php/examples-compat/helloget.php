<?php

function foo($event, $context) {
  return "hello world";
}
