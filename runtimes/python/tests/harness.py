"""Test harness: runs runtimes/python/kubeless.py as the Go host does (frames on
fd 3 and 4, docs/worker-protocol.md) and speaks frames to it."""

import json
import os
import select
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
RUNTIME = os.path.dirname(HERE)
WORKER = os.path.join(RUNTIME, 'kubeless.py')
REPO = os.path.dirname(os.path.dirname(RUNTIME))
FIXTURES = os.path.join(REPO, 'internal', 'conformance', 'fixtures', 'python')
EXAMPLES = os.path.join(RUNTIME, 'examples-compat')

FRAME = struct.Struct('>cII')

# Puts the two pipe ends on fd 3 and 4 (whatever their numbers in the test
# process), then becomes the worker: what `/bin/sh -c "$FUNC_PROCESS"` with
# ExtraFiles does in the host.
_BOOT = '\n'.join([
    'import os, sys, fcntl',
    'a, b = int(sys.argv[1]), int(sys.argv[2])',
    'x, y = fcntl.fcntl(a, fcntl.F_DUPFD, 10), fcntl.fcntl(b, fcntl.F_DUPFD, 10)',
    'for f in (a, b):',
    '    if f not in (3, 4): os.close(f)',
    'os.dup2(x, 3); os.dup2(y, 4); os.close(x); os.close(y)',
    'os.execv(sys.argv[3], sys.argv[3:])',
])


class Reply(object):
    """The frames answering one invocation."""

    def __init__(self):
        self.status = None
        self.headers = []
        self.body = b''
        self.stream = False
        self.error = None      # X payload
        self.end_error = None  # non-empty E payload
        self.types = ''

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    @property
    def text(self):
        return self.body.decode('utf-8')

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return '<Reply %s %s %r error=%r>' % (self.types, self.status, self.body[:200], self.error)


def head(method='GET', path='/', query='', headers=(), json_body=False, event=None, remote='127.0.0.1:40000'):
    ev = {'event-id': 'ev-1', 'event-type': 'application/json' if json_body else '',
          'event-time': '2026-11-27T09:38:15Z', 'event-namespace': 'cli.kubeless.io'}
    ev.update(event or {})
    return {'method': method, 'path': path, 'query': query, 'headers': [list(h) for h in headers],
            'remote': remote, 'json': json_body, 'event': ev}


