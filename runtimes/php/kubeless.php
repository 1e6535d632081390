<?php
/*
 * Kubeless PHP runtime: a worker of the Go host (kubeless-host).
 *
 * The host starts this file through FUNC_PROCESS with fd 3 carrying frames from
 * the host and fd 4 carrying frames back (docs/worker-protocol.md, frames mode).
 * The worker chdirs to $KUBELESS_INSTALL_VOLUME, includes $MOD_NAME.php once,
 * answers R (ready) or F (fatal), then runs one invocation per I frame and
 * answers S (response) or X (error). PHP has no threads: a worker runs one
 * invocation at a time and the host runs several workers. The host owns HTTP,
 * timeouts, metrics, logs, CORS and drain. PHP core and the json extension
 * only, so a function's composer packages never clash with the runtime's.
 */

namespace Kubeless;

/**
 * The one way for a function to set the status code and headers:
 *
 *     return new \Kubeless\Response('created', 201, ['X-Conformance' => 'yes']);
 *
 * $body is typed like a plain return value (string: text, array/object/number/
 * bool: JSON, null: empty). A header value is a string or a list of strings.
 */
final class Response
{
    public function __construct(
        public mixed $body = null,
        public int $status = 200,
        public array $headers = [],
    ) {
    }
}

/**
 * $event->extensions->request: the HTTP request behind an invocation.
 * Public properties method, path, query (raw, no "?"), headers (canonical name
 * => value, repeated headers joined with ", "), body (raw string) and remote;
 * the reading methods keep PSR-7's names.
 */
final class Request
{
    public string $method;
    public string $path;
    public string $query;
    /** @var array<string, string> */
    public array $headers = [];
    public string $body;
    public string $remote;

    public function __construct(array $head, string $body)
    {
        $this->method = $head['method'] ?? 'GET';
        $this->path = $head['path'] ?? '/';
        $this->query = $head['query'] ?? '';
        $this->remote = $head['remote'] ?? '';
        $this->body = $body;
        foreach ($head['headers'] ?? [] as [$name, $value]) {
            $this->headers[$name] = isset($this->headers[$name]) ? $this->headers[$name] . ', ' . $value : $value;
        }
    }

    public function getMethod(): string
    {
        return $this->method;
    }

    /** A header's value by name, case-insensitively; '' when absent. */
    public function getHeaderLine(string $name): string
    {
        if (isset($this->headers[$name])) {
            return $this->headers[$name];
        }
        foreach ($this->headers as $key => $value) {
            if (strcasecmp($key, $name) === 0) {
                return $value;
            }
        }
        return '';
    }

    /** @return list<string> */
    public function getHeader(string $name): array
    {
        $line = $this->getHeaderLine($name);
        return $line === '' ? [] : array_map('trim', explode(',', $line));
    }

    public function hasHeader(string $name): bool
    {
        return $this->getHeaderLine($name) !== '';
    }

    /** @return array<string, list<string>> */
    public function getHeaders(): array
    {
        return array_map(fn ($line) => array_map('trim', explode(',', $line)), $this->headers);
    }

    /** The query string decoded with parse_str. */
    public function getQueryParams(): array
    {
        parse_str($this->query, $params);
        return $params;
    }
}

/**
 * The body of an ExtensionResponse: a PSR-7-like writable stream in memory.
 */
final class BodyStream
{
    private string $data = '';
    private int $pos = 0;

    public function __toString(): string
    {
        return $this->data;
    }

    public function write(string $string): int
    {
        $this->data = substr($this->data, 0, $this->pos) . $string . substr($this->data, $this->pos + strlen($string));
        $this->pos += strlen($string);
        return strlen($string);
    }

    public function read(int $length): string
    {
        $out = substr($this->data, $this->pos, max(0, $length));
        $this->pos += strlen($out);
        return $out;
    }

    public function getContents(): string
    {
        return $this->read(strlen($this->data));
    }

    public function getSize(): ?int
    {
        return strlen($this->data);
    }

    public function tell(): int
    {
        return $this->pos;
    }

    public function eof(): bool
    {
        return $this->pos >= strlen($this->data);
    }

    public function rewind(): void
    {
        $this->pos = 0;
    }

