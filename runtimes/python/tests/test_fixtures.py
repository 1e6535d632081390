"""The conformance fixtures (internal/conformance/fixtures/python) behave as
internal/conformance/fixtures/README.md says, straight through the worker."""

import time
import unittest

from harness import Worker


class FixturesTest(unittest.TestCase):
    def test_simple_handlers(self):
        cases = [
            ('hello', b'', 200, 'text/plain; charset=utf-8', 'hello world'),
            ('unicode', b'', 200, 'text/plain; charset=utf-8', 'h\u00e9llo w\u00f6rld \u2713 \u65e5\u672c\u8a9e \U0001f680'),
            ('status', b'', 201, 'text/plain; charset=utf-8', 'created'),
            ('large', b'12345', 200, 'text/plain; charset=utf-8', '5'),
            ('sleep', {'seconds': 0.05}, 200, 'text/plain; charset=utf-8', 'slept'),
        ]
        for handler, body, status, ctype, text in cases:
            with self.subTest(handler=handler), Worker(handler) as w:
                r = w.call(body)
                self.assertEqual((r.status, r.header('Content-Type'), r.text), (status, ctype, text))
        with Worker('status') as w:
            self.assertEqual(w.call().header('X-Conformance'), 'yes')

    def test_echo(self):
        with Worker('echo') as w:
            self.assertEqual(w.call({'a': [1, 'b']}).json(), {'a': [1, 'b']})
            self.assertEqual(w.call(b'some text', fid=2).body, b'some text')

    def test_throw(self):
        with Worker('throw') as w:
            self.assertEqual(w.call().error, 'Exception: boom')

    def test_busy_never_answers(self):
        with Worker('busy', concurrency=2) as w:
            w.invoke(1)
            time.sleep(0.2)
            self.assertEqual(w.pending, {})
            self.assertEqual(w.buf, b'')

    def test_context(self):
        env = {'FUNC_TIMEOUT': '0.5', 'FUNC_RUNTIME': 'python3.11', 'FUNC_MEMORY_LIMIT': '64M', 'CONFORMANCE_ENV': 'env-value'}
        with Worker('context', env=env) as w:
            self.assertEqual(w.call().json(), {'function-name': 'context', 'timeout': 0.5, 'runtime': 'python3.11',
                                               'memory-limit': '64M', 'env': 'env-value'})

    def test_event(self):
        with Worker('event') as w:
            got = w.call({'x': 1}, method='PUT', path='/a/b', query='k=v',
                         headers=[('Content-Type', 'application/json'), ('X-Conformance-Header', 'hv')],
                         event={'event-id': 'i', 'event-type': 't', 'event-time': 'tm', 'event-namespace': 'n'}).json()
            self.assertEqual(got, {'event-id': 'i', 'event-type': 't', 'event-time': 'tm', 'event-namespace': 'n',
                                   'method': 'PUT', 'path': '/a/b', 'query': 'k=v', 'header': 'hv', 'data-kind': 'json'})
            self.assertEqual(w.call(b'txt', fid=2).json()['data-kind'], 'text')
            got = w.call(b'', fid=3).json()
            self.assertEqual((got['data-kind'], got['header']), ('empty', ''))


if __name__ == '__main__':
    unittest.main()
