"""The worker end to end: frames in on fd 3, frames out on fd 4."""

import json
import os
import signal
import tempfile
import time
import unittest

from harness import FIXTURES, HERE, Worker

TESTDATA = os.path.join(HERE, 'testdata')


def funcs(handler, **kw):
    return Worker(handler, mod='funcs', volume=TESTDATA, **kw)


class ProtocolTest(unittest.TestCase):
    def test_ready_frame_names_the_runtime(self):
        with Worker('hello') as w:
            typ, fid, payload = w.first
            self.assertEqual((typ, fid), ('R', 0))
            self.assertTrue(json.loads(payload)['runtime'].startswith('python 3.'))

    def test_hello(self):
        with Worker('hello') as w:
            r = w.call()
            self.assertEqual((r.types, r.status, r.text), ('S', 200, 'hello world'))
            self.assertEqual(r.headers, [['Content-Type', 'text/plain; charset=utf-8']])

    def test_serves_many_invocations_and_exits_at_end_of_input(self):
        with Worker('hello') as w:
            for i in range(1, 51):
                w.invoke(i)
            for i in range(1, 51):
                self.assertEqual(w.reply(i).text, 'hello world')
            self.assertEqual(w.close(), 0)

    def test_ignores_cancel_for_unknown_ids_and_unknown_frame_types(self):
        with Worker('hello') as w:
            w.send('C', 99)
            w.send('Z', 0, b'future frame type')
            self.assertEqual(w.call(fid=7).text, 'hello world')

    def test_large_body_round_trip(self):
        body = os.urandom(3 * 1024 * 1024 + 17)
        with Worker('echo') as w:
            r = w.call(body, headers=[('Content-Type', 'application/octet-stream')])
            self.assertEqual(r.header('Content-Type'), 'application/octet-stream')
            self.assertEqual(r.body, body)

    def test_large_fixture_counts_raw_bytes(self):
        with Worker('large') as w:
            self.assertEqual(w.call(b'x' * 200000).text, '200000')
            self.assertEqual(w.call(b'').text, '0')


class ValueTypingTest(unittest.TestCase):
    """docs/runtime-contract.md §3.1: the return value becomes the response."""

    CASES = [
        ('text', 200, 'text/plain; charset=utf-8', b'hi'),
        ('bytes_', 200, 'application/octet-stream', b'\x00\x01binary'),
        ('dict_', 200, 'application/json', b'{"a": 1, "b": [true, null]}'),
        ('list_', 200, 'application/json', b'[1, "x"]'),
        ('int_', 200, 'application/json', b'42'),
        ('float_', 200, 'application/json', b'1.5'),
        ('bool_', 200, 'application/json', b'true'),
        ('tuple_', 200, 'application/json', b'[1, 2]'),
        ('bytearray_', 200, 'application/octet-stream', b'ab'),
        ('none', 200, None, b''),
        ('created', 201, 'text/plain; charset=utf-8', b'made'),
        ('custom_type', 200, 'text/html', b'<b>hi</b>'),
        ('resp_json', 202, 'application/json', b'{"ok": true}'),
        ('resp_none', 204, None, b''),
        ('bottle_response', 418, 'text/html; charset=UTF-8', b'teapot'),
        ('bottle_error', 403, 'text/html; charset=UTF-8', b'forbidden here'),
    ]

    def test_values(self):
        env = {'PYTHONPATH': os.path.join(TESTDATA, 'bottledep')}
        for handler, status, ctype, body in self.CASES:
            with self.subTest(handler=handler), funcs(handler, env=env) as w:
                r = w.call()
                self.assertEqual((r.types, r.status, r.body), ('S', status, body), r)
                self.assertEqual(r.header('Content-Type'), ctype)

    def test_response_headers(self):
        with funcs('created') as w:
            r = w.call()
            self.assertEqual(r.headers, [['X-A', '1'], ['X-Multi', 'a'], ['X-Multi', 'b'],
                                         ['Content-Type', 'text/plain; charset=utf-8']])

    def test_kubeless_module_is_the_running_worker(self):
        with funcs('identity') as w:
            self.assertEqual(w.call().json(), {'same': True, 'response': 'Response', 'main_name': '__main__'})

    def test_unserialisable_value_is_an_error(self):
        with funcs('obj') as w:
            r = w.call()
            self.assertEqual(r.types, 'X')
            self.assertIn('TypeError', r.error)
            self.assertIn('not JSON serializable', r.error)

    def test_invalid_response_arguments_are_errors(self):
        for handler, want in (('bad_status', 'TypeError: status must be an int'),
                              ('bad_header', "ValueError: invalid value for header 'X-Bad'")):
            with self.subTest(handler=handler), funcs(handler) as w:
                self.assertIn(want, w.call().error)