    public function seek(int $offset, int $whence = SEEK_SET): void
    {
        $pos = match ($whence) {
            SEEK_CUR => $this->pos + $offset,
            SEEK_END => strlen($this->data) + $offset,
            default => $offset,
        };
        if ($pos < 0) {
            throw new \RuntimeException("cannot seek to position $pos");
        }
        $this->pos = $pos;
    }

    public function isSeekable(): bool
    {
        return true;
    }

    public function isWritable(): bool
    {
        return true;
    }

    public function isReadable(): bool
    {
        return true;
    }

    public function close(): void
    {
    }

    public function detach()
    {
        return null;
    }

    public function getMetadata(?string $key = null): mixed
    {
        return $key === null ? [] : null;
    }
}

/**
 * $event->extensions->response (compat: the original runtime gave functions
 * its Slim PSR-7 response). The with*() methods return a changed copy, as in
 * PSR-7, and every copy shares the body stream. The runtime sends the status
 * and headers of the copy made last, so both
 *
 *     return $event->extensions->response->withStatus(201)->withHeader('X-Id', '7');
 *
 * and changing it without returning it work; a returned value is appended to
 * what the function wrote into getBody().
 */
final class ExtensionResponse
{
    private int $status = 200;
    private string $reason = '';
    private string $protocol = '1.1';
    /** @var array<string, array{0: string, 1: list<string>}> lower-case name => [name, values] */
    private array $headers = [];
    private object $body;
    private \stdClass $track;

    public function __construct()
    {
        $this->body = new BodyStream();
        $this->track = new \stdClass();
        $this->track->latest = $this;
    }

    private function derive(): self
    {
        $copy = clone $this;
        $this->track->latest = $copy;
        return $copy;
    }

    /** The copy the function made last (the runtime sends it). */
    public function latest(): self
    {
        return $this->track->latest;
    }

    public function getStatusCode(): int
    {
        return $this->status;
    }

    public function getReasonPhrase(): string
    {
        return $this->reason;
    }

    public function withStatus(int $code, string $reasonPhrase = ''): self
    {
        if ($code < 100 || $code > 599) {
            throw new \InvalidArgumentException("invalid status $code (want 100-599)");
        }
        $copy = $this->derive();
        $copy->status = $code;
        $copy->reason = $reasonPhrase;
        return $copy;
    }

    public function getProtocolVersion(): string
    {
        return $this->protocol;
    }

    public function withProtocolVersion(string $version): self
    {
        $copy = $this->derive();
        $copy->protocol = $version;
        return $copy;
    }

    /** @return array<string, list<string>> */
    public function getHeaders(): array
    {
        $out = [];
        foreach ($this->headers as [$name, $values]) {
            $out[$name] = $values;
        }
        return $out;
    }

    public function hasHeader(string $name): bool
    {
        return isset($this->headers[strtolower($name)]);
    }

    /** @return list<string> */
    public function getHeader(string $name): array
    {
        return $this->headers[strtolower($name)][1] ?? [];
    }

    public function getHeaderLine(string $name): string
    {
        return implode(', ', $this->getHeader($name));
    }

    /** @param string|list<string> $value */
    public function withHeader(string $name, $value): self
    {
        $copy = $this->derive();
        $copy->headers[strtolower($name)] = [$name, self::values($name, $value)];
        return $copy;
    }

    /** @param string|list<string> $value */
    public function withAddedHeader(string $name, $value): self
    {
        $copy = $this->derive();
        $key = strtolower($name);
        $old = $copy->headers[$key] ?? [$name, []];
        $copy->headers[$key] = [$old[0], array_merge($old[1], self::values($name, $value))];
        return $copy;
    }

    public function withoutHeader(string $name): self
    {
        $copy = $this->derive();
        unset($copy->headers[strtolower($name)]);
        return $copy;
    }

    public function getBody(): object
    {
        return $this->body;
    }

    public function withBody(object $body): self
    {
        if (!method_exists($body, '__toString')) {
            throw new \InvalidArgumentException('withBody: the body must be a stream (an object with __toString)');
        }
        $copy = $this->derive();
        $copy->body = $body;
        return $copy;
    }

    /** @return list<string> */
    private static function values(string $name, $value): array
    {
        if (!preg_match('/^[!#$%&\'*+.^_`|~0-9A-Za-z-]+$/', $name)) {
            throw new \InvalidArgumentException("invalid header name \"$name\"");
        }
        $values = [];
        foreach (is_array($value) ? $value : [$value] as $v) {
            $v = (string) $v;
            if (preg_match("/[\r\n\0]/", $v)) {
                throw new \InvalidArgumentException("header $name: the value must not contain CR, LF or NUL");
            }
            $values[] = $v;
        }
        return $values;
    }

