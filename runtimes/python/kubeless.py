"""Kubeless Python runtime: the language worker behind the Go host.

The Go host (kubeless-host) owns HTTP, /healthz, /metrics, the request log, the
time limit, the concurrency limit, drain and CORS. This worker loads one user
function and runs invocations that arrive as frames on file descriptor 3,
answering with frames on file descriptor 4 (docs/worker-protocol.md). It uses
only the standard library, so a function's dependencies never clash with the
runtime's.

User code imports this module as ``kubeless`` (the running worker registers
itself under that name) to set the status and headers of a response::

    import kubeless

    def handler(event, context):
        return kubeless.Response('created', status=201, headers={'X-Id': '7'})

See README.md next to this file for the whole function API.
"""

import json
import os
import struct
import sys
import threading

if __name__ == '__main__':
    # `import kubeless` in user code must give this very module (one Response
    # class), not a second copy of this file.
    sys.modules['kubeless'] = sys.modules['__main__']

__all__ = ['Response', 'Request', 'Headers', 'FormsDict', 'FileUpload', 'Body']

# ---------------------------------------------------------------------------
# Frames (docs/worker-protocol.md)

_FRAME = struct.Struct('>BII')  # type, invocation id, payload length
_U32 = struct.Struct('>I')
_I, _C = ord('I'), ord('C')
_R, _F, _S, _D, _E, _X = (ord(c) for c in 'RFSDEX')
# Bodies at least this large are written with writev instead of being joined
# to their frame header first (one copy fewer).
_WRITEV_MIN = 1 << 16

# The host's heads are compact UTF-8 JSON objects: scan them with the C
# scanner directly (json.loads adds encoding detection and whitespace checks).
_scan_json = json.decoder.JSONDecoder().scan_once

_TEXT = 'text/plain; charset=utf-8'
_OCTET = 'application/octet-stream'
_JSON = 'application/json'


def _head_prefix(ctype):
    """The constant start of an S payload (head length + head) for status 200."""
    head = {'status': 200, 'headers': [['Content-Type', ctype]] if ctype else []}
    raw = json.dumps(head, separators=(',', ':')).encode()
    return _U32.pack(len(raw)) + raw


_PRE_TEXT = _head_prefix(_TEXT)
_PRE_OCTET = _head_prefix(_OCTET)
_PRE_JSON = _head_prefix(_JSON)
_PRE_EMPTY = _head_prefix(None)

# ---------------------------------------------------------------------------
# The function API: Response


def _is_token(name):
    if not name:
        return False
    for ch in name:
        if ch <= ' ' or ch >= '\x7f' or ch in '"(),/:;<=>?@[\\]{}':
            return False
    return True


def _header_pairs(headers):
    """Validate headers (a mapping, or pairs) into a list of [name, value]."""
    if headers is None:
        return []
    items = headers.items() if hasattr(headers, 'items') else headers
    out = []
    for item in items:
        try:
            name, value = item
        except (TypeError, ValueError):
            raise TypeError('headers must be a dict or a list of (name, value) pairs, got item %r' % (item,))
        if not isinstance(name, str) or not _is_token(name):
            raise ValueError('invalid header name %r' % (name,))
        values = value if isinstance(value, (list, tuple)) else (value,)
        for v in values:
            if isinstance(v, bytes):
                v = v.decode('latin-1')
            elif not isinstance(v, str):
                v = str(v)
            if '\r' in v or '\n' in v or '\0' in v:
                raise ValueError('invalid value for header %r: it contains a line break or NUL' % (name,))
            out.append([name, v])
    return out


class Response(object):
    """The one way for a function to set the status code and headers.

    Return ``kubeless.Response(body, status=201, headers={...})``. ``body`` is
    typed like a plain return value: str is sent as UTF-8 text, bytes as they
    are, dict/list/number/bool as JSON, None as an empty body, and a generator
    (or other iterator) of str or bytes chunks is streamed. A Content-Type in
    ``headers`` replaces the one derived from the body. ``headers`` is a dict
    (a list value repeats the header) or a list of (name, value) pairs.
    """

    __slots__ = ('body', 'status', 'headers')

    def __init__(self, body=None, status=200, headers=None):
        if isinstance(status, bool) or not isinstance(status, int):
            raise TypeError('status must be an int such as 201, got %r' % (status,))
        if not 100 <= status <= 599:
            raise ValueError('status must be between 100 and 599, got %d' % status)
        self.body = body
        self.status = status
        self.headers = _header_pairs(headers)

    def __repr__(self):
        return 'Response(%r, status=%d, headers=%r)' % (self.body, self.status, self.headers)


# ---------------------------------------------------------------------------
# The function API: event['extensions']['request']


class Headers(object):
    """Request headers: a read-only, case-insensitive mapping.

    ``headers['content-type']`` and ``headers.get(name, default)`` give the
    value (several values of one header joined with ", "); ``getall(name)``
    gives every value; ``items()`` the (name, value) pairs as received.
    """

    __slots__ = ('_pairs', '_index')

    def __init__(self, pairs):
        self._pairs = pairs
        self._index = None

    def _idx(self):
        index = self._index
        if index is None:
            index = {}
            for name, value in self._pairs:
                key = name.lower()
                entry = index.get(key)
                if entry is None:
                    index[key] = [name, value]
                else:
                    entry.append(value)
            self._index = index
        return index

    def __getitem__(self, name):
        entry = self._idx().get(name.lower()) if isinstance(name, str) else None
        if entry is None:
            raise KeyError(name)
        return entry[1] if len(entry) == 2 else ', '.join(entry[1:])

    def get(self, name, default=None):
        try:
            return self[name]
        except KeyError:
            return default

    def getall(self, name):
        entry = self._idx().get(name.lower())
        return entry[1:] if entry else []

    def __contains__(self, name):
        return isinstance(name, str) and name.lower() in self._idx()

    def __iter__(self):
        return iter([entry[0] for entry in self._idx().values()])

    def __len__(self):
        return len(self._idx())

    def keys(self):
        return list(self)

    def values(self):
        return [self[name] for name in self]

    def items(self):
        return [(name, value) for name, value in self._pairs]

    def __eq__(self, other):
        return isinstance(other, Headers) and self._pairs == other._pairs

    def __repr__(self):
        return 'Headers(%r)' % (self.items(),)