class StreamTest(unittest.TestCase):
    def test_generator_is_streamed(self):
        with funcs('gen') as w:
            r = w.call()
            self.assertEqual(r.types, 'SDDE')
            self.assertTrue(r.stream)
            self.assertEqual(r.body, b'abc')
            self.assertEqual(r.header('Content-Type'), 'text/plain; charset=utf-8')
            self.assertIsNone(r.end_error)

    def test_response_with_generator_keeps_status_and_type(self):
        with funcs('resp_stream') as w:
            r = w.call()
            self.assertEqual((r.types, r.status, r.header('Content-Type')), ('SDE', 206, 'text/event-stream'))
            self.assertEqual(r.body, b'data: 1\n\ndata: 2\n\n')

    def test_failure_mid_stream_ends_with_the_error(self):
        with funcs('gen_fail') as w:
            r = w.call()
            self.assertEqual((r.types, r.body), ('SE', b'a'))
            self.assertEqual(r.end_error, 'RuntimeError: mid-stream')
            self.assertEqual(w.call(fid=2).end_error, 'RuntimeError: mid-stream')  # still serving

    def test_failure_before_first_chunk_is_an_error(self):
        with funcs('gen_first_fail') as w:
            self.assertEqual(w.call().error, 'RuntimeError: before any chunk')

    def test_empty_generator_is_an_empty_response(self):
        with funcs('gen_empty') as w:
            r = w.call()
            self.assertEqual((r.types, r.status, r.body), ('S', 200, b''))


class ErrorTest(unittest.TestCase):
    def test_exception_is_one_line_and_traceback_goes_to_stderr(self):
        with Worker('throw') as w:
            r = w.call(event={'event-id': 'failing-1'})
            self.assertEqual((r.types, r.error), ('X', 'Exception: boom'))
            self.assertEqual(w.call(fid=2).error, 'Exception: boom')  # the worker survives
            w.close()
            err = w.stderr()
            self.assertIn('function "fixtures.throw" failed (event-id failing-1)', err)
            self.assertIn("raise Exception('boom')", err)
            self.assertNotIn('kubeless.py', err)  # the runtime's own frames are left out

    def test_error_messages(self):
        for handler, want in (('keyerror', "KeyError: 'missing'"),
                              ('multiline', 'ValueError: line1 line2'),
                              ('sysexit', 'SystemExit: 3'),
                              ('async_fail', 'ValueError: async boom')):
            with self.subTest(handler=handler), funcs(handler) as w:
                self.assertEqual(w.call().error, want)
                self.assertEqual(w.call(fid=2).error, want)