    /** True when the function changed anything. */
    public function changed(): bool
    {
        return $this->status !== 200 || $this->headers !== [] || (string) $this->body !== '';
    }
}

/** Raised by the runtime when the function cannot be loaded (F frame). */
final class LoadFailure extends \RuntimeException
{
}

/** The frame channel: fd 3 in, fd 4 out. */
final class Channel
{
    /** @param resource $in @param resource $out */
    public function __construct(private $in, private $out)
    {
    }

    /** @return array{0: string, 1: int, 2: string}|null [type, id, payload], null at end of file */
    public function read(): ?array
    {
        $header = $this->readExactly(9);
        if ($header === null) {
            return null;
        }
        $f = unpack('a1t/Nid/Nlen', $header);
        $payload = $f['len'] === 0 ? '' : $this->readExactly($f['len']);
        return $payload === null ? null : [$f['t'], $f['id'], $payload];
    }

    private function readExactly(int $n): ?string
    {
        $buf = fread($this->in, $n);
        if ($buf === false) {
            return null;
        }
        while (strlen($buf) < $n) {
            $chunk = fread($this->in, $n - strlen($buf));
            if ($chunk === false || $chunk === '') {
                return null;
            }
            $buf .= $chunk;
        }
        return $buf;
    }

    public function write(string $type, int $id, string $payload = ''): void
    {
        $frame = pack('a1NN', $type, $id, strlen($payload)) . $payload;
        $len = strlen($frame);
        for ($done = 0; $done < $len; $done += $n) {
            $n = fwrite($this->out, $done === 0 ? $frame : substr($frame, $done));
            if ($n === false || $n === 0) {
                throw new \RuntimeException('the host closed fd 4');
            }
        }
    }

    /** A payload of hlen + head JSON + body (I and S frames). */
    public function writeWithHead(string $type, int $id, string $head, string $body): void
    {
        $this->write($type, $id, pack('N', strlen($head)) . $head . $body);
    }
}

final class Runtime
{
    public const TEXT = 'text/plain; charset=utf-8';
    public const BINARY = 'application/octet-stream';
    public const JSON = 'application/json';
    private const JSON_FLAGS = JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_PRESERVE_ZERO_FRACTION
        | JSON_THROW_ON_ERROR;

    public static string $path = '';
    public static mixed $returned = null;
    private static string $label = '';
    private static string $modName = '';
    private static string $handler = '';
    private static Channel $channel;
    /** @var callable */
    private static $function;
    private static \stdClass $context;
    /** @var list<string> */
    private static array $functionsBefore = [];
    /** 'loading', 'serving' or the id of the running invocation */
    private static int|string $state = 'loading';
    /** @var array<string, string> */
    private static array $heads = [];
    private static int $obLevel = 0;