class FormsDict(dict):
    """A dict of form or query fields holding each field's last value.

    As in Bottle (the original runtime's framework): ``getall(name)`` gives
    every value, ``get(name, default, index=-1, type=None)`` one of them, and
    attribute access (``request.query.greeting``) gives the value or ''.
    """

    __slots__ = ('_all',)

    def __init__(self, pairs=()):
        dict.__init__(self)
        self._all = {}
        for key, value in pairs:
            self.append(key, value)

    def append(self, key, value):
        self._all.setdefault(key, []).append(value)
        dict.__setitem__(self, key, value)

    def __setitem__(self, key, value):
        self._all[key] = [value]
        dict.__setitem__(self, key, value)

    def __delitem__(self, key):
        dict.__delitem__(self, key)
        del self._all[key]

    def get(self, key, default=None, index=-1, type=None):
        try:
            value = self._all[key][index]
            return type(value) if type else value
        except Exception:
            return default

    def getall(self, key):
        return list(self._all.get(key, ()))

    getlist = getall

    def getone(self, key, default=None):
        return self.get(key, default)

    def getunicode(self, key, default=None, encoding=None):
        return self.get(key, default)

    def decode(self, encoding=None):
        return self

    def allitems(self):
        return [(k, v) for k, vs in self._all.items() for v in vs]

    def __getattr__(self, name):
        if name.startswith('__'):
            raise AttributeError(name)
        return self.get(name, '')

    def __reduce__(self):
        return (FormsDict, (self.allitems(),))


class FileUpload(object):
    """One uploaded file of a multipart/form-data body (``request.files``)."""

    def __init__(self, data, name, raw_filename, headers):
        import io
        self.file = io.BytesIO(data)
        self.name = name
        self.raw_filename = raw_filename
        self.headers = headers
        self.content_type = headers.get('Content-Type', '')
        self.content_length = len(data)

    @property
    def filename(self):
        """The client's file name made safe for a file system: no folders,
        only ASCII letters, digits, '-', '_' and '.'."""
        import unicodedata
        name = self.raw_filename or ''
        name = unicodedata.normalize('NFKD', name).encode('ascii', 'ignore').decode('ascii')
        name = os.path.basename(name.replace('\\', '/'))
        name = ''.join(c if c.isalnum() or c in '-_.' else '-' for c in name.replace(' ', '-'))
        name = name.strip('.-')[:255]
        return name or 'empty'

    def save(self, destination, overwrite=False, chunk_size=1 << 16):
        """Write the file to ``destination``: a folder (the safe filename is
        added), a path, or a writable file object."""
        if isinstance(destination, (str, bytes, os.PathLike)):
            if os.path.isdir(destination):
                destination = os.path.join(destination, self.filename)
            if not overwrite and os.path.exists(destination):
                raise IOError('File exists.')
            with open(destination, 'wb') as fp:
                fp.write(self.file.getvalue())
        else:
            destination.write(self.file.getvalue())

    def __repr__(self):
        return '<FileUpload %s=%r (%d bytes)>' % (self.name, self.raw_filename, self.content_length)


class Body(bytes):
    """The raw request body: bytes that can also be read like a file
    (``request.body.read()``, as the original Bottle request allowed)."""

    def _pos(self):
        return self.__dict__.get('_p', 0)

    def read(self, size=-1):
        p = self._pos()
        end = len(self) if size is None or size < 0 else min(len(self), p + size)
        self._p = end
        return bytes(self[p:end])

    def readline(self, size=-1):
        p = self._pos()
        nl = self.find(b'\n', p)
        end = len(self) if nl < 0 else nl + 1
        if size is not None and size >= 0:
            end = min(end, p + size)
        self._p = end
        return bytes(self[p:end])

    def readlines(self):
        lines = []
        while True:
            line = self.readline()
            if not line:
                return lines
            lines.append(line)

    def seek(self, offset, whence=0):
        base = (0, self._pos(), len(self))[whence]
        self._p = max(0, base + offset)
        return self._p

    def tell(self):
        return self._pos()

    def getvalue(self):
        return bytes(self)


def _cached(fn):
    """A lazily computed, then cached, Request attribute."""
    name = fn.__name__

    def get(self):
        cache = self._cache
        try:
            return cache[name]
        except KeyError:
            value = cache[name] = fn(self)
            return value
    get.__doc__ = fn.__doc__
    return property(get)


def _parse_cookies(header):
    jar = FormsDict()
    for part in header.split(';'):
        name, sep, value = part.partition('=')
        name = name.strip()
        if sep and name:
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            jar.append(name, value)
    return jar


def _parse_form(content_type, body):
    """(forms, files) of an urlencoded or multipart/form-data body."""
    forms, files = FormsDict(), FormsDict()
    ctype = content_type.split(';', 1)[0].strip().lower()
    if ctype == 'application/x-www-form-urlencoded':
        from urllib.parse import parse_qsl
        for k, v in parse_qsl(body.decode('utf-8', 'replace'), keep_blank_values=True):
            forms.append(k, v)
    elif ctype == 'multipart/form-data' and body:
        import email.parser
        import email.policy
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b'Content-Type: ' + content_type.encode('latin-1') + b'\r\n\r\n' + body)
        if msg.is_multipart():
            for part in msg.iter_parts():
                name = part.get_param('name', header='content-disposition')
                if name is None:
                    continue
                data = part.get_payload(decode=True) or b''
                filename = part.get_filename()
                if filename is None:
                    charset = part.get_content_charset() or 'utf-8'
                    forms.append(name, data.decode(charset, 'replace'))
                else:
                    files.append(name, FileUpload(data, name, filename, part))
    return forms, files


