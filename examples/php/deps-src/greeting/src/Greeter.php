<?php

namespace KubelessGreeting;

// Greeting used by the Kubeless dependency examples.
final class Greeter
{
    public const VERSION = '1.0.0';

    public static function greet(string $name = 'world'): string
    {
        return "hello $name from kubeless-greeting " . self::VERSION;
    }
}