    /** Opens the channel and checks the environment; the caller includes self::$path. */
    public static function prepare(): void
    {
        ini_set('display_errors', '0');
        ini_set('log_errors', '1'); // to stderr, one line each: "PHP Warning:  ..."
        ini_set('html_errors', '0');
        error_reporting(E_ALL);

        $in = @fopen('php://fd/3', 'rb');
        $out = @fopen('php://fd/4', 'wb');
        if ($in === false || $out === false) {
            fwrite(STDERR, "kubeless.php is a worker of kubeless-host: run it through the host "
                . "(FUNC_PROCESS=\"php kubeless.php\"), which opens fds 3 and 4\n");
            exit(2);
        }
        self::$channel = new Channel($in, $out);
        register_shutdown_function([self::class, 'shutdown']);
        self::dieWithParent();

        $volume = self::env('KUBELESS_INSTALL_VOLUME') ?: (self::env('MOD_ROOT_PATH') ?: '/kubeless');
        $volume = rtrim($volume, '/') ?: '/';
        self::$modName = self::env('MOD_NAME');
        self::$handler = self::env('FUNC_HANDLER');
        self::$label = self::$modName . '.' . self::$handler;
        self::$path = $volume . '/' . self::$modName . '.php';
        self::$context = (object) [
            'function-name' => self::$handler,
            'timeout' => self::env('FUNC_TIMEOUT') ?: '180',
            'runtime' => self::env('FUNC_RUNTIME'),
            'memory-limit' => self::env('FUNC_MEMORY_LIMIT'),
        ];
        foreach ([self::TEXT, self::BINARY, self::JSON] as $type) {
            self::$heads[$type] = json_encode(['status' => 200, 'headers' => [['Content-Type', $type]]],
                JSON_UNESCAPED_SLASHES);
        }

        try {
            if (self::$modName === '') {
                self::fail('MOD_NAME is empty');
            }
            if (self::$handler === '') {
                self::fail('FUNC_HANDLER is empty');
            }
            // A handler may sit in a sub-folder (MOD_NAME=src/hello), never outside the volume.
            $parts = explode('/', self::$modName);
            if (self::$modName[0] === '/' || array_intersect($parts, ['', '.', '..']) !== []) {
                self::fail('MOD_NAME=' . self::$modName . " must be a path inside $volume"
                    . ' (no leading "/", no empty, "." or ".." parts), for example MOD_NAME=src/hello');
            }
            if (!is_file(self::$path)) {
                self::fail(self::$path . ' cannot be found (MOD_NAME=' . self::$modName
                    . ", KUBELESS_INSTALL_VOLUME=$volume)");
            }
            if (!@chdir($volume)) {
                self::fail("cannot chdir to $volume");
            }
        } catch (LoadFailure $e) {
            self::fatal($e->getMessage());
        }
        self::$functionsBefore = get_defined_functions()['user'];
    }

    /**
     * A worker ends when fd 3 ends, but a worker busy in a function does not
     * read fd 3: if the host dies then, the worker would run on, orphaned. So
     * the kernel is asked to kill the worker with its parent (the host, or the
     * shell the host started it with, which the host's death kills). Needs the
     * FFI extension (enabled for the CLI by default); without it, best effort.
     */
    private static function dieWithParent(): void
    {
        if (PHP_OS_FAMILY !== 'Linux' || !extension_loaded('ffi')) {
            return;
        }
        try {
            \FFI::cdef('int prctl(int option, unsigned long arg2, unsigned long arg3, unsigned long arg4, '
                . 'unsigned long arg5);')->prctl(1 /* PR_SET_PDEATHSIG */, 9 /* SIGKILL */, 0, 0, 0);
        } catch (\Throwable) {
            // FFI disabled by ffi.enable, or no prctl: best effort
        }
    }

    /** The include threw: a parse error or an exception at the file's top level. */
    public static function loadThrew(\Throwable $e): never
    {
        $where = $e->getFile() === self::$path ? self::$path . ':' . $e->getLine()
            : self::$path . ' (' . $e->getFile() . ':' . $e->getLine() . ')';
        $class = $e instanceof \ParseError ? 'PHP Parse error' : get_class($e);
        $message = self::firstLine($e->getMessage());
        if (str_contains($message, 'vendor/autoload.php')) {
            $message .= ' (are the dependencies of composer.json installed? composer install -d '
                . dirname(self::$path) . ')';
        }
        self::fatal(self::cannot("$where: $class: $message"));
    }

    /** Finds the handler, sends R and serves until fd 3 ends. */
    public static function serve(): int
    {
        try {
            self::$function = self::resolve();
        } catch (LoadFailure $e) {
            self::fatal($e->getMessage());
        }
        $concurrency = (int) (self::env('KUBELESS_WORKER_CONCURRENCY') ?: '1');
        if ($concurrency > 1) {
            fwrite(STDERR, "kubeless: a PHP worker runs one invocation at a time; "
                . "KUBELESS_WORKER_CONCURRENCY=$concurrency only queues them: set it to 1 and raise KUBELESS_WORKERS\n");
        }
        self::$obLevel = ob_get_level();
        self::$state = 'serving';
        self::$channel->write('R', 0, json_encode(['runtime' => 'php ' . PHP_VERSION]));
        while (($frame = self::$channel->read()) !== null) {
            if ($frame[0] === 'I') {
                self::invoke($frame[1], $frame[2]);
            }
            // C: an invocation of this worker can only be cancelled once it is
            // over (the host then replaces the worker); nothing to do.
        }
        self::$state = 'done';
        return 0;
    }