class Request(object):
    """The HTTP request of one invocation: ``event['extensions']['request']``.

    method, path, query_string (raw, without '?'), query (FormsDict), headers
    (case-insensitive Headers), get_header(name, default=None), body (bytes
    that can also be .read()), json (the parsed body when it was declared JSON,
    else None), forms and files (urlencoded / multipart bodies), params (query
    and forms), cookies, get_cookie(name, default=None), content_type,
    content_length, remote_addr, url and environ (a WSGI-style dict).
    """

    def __init__(self, head, body, json_value=None):
        self._head = head
        self._raw = body
        self._json = json_value
        self._cache = {}

    method = property(lambda self: self._head.get('method', 'GET'), doc='The HTTP method, e.g. "GET".')
    path = property(lambda self: self._head.get('path') or '/', doc='The URL path, e.g. "/orders/7".')
    query_string = property(lambda self: self._head.get('query', ''), doc='The raw query string, without "?".')
    json = property(lambda self: self._json, doc='The parsed JSON body when it was declared JSON, else None.')

    @_cached
    def headers(self):
        """The request headers (case-insensitive)."""
        return Headers(self._head.get('headers') or [])

    def get_header(self, name, default=None):
        """The value of header ``name`` (any case), or ``default``."""
        return self.headers.get(name, default)

    @_cached
    def query(self):
        """The query parameters (FormsDict: last value per name; getall())."""
        qs = self.query_string
        if not qs:
            return FormsDict()
        from urllib.parse import parse_qsl
        return FormsDict(parse_qsl(qs, keep_blank_values=True))

    GET = query

    @_cached
    def body(self):
        """The raw body (bytes; also readable like a file)."""
        return Body(self._raw)

    @_cached
    def _form(self):
        return _parse_form(self.content_type, self._raw)

    forms = property(lambda self: self._form[0], doc='Fields of an urlencoded or multipart body.')
    files = property(lambda self: self._form[1], doc='FileUpload objects of a multipart body.')

    @_cached
    def POST(self):
        """Form fields and files together."""
        both = FormsDict(self.forms.allitems())
        for k, v in self.files.allitems():
            both.append(k, v)
        return both

    @_cached
    def params(self):
        """Query parameters and form fields together."""
        both = FormsDict(self.query.allitems())
        for k, v in self.forms.allitems():
            both.append(k, v)
        return both

    @_cached
    def cookies(self):
        """Cookies sent by the client (FormsDict)."""
        return _parse_cookies(', '.join(self.headers.getall('Cookie')).replace(', ', '; '))

    def get_cookie(self, name, default=None):
        return self.cookies.get(name, default)

    content_type = property(lambda self: self.headers.get('Content-Type', ''))
    content_length = property(lambda self: len(self._raw))

    @_cached
    def remote_route(self):
        """Client addresses: X-Forwarded-For entries, else the peer address."""
        fwd = self.headers.get('X-Forwarded-For')
        if fwd:
            return [ip.strip() for ip in fwd.split(',')]
        remote = self._head.get('remote') or ''
        host = remote.rsplit(':', 1)[0] if ':' in remote else remote
        return [host.strip('[]')] if host else []

    remote_addr = property(lambda self: (self.remote_route or [None])[0])

    @_cached
    def url(self):
        """The request URL as the client asked for it (best effort)."""
        host = self._head.get('host') or self.headers.get('X-Forwarded-Host') or self.headers.get('Host') or 'localhost'
        scheme = self.headers.get('X-Forwarded-Proto', 'http')
        qs = self.query_string
        return '%s://%s%s%s' % (scheme, host, self.path, '?' + qs if qs else '')

    fullpath = path

    @_cached
    def environ(self):
        """A WSGI-style environ dict (read-only view of the request)."""
        env = {
            'REQUEST_METHOD': self.method,
            'PATH_INFO': self.path,
            'QUERY_STRING': self.query_string,
            'SCRIPT_NAME': '',
            'SERVER_PROTOCOL': 'HTTP/1.1',
            'REMOTE_ADDR': (self._head.get('remote') or '').rsplit(':', 1)[0].strip('[]'),
            'CONTENT_LENGTH': str(len(self._raw)),
            'CONTENT_TYPE': self.content_type,
        }
        for name, value in self.headers.items():
            key = name.upper().replace('-', '_')
            if key in ('CONTENT_TYPE', 'CONTENT_LENGTH'):
                continue
            key = 'HTTP_' + key
            env[key] = env[key] + ',' + value if key in env else value
        return env

    def __repr__(self):
        qs = self.query_string
        return '<Request %s %s%s>' % (self.method, self.path, '?' + qs if qs else '')


# ---------------------------------------------------------------------------
# Loading the function


class LoadError(Exception):
    """The function cannot be loaded; the message is the cause, one line."""


def _is_machinery(filename):
    """Frames of this file and of the import system are not the user's."""
    if filename.startswith('<frozen'):
        return True
    path = os.path.abspath(filename)
    if path == _HERE_FILE:
        return True
    import importlib
    return path.startswith(os.path.dirname(os.path.abspath(importlib.__file__)) + os.sep)


_HERE_FILE = os.path.abspath(__file__)


def _where(tb):
    """'file:line: ' of the innermost traceback frame that is the user's."""
    found = ''
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if not _is_machinery(filename):
            found = '%s:%d: ' % (filename, tb.tb_lineno)
        tb = tb.tb_next
    return found


def _one_line(text, limit=2000):
    text = ' '.join(str(text).split())
    return text if len(text) <= limit else text[:limit] + '...'


def _describe(exc):
    try:
        msg = str(exc)
    except Exception:
        msg = '<unprintable %s>' % type(exc).__name__
    name = type(exc).__name__
    return _one_line('%s: %s' % (name, msg) if msg else name)


def _user_traceback(exc):
    """The formatted traceback of exc, without the leading frames of this file
    and of the import system."""
    import traceback
    tb = exc.__traceback__
    while tb is not None and _is_machinery(tb.tb_frame.f_code.co_filename):
        tb = tb.tb_next
    return ''.join(traceback.format_exception(type(exc), exc, tb))