class Worker(object):
    """One worker process. Use as a context manager."""

    def __init__(self, handler, mod='fixtures', volume=FIXTURES, env=None, concurrency=1, ready=True,
                 parent_shell=False):
        self.out = tempfile.TemporaryFile()
        self.err = tempfile.TemporaryFile()
        r_in, self.w_in = os.pipe()
        self.r_out, w_out = os.pipe()
        e = dict(os.environ)
        for k in ('PYTHONPATH', 'FUNC_TIMEOUT', 'FUNC_RUNTIME', 'FUNC_MEMORY_LIMIT', 'KUBELESS_WORKER_CONCURRENCY'):
            e.pop(k, None)
        e.update({'MOD_NAME': mod, 'FUNC_HANDLER': handler, 'KUBELESS_INSTALL_VOLUME': volume,
                  'KUBELESS_WORKER_CONCURRENCY': str(concurrency), 'KUBELESS_WORKER_ID': '1'})
        e.update(env or {})
        argv = [sys.executable, '-S', '-c', _BOOT, str(r_in), str(w_out), sys.executable, WORKER]
        if parent_shell:
            # An intermediate shell starts the worker and waits for it, as the
            # host's shell does; killing it (kill_parent) orphans the worker.
            argv = ['/bin/sh', '-c', '"$@"; :', 'sh'] + argv
        self.proc = subprocess.Popen(
            argv,
            pass_fds=(r_in, w_out), env=e, stdin=subprocess.DEVNULL, stdout=self.out, stderr=self.err,
            cwd=volume if os.path.isdir(volume) else None)
        os.close(r_in)
        os.close(w_out)
        self.buf = b''
        self.pending = {}  # frames read while waiting for another id
        self.first = None
        if ready:
            self.first = self.frame(timeout=20)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()

    # -- frames ---------------------------------------------------------

    def _read(self, n, deadline):
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.r_out], [], [], left)[0]:
                raise TimeoutError('no frame from the worker in time; stderr: %s' % self.stderr())
            chunk = os.read(self.r_out, 1 << 16)
            if not chunk:
                raise EOFError('worker closed fd 4; stderr: %s' % self.stderr())
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def frame(self, timeout=10):
        """The next frame: (type letter, id, payload)."""
        deadline = time.monotonic() + timeout
        typ, fid, n = FRAME.unpack(self._read(9, deadline))
        return typ.decode(), fid, self._read(n, deadline)

    def send(self, typ, fid, payload=b''):
        os.write(self.w_in, FRAME.pack(typ.encode(), fid, len(payload)) + payload)

    def invoke(self, fid, body=b'', **kw):
        """Send an I frame. kw: method, path, query, headers, json_body, event."""
        if not isinstance(body, bytes):
            body = json.dumps(body).encode()
            kw.setdefault('json_body', True)
            kw.setdefault('headers', [('Content-Type', 'application/json')])
        h = json.dumps(head(**kw)).encode()
        self.send('I', fid, struct.pack('>I', len(h)) + h + body)

    def reply(self, fid, timeout=10):
        """Collect the frames answering invocation fid."""
        r = Reply()
        deadline = time.monotonic() + timeout
        while True:
            frames = self.pending.setdefault(fid, [])
            if frames:
                typ, payload = frames.pop(0)
            else:
                typ, got, payload = self.frame(timeout=max(0.01, deadline - time.monotonic()))
                if got != fid:
                    self.pending.setdefault(got, []).append((typ, payload))
                    continue
            r.types += typ
            if typ == 'S':
                hlen = struct.unpack('>I', payload[:4])[0]
                h = json.loads(payload[4:4 + hlen])
                r.status, r.headers, r.stream = h['status'], h['headers'], h.get('stream', False)
                r.body += payload[4 + hlen:]
                if not r.stream:
                    return r
            elif typ == 'D':
                r.body += payload
            elif typ == 'E':
                r.end_error = payload.decode() or None
                return r
            elif typ == 'X':
                r.error = payload.decode()
                return r
            else:
                raise AssertionError('unexpected frame %s for id %d' % (typ, fid))

    def call(self, body=b'', fid=1, timeout=10, **kw):
        self.invoke(fid, body, **kw)
        return self.reply(fid, timeout=timeout)

    # -- process --------------------------------------------------------

    def close(self, timeout=10):
        """Close fd 3 (end of input) and return the exit code."""
        if self.w_in is not None:
            os.close(self.w_in)
            self.w_in = None
        try:
            return self.proc.wait(timeout)
        finally:
            self.kill()

    def wait(self, timeout=10):
        return self.proc.wait(timeout)

    def kill_parent(self):
        """Kill the intermediate shell (parent_shell) and return the worker's pid."""
        sh = self.proc.pid
        with open('/proc/%d/task/%d/children' % (sh, sh)) as f:
            child = int(f.read().split()[0])
        self.proc.kill()
        self.proc.wait()
        return child

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for fd in (self.w_in, self.r_out):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.w_in = self.r_out = None
        self._snapshot()

    def _snapshot(self):
        if not hasattr(self, '_saved'):
            self._saved = (self._readf(self.out), self._readf(self.err))
            self.out.close()
            self.err.close()

    @staticmethod
    def _readf(f):
        if f.closed:
            return ''
        f.seek(0)
        return f.read().decode('utf-8', 'replace')

    def stdout(self):
        return self._saved[0] if hasattr(self, '_saved') else self._readf(self.out)

    def stderr(self):
        return self._saved[1] if hasattr(self, '_saved') else self._readf(self.err)

    def wait_output(self, text, timeout=10, stream='stdout'):
        """Wait until text appears in the worker's stdout (or stderr)."""
        deadline = time.monotonic() + timeout
        get = self.stdout if stream == 'stdout' else self.stderr
        while time.monotonic() < deadline:
            if text in get():
                return True
            time.sleep(0.02)
        return False


def load_failure(mod, handler, volume=FIXTURES, env=None):
    """Start a worker that must fail to load: (F payload, exit code, stderr)."""
    w = Worker(handler, mod=mod, volume=volume, env=env, ready=False)
    try:
        typ, fid, payload = w.frame(timeout=20)
        code = w.wait(10)
        return typ, payload.decode(), code, w
    finally:
        w.kill()