    /** @return callable */
    private static function resolve()
    {
        $name = self::$handler;
        $new = array_values(array_diff(get_defined_functions()['user'], self::$functionsBefore));
        if (function_exists($name) && (new \ReflectionFunction($name))->isUserDefined()) {
            return $name;
        }
        $found = $new;
        $ret = self::$returned;
        if (is_array($ret)) {
            if (isset($ret[$name]) && is_callable($ret[$name])) {
                return $ret[$name];
            }
            $found = array_merge($found, array_keys(array_filter($ret, 'is_callable')));
        } elseif (is_object($ret) && !$ret instanceof \Closure) {
            if (method_exists($ret, $name) && is_callable([$ret, $name])) {
                return [$ret, $name];
            }
            $found = array_merge($found, get_class_methods($ret));
        }
        // A function of the file declared in a namespace: App\foo for "foo".
        $suffix = '\\' . strtolower($name);
        $namespaced = array_values(array_filter($new, fn ($f) => str_ends_with($f, $suffix)));
        if (count($namespaced) === 1) {
            return $namespaced[0];
        }
        if (str_contains($name, '::') && is_callable($name)) {
            return $name;
        }
        sort($found);
        self::fail(sprintf('module "%s" (%s) has no function "%s"; found: %s', self::$modName, self::$path,
            $name, $found === [] ? '(none)' : implode(', ', $found)));
    }

    private static function invoke(int $id, string $payload): void
    {
        self::$state = $id;
        try {
            $event = self::event($payload);
            $response = $event->extensions->response;
            $value = (self::$function)($event, clone self::$context);
            self::endOutputBuffers();
            $latest = $response->latest();
            if (!($value instanceof Response || $value instanceof ExtensionResponse
                || $value instanceof \Psr\Http\Message\ResponseInterface) && $latest->changed()) {
                $value = self::withExtension($latest, $value);
            }
            self::reply($id, $value);
        } catch (\Throwable $e) {
            self::endOutputBuffers();
            fwrite(STDERR, 'kubeless: function ' . self::$label . " failed (invocation $id): $e\n");
            self::$channel->write('X', $id, self::errorLine($e));
        } finally {
            self::$state = 'serving';
        }
    }

    /** Output buffers a function left open are flushed to stdout, not kept for the next invocation. */
    private static function endOutputBuffers(): void
    {
        while (ob_get_level() > self::$obLevel) {
            ob_end_flush();
        }
    }

    private static function event(string $payload): \stdClass
    {
        $hlen = unpack('N', $payload)[1];
        $head = json_decode(substr($payload, 4, $hlen), true, 512, JSON_THROW_ON_ERROR);
        $body = (string) substr($payload, 4 + $hlen);
        $meta = $head['event'] ?? [];
        $event = new \stdClass();
        $event->data = empty($head['json']) ? $body : json_decode($body, false, 512, JSON_THROW_ON_ERROR);
        $event->{'event-id'} = $meta['event-id'] ?? '';
        $event->{'event-type'} = $meta['event-type'] ?? '';
        $event->{'event-time'} = $meta['event-time'] ?? '';
        $event->{'event-namespace'} = $meta['event-namespace'] ?? '';
        $event->extensions = new \stdClass();
        $event->extensions->request = new Request($head, $body);
        $event->extensions->response = new ExtensionResponse();
        return $event;
    }

    /** The function's return value after what it wrote into $event->extensions->response. */
    private static function withExtension(ExtensionResponse $r, mixed $value): Response
    {
        $written = (string) $r->getBody();
        [$body, $type] = self::typed($value);
        $headers = $r->getHeaders();
        if (!$r->hasHeader('Content-Type')) {
            [, $type] = self::typed($written . $body);
            if ($written === '' && $value === null) {
                $type = null;
            }
            if ($type !== null) {
                $headers['Content-Type'] = [$type];
            }
        }
        return new Response($written . $body, $r->getStatusCode(), $headers);
    }