def _sub_folder(mod_name, volume):
    """A handler in a sub-folder (MOD_NAME=src/api/hello): the module is the
    file's name and its folder goes first on sys.path, so its siblings import
    each other. Returns (module name, folder)."""
    if '/' not in mod_name:
        return mod_name, volume
    parts = mod_name.split('/')
    if mod_name.startswith('/') or any(p in ('', '.', '..') for p in parts[:-1]):
        raise LoadError('MOD_NAME %r must be a path inside %s (no leading "/", no empty, "." or ".." parts), '
                        'for example MOD_NAME=src/hello' % (mod_name, volume))
    folder = os.path.join(volume, *parts[:-1])
    if not os.path.isdir(folder):
        raise LoadError('no folder %s for MOD_NAME %r' % (folder, mod_name))
    sys.path.insert(0, folder)
    return parts[-1], folder


def _check_mod_name(mod_name, volume):
    if not mod_name:
        raise LoadError('MOD_NAME is not set: set it to the file name of the function without ".py", for example MOD_NAME=hello')
    if mod_name.endswith('.py'):
        raise LoadError('MOD_NAME %r must not end with ".py": use MOD_NAME=%s' % (mod_name, mod_name[:-3]))
    if '/' in mod_name or os.sep in mod_name:
        raise LoadError('MOD_NAME %r must be a module name, not a path: put the file in %s and use its name without ".py"' % (mod_name, volume))
    top = mod_name.split('.', 1)[0]
    if top in ('kubeless', '__main__') or mod_name == os.path.splitext(os.path.basename(__file__))[0]:
        raise LoadError('MOD_NAME %r is the name of the runtime\'s own module: rename %s.py and MOD_NAME' % (mod_name, top))
    loaded = sys.modules.get(top)
    if loaded is not None:
        origin = getattr(loaded, '__file__', None) or 'built in'
        raise LoadError('MOD_NAME %r collides with the module %s (%s) that the Python runtime has already loaded; '
                        'rename %s.py and MOD_NAME (for example to %s_func)' % (mod_name, top, origin, top, top))


def _found_functions(mod):
    import types
    names = sorted(n for n, v in vars(mod).items()
                   if not n.startswith('_') and isinstance(v, types.FunctionType))
    return ', '.join(names) if names else '(none)'


def _arity(fn):
    """How many of (event, context) to pass: 2, or fewer for handlers that
    declare fewer parameters. Raises LoadError for handlers needing more."""
    import types
    target, bound = fn, 0
    if isinstance(fn, types.MethodType):
        target, bound = fn.__func__, 1
    code = getattr(target, '__code__', None)
    if not isinstance(target, types.FunctionType) or code is None:
        return 2
    if code.co_flags & 0x04:  # *args
        return 2
    positional = code.co_argcount - bound
    required = positional - len(target.__defaults__ or ())
    if required > 2:
        raise LoadError('function takes %d arguments; a handler takes (event, context)' % required)
    return min(positional, 2)


def load(mod_name, handler, volume):
    """Import the user's module and return its handler. Raises LoadError."""
    _check_mod_name(mod_name, volume)
    if not handler:
        raise LoadError('FUNC_HANDLER is not set: set it to the name of the function inside %s.py, for example FUNC_HANDLER=handler' % mod_name)
    import importlib
    try:
        mod = importlib.import_module(mod_name)
    except SyntaxError as e:
        where = '%s:%s: ' % (e.filename, e.lineno) if e.filename else ''
        raise LoadError('%s%s: %s' % (where, type(e).__name__, e.msg))
    except ImportError as e:
        missing = getattr(e, 'name', None)
        if isinstance(e, ModuleNotFoundError) and missing and (missing == mod_name or mod_name.startswith(missing + '.')):
            try:
                files = sorted(f for f in os.listdir(volume) if f.endswith('.py'))
            except OSError as le:
                raise LoadError('no file %s.py: cannot read %s: %s' % (mod_name, volume, le.strerror))
            found = ', '.join(files[:20]) if files else 'no .py files'
            raise LoadError('no file %s.py (nor package %s/) in %s or on PYTHONPATH; found %s' % (
                mod_name.replace('.', '/'), mod_name.replace('.', '/'), volume, found))
        hint = ''
        if isinstance(e, ModuleNotFoundError):
            hint = ' (is it listed in requirements.txt and installed?)'
        sys.stderr.write(_user_traceback(e))
        raise LoadError('%s%s%s' % (_where(e.__traceback__), _describe(e), hint))
    except BaseException as e:
        if isinstance(e, KeyboardInterrupt):
            raise
        sys.stderr.write(_user_traceback(e))
        raise LoadError('%s%s' % (_where(e.__traceback__), _describe(e)))
    path = getattr(mod, '__file__', None) or mod_name
    fn = getattr(mod, handler, None)
    if fn is None:
        raise LoadError('module %s (%s) has no function %r; found: %s' % (mod_name, path, handler, _found_functions(mod)))
    if not callable(fn):
        raise LoadError('%s.%s in %s is a %s, not a function' % (mod_name, handler, path, type(fn).__name__))
    nargs = _arity(fn)
    if nargs == 2:
        return fn
    if nargs == 1:
        return lambda event, context: fn(event)
    return lambda event, context: fn()


def _setup_path(volume):
    """sys.path: the install volume first (siblings of the function import
    each other), then PYTHONPATH as given, then the interpreter's own."""
    here = os.path.dirname(os.path.abspath(__file__))
    if sys.path and sys.path[0] and os.path.abspath(sys.path[0]) == here:
        del sys.path[0]  # this file's folder is no place for user modules
    if not sys.path or sys.path[0] != volume:
        sys.path.insert(0, volume)
    # Honour .pth files of installed dependencies (namespace packages).
    import site
    for entry in os.environ.get('PYTHONPATH', '').split(os.pathsep):
        if entry.rstrip('/').endswith('site-packages') and os.path.isdir(entry):
            site.addsitedir(entry)


# ---------------------------------------------------------------------------
# Running invocations