class EventTest(unittest.TestCase):
    def inspect(self, body=b'', env=None, **kw):
        with funcs('inspect_event', env=env) as w:
            r = w.call(body, **kw)
            self.assertEqual(r.status, 200, r)
            return r.json()

    def test_json_body_is_parsed(self):
        got = self.inspect({'it-s': 'alive'})
        self.assertEqual(got['data-type'], 'dict')
        self.assertEqual(got['data'], {'it-s': 'alive'})
        self.assertEqual(got['json'], {'it-s': 'alive'})

    def test_other_bodies_are_bytes(self):
        got = self.inspect(b'caf\xc3\xa9', headers=[('Content-Type', 'text/plain')])
        self.assertEqual((got['data-type'], got['data'], got['json']), ('bytes', 'caf\xc3\xa9', None))
        got = self.inspect(b'')
        self.assertEqual((got['data-type'], got['data']), ('bytes', ''))

    def test_event_keys_and_context(self):
        got = self.inspect(env={'FUNC_TIMEOUT': '2.5', 'FUNC_RUNTIME': 'python3.11', 'FUNC_MEMORY_LIMIT': '128Mi'},
                           event={'event-id': 'id-9', 'event-type': 'text/plain',
                                  'event-time': '2026-01-02T03:04:05Z', 'event-namespace': 'ns'})
        self.assertEqual(got['keys'], ['data', 'event-id', 'event-namespace', 'event-time', 'event-type', 'extensions'])
        self.assertEqual(got['extensions'], ['request'])
        self.assertEqual((got['event-id'], got['event-type'], got['event-time'], got['event-namespace']),
                         ('id-9', 'text/plain', '2026-01-02T03:04:05Z', 'ns'))
        self.assertEqual(got['context'], {'function-name': 'inspect_event', 'timeout': 2.5,
                                          'runtime': 'python3.11', 'memory-limit': '128Mi'})

    def test_context_defaults(self):
        got = self.inspect()
        self.assertEqual(got['context'], {'function-name': 'inspect_event', 'timeout': 180.0,
                                          'runtime': '', 'memory-limit': ''})

    def test_context_is_a_fresh_copy_per_invocation(self):
        with funcs('mutate_context') as w:
            self.assertEqual(w.call().json(), {'seen-before': None})
            self.assertEqual(w.call(fid=2).json(), {'seen-before': None})

    def test_request(self):
        got = self.inspect(
            b'a=b', method='PATCH', path='/some/path', query='a=1&a=2&greeting=Hola%20!',
            headers=[('X-Custom', 'v1'), ('X-Multi', 'm1'), ('X-Multi', 'm2'),
                     ('Content-Type', 'text/plain'), ('Cookie', 'sid=abc; theme="dark"')],
            remote='10.1.2.3:5555')
        self.assertEqual((got['method'], got['path'], got['query_string']),
                         ('PATCH', '/some/path', 'a=1&a=2&greeting=Hola%20!'))
        self.assertEqual(got['query'], {'a': '2', 'greeting': 'Hola !'})
        self.assertEqual(got['query_all'], ['1', '2'])
        self.assertEqual((got['query_attr'], got['query_missing_attr']), ('Hola !', ''))
        self.assertEqual((got['header_lower'], got['header_upper'], got['header_default']), ('v1', 'v1', 'dflt'))
        self.assertEqual((got['header_multi'], got['header_all']), ('m1, m2', ['m1', 'm2']))
        self.assertTrue(got['in_headers'])
        self.assertEqual((got['body'], got['body_read'], got['body_is_bytes']), ('a=b', 'a=b', True))
        self.assertEqual((got['content_type'], got['content_length']), ('text/plain', 3))
        self.assertEqual(got['remote_addr'], '10.1.2.3')
        self.assertEqual(got['url'], 'http://localhost/some/path?a=1&a=2&greeting=Hola%20!')
        self.assertEqual(got['cookies'], {'sid': 'abc', 'theme': 'dark'})
        self.assertEqual((got['environ_method'], got['environ_custom']), ('PATCH', 'v1'))
        self.assertEqual(got['repr'], '<Request PATCH /some/path?a=1&a=2&greeting=Hola%20!>')

    def test_urlencoded_form(self):
        with funcs('forms') as w:
            r = w.call(b'category=tools&x=%C3%A9', query='q=1',
                       headers=[('Content-Type', 'application/x-www-form-urlencoded')])
            self.assertEqual(r.json(), {'forms': {'category': 'tools', 'x': '\u00e9'},
                                        'params': {'q': '1', 'category': 'tools', 'x': '\u00e9'}})

    def test_multipart_form(self):
        boundary = 'XyZ123'
        body = ('--XyZ123\r\nContent-Disposition: form-data; name="category"\r\n\r\ntools\r\n'
                '--XyZ123\r\nContent-Disposition: form-data; name="upload"; filename="../my file.txt"\r\n'
                'Content-Type: text/plain\r\n\r\nhello world\r\n--XyZ123--\r\n').encode()
        with funcs('forms') as w:
            r = w.call(body, headers=[('Content-Type', 'multipart/form-data; boundary=' + boundary)])
            got = r.json()
            self.assertEqual(got['forms'], {'category': 'tools'})
            self.assertEqual(got['file'], {'name': 'upload', 'filename': 'my-file.txt', 'raw_filename': '../my file.txt',
                                           'content': 'hello world', 'content_type': 'text/plain'})