    private static function reply(int $id, mixed $value): void
    {
        if ($value instanceof Response) {
            [$status, $headers, $body] = [$value->status, self::pairs($value->headers), $value->body];
        } elseif ($value instanceof ExtensionResponse) {
            [$status, $headers, $body] = [$value->getStatusCode(), self::pairs($value->getHeaders()),
                (string) $value->getBody()];
        } elseif ($value instanceof \Psr\Http\Message\ResponseInterface) {
            [$status, $headers, $body] = [$value->getStatusCode(), self::pairs($value->getHeaders()),
                (string) $value->getBody()];
        } else {
            [$body, $type] = self::typed($value);
            $head = $type === null ? '{"status":200,"headers":[]}' : self::$heads[$type];
            self::$channel->writeWithHead('S', $id, $head, $body);
            return;
        }
        if ($status < 100 || $status > 599) {
            throw new \ValueError("invalid status $status (want 100-599)");
        }
        [$body, $type] = self::typed($body);
        $hasType = false;
        foreach ($headers as [$name]) {
            $hasType = $hasType || strcasecmp($name, 'Content-Type') === 0;
        }
        if ($type !== null && !$hasType) {
            $headers[] = ['Content-Type', $type];
        }
        $head = json_encode(['status' => $status, 'headers' => $headers],
            JSON_UNESCAPED_SLASHES | JSON_INVALID_UTF8_SUBSTITUTE | JSON_THROW_ON_ERROR);
        self::$channel->writeWithHead('S', $id, $head, $body);
    }

    /**
     * The body and default Content-Type of a value (docs/runtime-contract.md §3.1): a
     * string is text when it is valid UTF-8, else bytes; null is empty; any
     * other value is JSON.
     * @return array{0: string, 1: ?string}
     */
    public static function typed(mixed $value): array
    {
        if (is_string($value)) {
            return [$value, preg_match('//u', $value) === 1 ? self::TEXT : self::BINARY];
        }
        if ($value === null) {
            return ['', null];
        }
        return [json_encode($value, self::JSON_FLAGS), self::JSON];
    }

    /** @return list<array{0: string, 1: string}> */
    public static function pairs(array $headers): array
    {
        $pairs = [];
        foreach ($headers as $name => $value) {
            foreach (is_array($value) ? $value : [$value] as $v) {
                $pairs[] = [(string) $name, (string) $v];
            }
        }
        return $pairs;
    }

    /** "<Class>: <first line of message>", for X frames. */
    public static function errorLine(\Throwable $e): string
    {
        $message = self::firstLine($e->getMessage());
        $line = $message === '' ? get_class($e) : get_class($e) . ': ' . $message;
        return strlen($line) > 1000 ? substr($line, 0, 997) . '...' : $line;
    }

    /**
     * Runs when the process ends. Ending while loading (a fatal error, exit in
     * the file) is an F frame; ending during an invocation (a fatal error such
     * as exhausted memory, or exit) answers that invocation with X.
     */
    public static function shutdown(): void
    {
        $state = self::$state;
        if ($state === 'serving' || $state === 'done') {
            return;
        }
        $err = error_get_last();
        $fatal = $err !== null && ($err['type'] & (E_ERROR | E_PARSE | E_CORE_ERROR | E_COMPILE_ERROR
            | E_USER_ERROR | E_RECOVERABLE_ERROR)) !== 0;
        try {
            if ($state === 'loading') {
                $cause = $fatal ? $err['file'] . ':' . $err['line'] . ': PHP Fatal error: ' . self::firstLine($err['message'])
                    : self::$path . ': the file called exit while loading';
                self::$channel->write('F', 0, self::cannot($cause));
                exit(1);
            }
            self::$channel->write('X', (int) $state, $fatal ? 'PHP Fatal error: ' . self::firstLine($err['message'])
                : 'exit: the function ended the worker');
        } catch (\Throwable) {
            // the host is gone
        }
    }

    private static function fail(string $cause): never
    {
        throw new LoadFailure(self::cannot($cause));
    }

    private static function cannot(string $cause): string
    {
        return 'cannot load function "' . self::$label . '": ' . $cause;
    }

    private static function fatal(string $message): never
    {
        self::$state = 'done';
        self::$channel->write('F', 0, $message);
        exit(1);
    }

    private static function firstLine(string $text): string
    {
        return trim(strtok($text, "\n") ?: '');
    }

    private static function env(string $name): string
    {
        $value = getenv($name);
        return $value === false ? '' : $value;
    }
}

// The function file is included at the top level, so its top-level variables
// are globals (`global $db;` in the function sees them).
Runtime::prepare();
try {
    Runtime::$returned = include Runtime::$path;
} catch (\Throwable $e) {
    Runtime::loadThrew($e);
}
exit(Runtime::serve());