class _Worker(object):
    def __init__(self, func, context, label, rfile, wfd, concurrency):
        self.func = func
        self.context = context
        self.label = label
        self.rfile = rfile
        self.wfd = wfd
        self.concurrency = concurrency
        self.inflight = {}      # id -> [cancelled, future] (thread pool only)
        self.read_lock = threading.Lock()
        self.write_lock = threading.Lock() if concurrency > 1 else None
        self.closing = False
        self.loop = None
        self.loop_lock = threading.Lock()

    # -- writing --------------------------------------------------------

    def send(self, typ, fid, pre, body=b''):
        """Write one frame whose payload is pre + body."""
        n = len(pre) + len(body)
        hdr = _FRAME.pack(typ, fid, n)
        if n < _WRITEV_MIN:
            parts = None
            data = b''.join((hdr, pre, body))
        else:
            parts = [hdr, pre, body]
            data = None
        lock = self.write_lock
        if lock is not None:
            lock.acquire()
        try:
            if data is not None:
                wrote = os.write(self.wfd, data)
                if wrote != len(data):
                    self._write_rest(memoryview(data)[wrote:])
            else:
                wrote = os.writev(self.wfd, parts)
                if wrote != len(hdr) + n:
                    self._write_rest(memoryview(b''.join(parts))[wrote:])
        except BrokenPipeError:
            _exit(0)  # the host closed its end: it is gone or done with us
        finally:
            if lock is not None:
                lock.release()

    def _write_rest(self, view):
        while view:
            view = view[os.write(self.wfd, view):]

    # -- reading --------------------------------------------------------

    def next_invocation(self):
        """Read frames until an invocation: (id, head bytes, body), or None at
        end of input."""
        read = self.rfile.read
        while True:
            hdr = read(9)
            if len(hdr) < 9:
                return None
            typ, fid, n = _FRAME.unpack(hdr)
            if typ == _I and n >= 4:
                hlen = _U32.unpack(read(4))[0]
                head = read(hlen)
                body = read(n - 4 - hlen)
                if len(head) != hlen or len(body) != n - 4 - hlen:
                    return None
                return fid, head, body
            if n and len(read(n)) != n:
                return None
            if typ == _C:
                self.cancel(fid)

    def cancel(self, fid):
        cell = self.inflight.get(fid)
        if cell is not None:
            cell[0] = True
            fut = cell[1]
            if fut is not None and self.loop is not None:
                self.loop.call_soon_threadsafe(fut.cancel)

    # -- serving --------------------------------------------------------

    def serve(self):
        if self.concurrency <= 1:
            nxt, handle = self.next_invocation, self.handle
            while True:
                inv = nxt()
                if inv is None:
                    return
                handle(inv[0], inv[1], inv[2], None)
        threads = [threading.Thread(target=self._follow, name='kubeless-%d' % i, daemon=True)
                   for i in range(1, self.concurrency)]
        for t in threads:
            t.start()
        self._follow()
        # End of input: the host is gone or done with this worker (it never
        # closes fd 3 while it waits for answers), so invocations still
        # running have no one to answer to.
        _exit(0)

    def _follow(self):
        """Leader/follower: whichever thread holds the read lock reads the
        next invocation, then runs it while another thread reads."""
        lock, nxt, handle, inflight = self.read_lock, self.next_invocation, self.handle, self.inflight
        while True:
            with lock:
                if self.closing:
                    return
                inv = nxt()
                if inv is None:
                    self.closing = True
                    return
                cell = inflight[inv[0]] = [False, None]
            try:
                handle(inv[0], inv[1], inv[2], cell)
            finally:
                inflight.pop(inv[0], None)

    def handle(self, fid, head_raw, body, cell):
        """Run one invocation and answer it."""
        try:
            try:
                head = _scan_json(head_raw.decode('utf-8'), 0)[0]
            except StopIteration:
                raise ValueError('the host sent a malformed invocation head: %r' % head_raw[:200])
            if head.get('json'):
                data = _parse_json_body(body)
                req = Request(head, body, data)
            else:
                data = body
                req = Request(head, body)
            ev = head.get('event') or {}
            event = {
                'data': data,
                'event-id': ev.get('event-id', ''),
                'event-type': ev.get('event-type', ''),
                'event-time': ev.get('event-time', ''),
                'event-namespace': ev.get('event-namespace', ''),
                'extensions': {'request': req},
            }
            if _bottle_used:
                _bottle_local.request, _bottle_local.response = req, None
                try:
                    r = _bottle_finish(self.func(event, self.context.copy()))
                finally:
                    _bottle_local.request = _bottle_local.response = None
            else:
                r = self.func(event, self.context.copy())
            if cell is not None and cell[0]:
                return
            t = type(r)
            if t is str:
                self.send(_S, fid, _PRE_TEXT, r.encode('utf-8'))
            elif t is dict or t is list:
                self.send(_S, fid, _PRE_JSON, json.dumps(r).encode('utf-8'))
            elif t is bytes:
                self.send(_S, fid, _PRE_OCTET, r)
            elif r is None:
                self.send(_S, fid, _PRE_EMPTY)
            else:
                self.respond(fid, r, cell)
        except BaseException as e:
            if isinstance(e, KeyboardInterrupt):
                raise
            if cell is not None and cell[0]:
                return
            try:
                if _is_bottle_response(e):  # compat: a raised bottle.HTTPError answers as it is
                    self.respond(fid, e, cell)
                    return
            except Exception as e2:
                e = e2
            self.fail(fid, e, head_raw)

    def fail(self, fid, exc, head_raw):
        try:
            eid = json.loads(head_raw).get('event', {}).get('event-id', '')
        except Exception:
            eid = ''
        try:
            sys.stderr.write('function %s failed (event-id %s):\n%s' % (self.label, eid, _user_traceback(exc)))
        except Exception:
            pass
        self.send(_X, fid, _describe(exc).encode('utf-8', 'replace'))

    def respond(self, fid, r, cell):
        """The uncommon return values: Response, awaitables, iterators, other JSON."""
        if hasattr(r, '__await__'):
            r = self.wait(r, cell)
            if cell is not None and cell[0]:
                return
        if isinstance(r, Response):
            status, headers, body = r.status, r.headers, r.body
        elif _is_bottle_response(r):
            status, headers, body = r.status_code, [list(h) for h in r.headerlist], r.body
        else:
            status, headers, body = 200, [], r
        if isinstance(body, str):
            ctype, data = _TEXT, body.encode('utf-8')
        elif isinstance(body, (bytes, bytearray, memoryview)):
            ctype, data = _OCTET, bytes(body)
        elif body is None:
            ctype, data = None, b''
        elif isinstance(body, (dict, list, tuple, int, float)):  # bool is an int
            ctype, data = _JSON, json.dumps(body).encode('utf-8')
        elif hasattr(body, '__next__'):  # a generator or another iterator: stream it
            self.stream(fid, status, headers, body, cell)
            return
        else:
            ctype, data = _JSON, json.dumps(body).encode('utf-8')  # TypeError names the type
        if ctype and not _has_content_type(headers):
            headers = headers + [['Content-Type', ctype]]
        head = json.dumps({'status': status, 'headers': headers}).encode('utf-8')
        self.send(_S, fid, _U32.pack(len(head)) + head, data)

    def stream(self, fid, status, headers, it, cell):
        """Send a response whose body is an iterator of str or bytes chunks."""
        try:
            first = _chunk(next(it))
        except StopIteration:
            head = json.dumps({'status': status, 'headers': headers}).encode('utf-8')
            self.send(_S, fid, _U32.pack(len(head)) + head)
            return
        ctype = _TEXT if isinstance(first[0], str) else _OCTET
        if not _has_content_type(headers):
            headers = headers + [['Content-Type', ctype]]
        head = json.dumps({'status': status, 'headers': headers, 'stream': True}).encode('utf-8')
        self.send(_S, fid, _U32.pack(len(head)) + head, first[1])
        try:
            for item in it:
                if cell is not None and cell[0]:
                    close = getattr(it, 'close', None)
                    if close is not None:
                        close()
                    return
                chunk = _chunk(item)[1]
                if chunk:
                    self.send(_D, fid, chunk)
        except BaseException as e:
            if isinstance(e, KeyboardInterrupt):
                raise
            sys.stderr.write('function %s failed while streaming:\n%s' % (self.label, _user_traceback(e)))
            self.send(_E, fid, _describe(e).encode('utf-8', 'replace'))
            return
        self.send(_E, fid, b'')

    def wait(self, awaitable, cell):
        """Run a coroutine (async def handler) on the worker's event loop."""
        import asyncio
        coro = awaitable if asyncio.iscoroutine(awaitable) else _await(awaitable)
        if self.concurrency <= 1:
            if self.loop is None:
                self.loop = asyncio.new_event_loop()
                asyncio.set_event_loop(self.loop)
            return self.loop.run_until_complete(coro)
        with self.loop_lock:
            if self.loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name='kubeless-asyncio', daemon=True).start()
                self.loop = loop
        fut = asyncio.run_coroutine_threadsafe(coro, self.loop)
        if cell is not None:
            cell[1] = fut
            if cell[0]:
                self.loop.call_soon_threadsafe(fut.cancel)
        return fut.result()


