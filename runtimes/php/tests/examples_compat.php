<?php
/*
 * The original Kubeless PHP examples (runtimes/php/examples-compat) run
 * unchanged. Included by run.php. hellowithdeps needs monolog/monolog from
 * composer: a stand-in package of that name is installed from a composer path
 * repository, with the default package repository off and no network.
 */

declare(strict_types=1);

const MONOLOG_STAND_IN = [
    'composer.json' => '{"name": "monolog/monolog", "version": "1.23.0", "description": "Kubeless test stand-in", '
        . '"license": "Apache-2.0", "autoload": {"psr-4": {"Monolog\\\\": "src/"}}}',
    'src/Logger.php' => <<<'PHP'
        <?php
        namespace Monolog;

        // Test stand-in: the part of Monolog's Logger the example uses.
        class Logger
        {
            const WARNING = 300;
            const ERROR = 400;
            private $handlers = [];

            public function __construct(private string $name) {}

            public function pushHandler($handler) { array_unshift($this->handlers, $handler); return $this; }

            public function warning($message) { $this->log(self::WARNING, 'WARNING', $message); }

            public function error($message) { $this->log(self::ERROR, 'ERROR', $message); }

            private function log(int $level, string $levelName, string $message)
            {
                foreach ($this->handlers as $handler) {
                    $handler->handle($level, sprintf("[%s] %s.%s: %s [] []\n", date('Y-m-d H:i:s'), $this->name, $levelName, $message));
                }
            }
        }
        PHP,
    'src/Handler/StreamHandler.php' => <<<'PHP'
        <?php
        namespace Monolog\Handler;

        class StreamHandler
        {
            public function __construct(private string $stream, private int $level) {}

            public function handle(int $level, string $line)
            {
                if ($level >= $this->level) {
                    file_put_contents($this->stream, $line, FILE_APPEND);
                }
            }
        }
        PHP,
];

$tests['examples: helloget'] = function () {
    $f = ready(volume: EXAMPLES, mod: 'helloget', handler: 'foo')->call();
    same([200, 'hello world'], [$f->status(), $f->body()]);
};

$tests['examples: hellowithdata'] = function () {
    $f = ready(volume: EXAMPLES, mod: 'hellowithdata', handler: 'foo')->call(1, '{"it-s": "alive"}', true, 'POST');
    same('{"it-s":"alive"}', $f->body());
};

$tests['examples: hellowithdeps with composer packages'] = function () {
    $dir = volume([]);
    $pkg = "$dir/monolog-stand-in";
    foreach (MONOLOG_STAND_IN as $name => $text) {
        @mkdir(dirname("$pkg/$name"), 0777, true);
        file_put_contents("$pkg/$name", $text);
    }
    $fn = "$dir/function";
    mkdir($fn);
    foreach (['hellowithdeps.php', 'composer.json'] as $name) {
        copy(EXAMPLES . "/$name", "$fn/$name");
    }
    $repo = json_encode(['type' => 'path', 'url' => $pkg, 'options' => ['symlink' => false]]);
    $env = 'COMPOSER_HOME=' . escapeshellarg("$dir/composer-home") . ' COMPOSER_DISABLE_NETWORK=1';
    foreach ([
        'config repositories.local ' . escapeshellarg($repo),
        'config repositories.packagist false',
        'install --no-interaction --no-progress',
    ] as $args) {
        exec("cd " . escapeshellarg($fn) . " && $env composer $args 2>&1", $out, $code);
        check($code === 0, "composer $args failed: " . implode("\n", $out));
    }
    $w = ready(volume: $fn, mod: 'hellowithdeps', handler: 'foo');
    same('hello world', $w->call()->body());
    contains('name.WARNING: Hello', $w->stdout());
    contains('name.ERROR: World', $w->stdout());
};
