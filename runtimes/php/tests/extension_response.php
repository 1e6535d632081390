<?php
/*
 * $event->extensions->response, the PSR-7-like response of the original
 * runtime. Included by run.php.
 */

declare(strict_types=1);

$tests['examples: helloresponse sets status and headers through the response'] = function () {
    $w = ready(volume: EXAMPLES, mod: 'helloresponse', handler: 'foo');
    $f = $w->call(1, query: 'name=ann');
    same([201, '/greetings/ann', 'hello ann', 'text/plain; charset=utf-8'],
        [$f->status(), $f->header('Location'), $f->body(), $f->header('Content-Type')]);
    $f = $w->call(2);
    same([400, 'missing name', "name is required\n"], [$f->status(), $f->header('X-Reason'), $f->body()]);
    $f = $w->call(3, query: 'name=bob');
    same([201, 'hello bob'], [$f->status(), $f->body()], 'each invocation gets a new response');
};

/** A worker running $code as fn.php, function handler. */
function responseWorker(string $code): Worker
{
    return ready(volume: volume(['fn.php' => "<?php\n" . $code]), mod: 'fn', handler: 'handler');
}

$tests['extension response: PSR-7 copies, headers, body stream'] = function () {
    $w = responseWorker(<<<'PHP'
        function handler($event, $context) {
            $r = $event->extensions->response;
            $a = $r->withHeader('X-A', 'one');
            $b = $a->withAddedHeader('x-a', ['two', 'three'])->withHeader('Content-Type', 'text/csv');
            $b->getBody()->write('a,b');
            // withHeader returns a copy; copies share the body.
            $checks = json_encode([$r->hasHeader('X-A'), $b->getHeaderLine('X-A'), (string) $r->getBody()]);
            $b->withoutHeader('Nope')->withStatus(202, 'Taken')->withHeader('X-Checks', $checks);
            return "\n1,2";
        }
        PHP);
    $f = $w->call();
    same([202, 'text/csv', "a,b\n1,2"], [$f->status(), $f->header('Content-Type'), $f->body()]);
    same([['X-A', 'one'], ['X-A', 'two'], ['X-A', 'three'], ['Content-Type', 'text/csv'],
        ['X-Checks', '[false,"one, two, three","a,b"]']], $f->head()['headers']);
};

$tests['extension response: untouched, a plain return is unchanged'] = function () {
    $w = responseWorker('function handler($event, $context) { return ["a" => 1]; }');
    $f = $w->call();
    same([200, 'application/json', '{"a":1}'], [$f->status(), $f->header('Content-Type'), $f->body()]);
};

$tests['extension response: bad status and header are errors'] = function () {
    $w = responseWorker(<<<'PHP'
        function handler($event, $context) {
            $r = $event->extensions->response;
            return $event->data === 'status' ? $r->withStatus(99) : $r->withHeader('Bad Name', 'x');
        }
        PHP);
    same(['X', 'InvalidArgumentException: invalid status 99 (want 100-599)'], [($f = $w->call(1, 'status', false, 'POST'))->type, $f->payload]);
    same(['X', 'InvalidArgumentException: invalid header name "Bad Name"'], [($f = $w->call(2, 'header', false, 'POST'))->type, $f->payload]);
};