def _parse_json_body(body):
    try:
        return json.loads(body)
    except UnicodeDecodeError:
        # Invalid UTF-8 inside strings: the host's JSON check lets it through
        # (as Go does, read it as U+FFFD).
        return json.loads(body.decode('utf-8', 'replace'))


async def _await(awaitable):
    return await awaitable


def _chunk(item):
    if isinstance(item, str):
        return item, item.encode('utf-8')
    if isinstance(item, (bytes, bytearray, memoryview)):
        return item, bytes(item)
    raise TypeError('a streamed body yields str or bytes chunks, not %s' % type(item).__name__)


def _has_content_type(headers):
    for name, _ in headers:
        if name.lower() == 'content-type':
            return True
    return False


def _is_bottle_response(value):
    """Compat: the original runtime honoured a returned or raised
    bottle.HTTPResponse / HTTPError (when a function bundles Bottle)."""
    return (type(value).__module__ == 'bottle' and hasattr(value, 'status_code')
            and hasattr(value, 'headerlist') and hasattr(value, 'body'))


# ---------------------------------------------------------------------------
# Compat: the `bottle` module of the original runtime
#
# The original served functions with Bottle, and functions imported it to set
# a status and headers: they returned or raised bottle.HTTPResponse /
# HTTPError, or set bottle.response.status. A function that imports `bottle`
# without bundling it gets this small stand-in (the real Bottle, when it is
# on the path, wins: the finder comes last). It has HTTPResponse, HTTPError,
# abort, redirect, request (the current invocation's request) and response
# (the current invocation's status and headers, applied to a plain return
# value).

_bottle_local = threading.local()
_bottle_used = False  # set once a function imports the stand-in

_HTTP_REASONS = {
    200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'No Content', 301: 'Moved Permanently',
    302: 'Found', 303: 'See Other', 304: 'Not Modified', 307: 'Temporary Redirect',
    308: 'Permanent Redirect', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden',
    404: 'Not Found', 405: 'Method Not Allowed', 409: 'Conflict', 410: 'Gone',
    415: 'Unsupported Media Type', 418: "I'm a teapot", 422: 'Unprocessable Entity',
    429: 'Too Many Requests', 500: 'Internal Server Error', 501: 'Not Implemented',
    502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout',
}


def _bottle_hkey(name):
    """Bottle's header key: 'content_type' and 'content-type' → 'Content-Type'."""
    name = str(name)
    if '\n' in name or '\r' in name or '\0' in name:
        raise ValueError('header names must not contain control characters: %r' % name)
    return name.title().replace('_', '-')


def _bottle_hval(value):
    value = str(value)
    if '\n' in value or '\r' in value or '\0' in value:
        raise ValueError('header values must not contain control characters: %r' % value)
    return value