class LoadingTest(unittest.TestCase):
    def test_module_state_persists_across_invocations(self):
        with funcs('counter') as w:
            self.assertEqual([w.call(fid=i).body for i in (1, 2, 3)], [b'1', b'2', b'3'])

    def test_siblings_and_pythonpath_dependencies(self):
        with funcs('sibling_value') as w:
            self.assertEqual(w.call().text, 'from sibling')
        with funcs('dep', env={'PYTHONPATH': os.path.join(TESTDATA, 'deps')}) as w:
            self.assertEqual(w.call().text, 'fakedep')

    def test_sys_path_has_the_volume_first_and_not_the_runtime_folder(self):
        deps = os.path.join(TESTDATA, 'deps')
        with funcs('paths', env={'PYTHONPATH': deps}) as w:
            got = w.call().json()
        self.assertEqual(got['path'][:2], [TESTDATA, deps])
        self.assertNotIn(os.path.dirname(HERE), got['path'])
        self.assertEqual(got['cwd'], TESTDATA)

    def test_handlers_with_fewer_parameters(self):
        with funcs('noargs') as w:
            self.assertEqual(w.call().text, 'no args')
        with funcs('onearg') as w:
            self.assertEqual(w.call(event={'event-id': 'E1'}).text, 'E1')


class ConcurrencyTest(unittest.TestCase):
    def test_thread_pool_runs_invocations_together(self):
        # meet returns only when all four run at once: one at a time, the
        # first would fail after its barrier's timeout.
        with funcs('meet', concurrency=4) as w:
            for i in range(1, 5):
                w.invoke(i, {'parties': 4}, event={'event-id': 'e%d' % i})
            got = sorted(w.reply(i, timeout=20).text for i in range(1, 5))
        self.assertEqual(got, ['met e1', 'met e2', 'met e3', 'met e4'])

    def test_answers_in_completion_order(self):
        # Invocation 1 runs until its release file exists, which the test
        # creates only after invocation 2's answer: no timing is assumed.
        with tempfile.TemporaryDirectory() as tmp, funcs('sleep_print', concurrency=2) as w:
            released = os.path.join(tmp, 'released')
            open(released, 'w').close()
            w.invoke(1, {'release': os.path.join(tmp, 'release')}, event={'event-id': 'held'})
            w.invoke(2, {'release': released}, event={'event-id': 'free'})
            first = w.frame()
            self.assertEqual(first[1], 2)
            open(os.path.join(tmp, 'release'), 'w').close()
            self.assertEqual(w.reply(1).status, 200)

    def test_inline_worker_runs_one_at_a_time(self):
        with funcs('sleep_', concurrency=1) as w:
            start = time.monotonic()
            w.invoke(1, {'seconds': 0.3})
            w.invoke(2, {'seconds': 0.3})
            w.reply(1)
            w.reply(2)
            self.assertGreaterEqual(time.monotonic() - start, 0.55)

    def test_async_handlers_share_one_event_loop(self):
        for concurrency in (1, 8):
            with self.subTest(concurrency=concurrency), funcs('async_sleep', concurrency=concurrency) as w:
                self.assertEqual(w.call({'seconds': 0}, event={'event-id': 'a'}).text, 'slept a')
        # Coroutines meet only if they run together on one loop (a Barrier
        # used from two loops raises); one at a time, they would time out.
        with funcs('async_meet', concurrency=8) as w:
            for i in range(2, 6):
                w.invoke(i, {'parties': 4}, event={'event-id': str(i)})
            for i in range(2, 6):
                self.assertEqual(w.reply(i, timeout=20).text, 'met %d' % i)
        with funcs('async_hello') as w:
            self.assertEqual(w.call().text, 'async hi')

    def test_cancelled_invocation_gets_no_frames(self):
        for handler in ('sleep_', 'async_sleep'):
            with self.subTest(handler=handler), funcs(handler, concurrency=2) as w:
                w.invoke(1, {'seconds': 0.3})
                time.sleep(0.05)
                w.send('C', 1)
                self.assertEqual(w.call({'seconds': 0}, fid=2, event={'event-id': 'after'}).text, 'slept after')
                time.sleep(0.35)
                w.invoke(3, {'seconds': 0})
                typ, fid, _ = w.frame()
                self.assertEqual((typ, fid), ('S', 3))  # nothing came for id 1

    def test_end_of_input_exits_even_with_invocations_running(self):
        with funcs('sleep_', concurrency=3) as w:
            w.invoke(1, {'seconds': 30})
            time.sleep(0.1)
            os.close(w.w_in)
            w.w_in = None
            # Well before the invocation's 30 s (the bound, not a measure).
            self.assertEqual(w.wait(timeout=15), 0)

    def test_orphaned_worker_exits(self):
        # The process that started the worker dies (as when the host is
        # killed) while the worker is stuck in a busy loop and reads no frames.
        # The shell is killed only after the ready frame: from then on the
        # worker must notice, however slowly it started.
        w = Worker('busy', volume=FIXTURES, parent_shell=True)
        worker = None
        try:
            w.invoke(1)
            worker = w.kill_parent()
            deadline = time.monotonic() + 10
            while os.path.exists('/proc/%d' % worker) and not _zombie(worker) and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertFalse(os.path.exists('/proc/%d' % worker) and not _zombie(worker),
                             'the worker outlived its parent')
        finally:
            w.kill()
            if worker is not None:
                try:
                    os.kill(worker, signal.SIGKILL)
                except ProcessLookupError:
                    pass


class OutputTest(unittest.TestCase):
    def test_prints_reach_stdout_at_once(self):
        # The function cannot return before the release file exists, so the
        # print must reach stdout while it still runs; no timing is assumed.
        with tempfile.TemporaryDirectory() as tmp, funcs('sleep_print') as w:
            release = os.path.join(tmp, 'release')
            w.invoke(1, {'release': release}, event={'event-id': 'P1'})
            self.assertTrue(w.wait_output('start P1\n', timeout=10), 'print was buffered')
            open(release, 'w').close()
            self.assertEqual(w.reply(1).status, 200)
            self.assertTrue(w.wait_output('to stderr\n', stream='stderr'))

    def test_printsleep_fixture_output_is_not_lost_when_killed(self):
        w = Worker('printsleep', volume=FIXTURES)
        try:
            w.invoke(1, event={'event-id': 'PS'})
            self.assertTrue(w.wait_output('printed PS\n'))
        finally:
            w.kill()
        self.assertIn('printed PS', w.stdout())


def _zombie(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] == 'Z'
    except OSError:
        return False


if __name__ == '__main__':
    unittest.main()