class _BottleBaseResponse(object):
    """bottle.BaseResponse: a status, headers and a body."""
    default_status = 200

    def __init__(self, body='', status=None, headers=None, **more_headers):
        self.body = body
        self._headers = []
        self.status = status or self.default_status
        if headers:
            items = headers.items() if hasattr(headers, 'items') else headers
            for name, value in items:
                self.add_header(name, value)
        for name, value in more_headers.items():
            self.add_header(name, value)

    @property
    def status_code(self):
        return self._status_code

    @property
    def status_line(self):
        return self._status_line

    def _get_status(self):
        return self._status_line

    def _set_status(self, status):
        if isinstance(status, bool):
            raise ValueError('status must be an int such as 404 or a line such as "404 Not Found", got %r' % (status,))
        if isinstance(status, int):
            code, line = status, '%d %s' % (status, _HTTP_REASONS.get(status, 'Unknown'))
        elif isinstance(status, str) and status.strip()[:3].isdigit():
            line = status.strip()
            code = int(line[:3])
            if len(line) == 3:
                line = '%d %s' % (code, _HTTP_REASONS.get(code, 'Unknown'))
        else:
            raise ValueError('status must be an int such as 404 or a line such as "404 Not Found", got %r' % (status,))
        if not 100 <= code <= 599:
            raise ValueError('status must be between 100 and 599, got %d' % code)
        self._status_code, self._status_line = code, line

    status = property(_get_status, _set_status, doc='The status line; set an int or a line.')

    @property
    def headerlist(self):
        return [(n, v) for n, v in self._headers]

    @property
    def headers(self):
        return _BottleHeaderView(self)

    def get_header(self, name, default=None):
        key = _bottle_hkey(name)
        for n, v in self._headers:
            if n == key:
                return v
        return default

    def set_header(self, name, value):
        key = _bottle_hkey(name)
        self._headers = [h for h in self._headers if h[0] != key]
        self._headers.append((key, _bottle_hval(value)))

    def add_header(self, name, value):
        self._headers.append((_bottle_hkey(name), _bottle_hval(value)))

    def delete_header(self, name):
        key = _bottle_hkey(name)
        self._headers = [h for h in self._headers if h[0] != key]

    def iter_headers(self):
        return iter(self.headerlist)

    @property
    def content_type(self):
        return self.get_header('Content-Type')

    @content_type.setter
    def content_type(self, value):
        self.set_header('Content-Type', value)

    def set_cookie(self, name, value, path=None, domain=None, max_age=None, expires=None,
                   secure=False, httponly=False, samesite=None):
        parts = ['%s=%s' % (name, value)]
        if path:
            parts.append('Path=%s' % path)
        if domain:
            parts.append('Domain=%s' % domain)
        if max_age is not None:
            parts.append('Max-Age=%d' % int(getattr(max_age, 'total_seconds', lambda: max_age)()))
        if expires:
            parts.append('Expires=%s' % expires)
        if secure:
            parts.append('Secure')
        if httponly:
            parts.append('HttpOnly')
        if samesite:
            parts.append('SameSite=%s' % samesite)
        self.add_header('Set-Cookie', '; '.join(parts))

    def delete_cookie(self, name, **options):
        options['max_age'] = 0
        options['expires'] = 'Thu, 01 Jan 1970 00:00:00 GMT'
        self.set_cookie(name, '', **options)

    def __repr__(self):
        return '<%s: %s>' % (type(self).__name__, self._status_line)


class _BottleHeaderView(object):
    """response.headers: a dict-like view; setting a header replaces it."""

    def __init__(self, resp):
        self._resp = resp

    def __getitem__(self, name):
        v = self._resp.get_header(name)
        if v is None:
            raise KeyError(name)
        return v

    def __setitem__(self, name, value):
        self._resp.set_header(name, value)

    def __delitem__(self, name):
        self._resp.delete_header(name)

    def __contains__(self, name):
        return self._resp.get_header(name) is not None

    def get(self, name, default=None):
        return self._resp.get_header(name, default)

    def append(self, name, value):
        self._resp.add_header(name, value)

    def items(self):
        return self._resp.headerlist

    def keys(self):
        return [n for n, _ in self._resp.headerlist]

    def __iter__(self):
        return iter(self.keys())

    def __len__(self):
        return len(self._resp.headerlist)


class _BottleHTTPResponse(_BottleBaseResponse, Exception):
    """bottle.HTTPResponse: return it, or raise it, to answer with its status,
    headers and body."""

    def __init__(self, body='', status=None, headers=None, **more_headers):
        Exception.__init__(self, body)
        _BottleBaseResponse.__init__(self, body, status, headers, **more_headers)


class _BottleHTTPError(_BottleHTTPResponse):
    """bottle.HTTPError(status=500, body=None, exception=None, traceback=None)."""
    default_status = 500

    def __init__(self, status=None, body=None, exception=None, traceback=None, **more_headers):
        self.exception = exception
        self.traceback = traceback
        _BottleHTTPResponse.__init__(self, body, status, **more_headers)


def _bottle_abort(code=500, text='Unknown Error.'):
    raise _BottleHTTPError(code, text)


def _bottle_redirect(url, code=None):
    if not code:
        code = 303 if _bottle_current_request().method != 'GET' else 302
    raise _BottleHTTPResponse('', status=code, Location=url)


def _bottle_current_request():
    req = getattr(_bottle_local, 'request', None)
    if req is None:
        raise RuntimeError('bottle.request is only there while the function runs an invocation')
    return req


def _bottle_current_response():
    resp = getattr(_bottle_local, 'response', None)
    if resp is None:
        resp = _bottle_local.response = _BottleBaseResponse()
    return resp


class _BottleLocalRequest(object):
    """bottle.request: the request of the invocation running on this thread."""

    def __getattr__(self, name):
        return getattr(_bottle_current_request(), name)

    def __repr__(self):
        return '<bottle.request (kubeless compat)>'


class _BottleLocalResponse(object):
    """bottle.response: the status and headers of the invocation running on
    this thread, applied to the function's return value."""

    def __getattr__(self, name):
        return getattr(_bottle_current_response(), name)

    def __setattr__(self, name, value):
        setattr(_bottle_current_response(), name, value)

    def __repr__(self):
        return '<bottle.response (kubeless compat)>'


for _cls in (_BottleBaseResponse, _BottleHTTPResponse, _BottleHTTPError, _BottleLocalRequest, _BottleLocalResponse):
    _cls.__module__ = 'bottle'
_BottleBaseResponse.__name__ = _BottleBaseResponse.__qualname__ = 'BaseResponse'
_BottleHTTPResponse.__name__ = _BottleHTTPResponse.__qualname__ = 'HTTPResponse'
_BottleHTTPError.__name__ = _BottleHTTPError.__qualname__ = 'HTTPError'


def _make_bottle():
    global _bottle_used
    import types
    m = types.ModuleType('bottle', 'Kubeless stand-in for the parts of Bottle the original runtime gave functions.')
    m.__version__ = '0.12.13-kubeless'
    m.BaseResponse = _BottleBaseResponse
    m.Response = _BottleBaseResponse
    m.HTTPResponse = _BottleHTTPResponse
    m.HTTPError = _BottleHTTPError
    m.abort = _bottle_abort
    m.redirect = _bottle_redirect
    m.request = _BottleLocalRequest()
    m.response = _BottleLocalResponse()
    m.__all__ = ['BaseResponse', 'Response', 'HTTPResponse', 'HTTPError', 'abort', 'redirect', 'request', 'response']
    _bottle_used = True
    return m


class _BottleFinder(object):
    """Serves `import bottle` when nothing on sys.path provides it."""

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name != 'bottle':
            return None
        import importlib.util
        return importlib.util.spec_from_loader('bottle', cls(), origin='kubeless compat')

    def create_module(self, spec):
        return _make_bottle()

    def exec_module(self, module):
        pass


def _bottle_finish(r):
    """After an invocation of a function that uses the stand-in: a plain
    return value takes the status and headers set on bottle.response."""
    resp = getattr(_bottle_local, 'response', None)
    _bottle_local.request = _bottle_local.response = None
    if resp is None or isinstance(r, (Response, _BottleBaseResponse)) or _is_bottle_response(r):
        return r
    if resp._status_code == 200 and not resp._headers:
        return r
    out = _BottleHTTPResponse(r, resp._status_code)
    out._headers = list(resp._headers)
    return out


# ---------------------------------------------------------------------------
# Start-up


def _open_pipes():
    """The frame pipes: fd 3 (from the host) and fd 4 (to the host)."""
    try:
        os.fstat(3)
        os.fstat(4)
    except OSError:
        return None
    for fd in (3, 4):
        os.set_inheritable(fd, False)  # processes the function starts must not hold them
        os.set_blocking(fd, True)
    import io
    return io.open(3, 'rb', buffering=1 << 16), 4


def _exit(code):
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    os._exit(code)


def _watch_parent(parent):
    """Exit when the process that started the worker (pid parent) dies.

    The host kills a worker's whole process group, but when the host itself
    is killed first, a worker stuck in a function (which reads no frames, so
    never sees the end of input) would run on as an orphan. The caller reads
    the parent's pid before the worker says it is ready: read later, in this
    thread, a parent that died in between would never be noticed."""
    import time
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            _exit(1)


def _env_number(name, default, convert):
    value = os.environ.get(name, '')
    if value == '':
        return default
    try:
        return convert(value)
    except ValueError:
        raise LoadError('%s=%r is not a number' % (name, value))


def main():
    pipes = _open_pipes()
    if pipes is None:
        sys.stderr.write('kubeless.py is the Python worker of kubeless-host: it reads invocation frames on fd 3 and '
                         'answers on fd 4 (docs/worker-protocol.md). Start it through the host, for example\n'
                         '  FUNC_PROCESS="python3 %s" MOD_NAME=hello FUNC_HANDLER=foo kubeless-host\n' % __file__)
        return 2
    rfile, wfd = pipes
    threading.Thread(target=_watch_parent, args=(os.getppid(),), name='kubeless-parent-watch', daemon=True).start()
    # Whatever the function prints reaches the log at once, also if the
    # worker is killed later (a timed-out invocation).
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(line_buffering=True)
        except (AttributeError, ValueError):
            pass

    mod_name = os.environ.get('MOD_NAME', '')
    handler = os.environ.get('FUNC_HANDLER', '')
    volume = os.path.abspath(os.environ.get('KUBELESS_INSTALL_VOLUME') or '/kubeless')
    label = '"%s.%s"' % (mod_name, handler)
    try:
        timeout = _env_number('FUNC_TIMEOUT', 180.0, float)
        concurrency = max(1, _env_number('KUBELESS_WORKER_CONCURRENCY', 1, int))
        _setup_path(volume)
        sys.meta_path.append(_BottleFinder)
        mod_name, folder = _sub_folder(mod_name, volume)
        func = load(mod_name, handler, folder)
    except LoadError as e:
        msg = ('cannot load function %s: %s' % (label, _one_line(e))).encode('utf-8', 'replace')
        try:
            os.write(wfd, _FRAME.pack(_F, 0, len(msg)) + msg)
        except OSError:
            sys.stderr.write(msg.decode('utf-8') + '\n')
        return 1

    context = {
        'function-name': handler,
        'timeout': timeout,
        'runtime': os.environ.get('FUNC_RUNTIME', ''),
        'memory-limit': os.environ.get('FUNC_MEMORY_LIMIT', ''),
    }
    worker = _Worker(func, context, label, rfile, wfd, concurrency)
    ready = json.dumps({'runtime': 'python %d.%d.%d' % sys.version_info[:3]}).encode()
    worker.send(_R, 0, ready)
    worker.serve()
    return 0


if __name__ == '__main__':
    code = main()
    try:
        sys.stdout.flush()
    except Exception:
        pass
    sys.exit(code)
