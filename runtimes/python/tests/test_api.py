"""The function API objects on their own (no worker process)."""

import importlib.util
import pickle
import sys
import unittest

from harness import WORKER

_spec = importlib.util.spec_from_file_location('kubeless_under_test', WORKER)
kubeless = importlib.util.module_from_spec(_spec)
sys.modules['kubeless_under_test'] = kubeless
_spec.loader.exec_module(kubeless)


class ResponseTest(unittest.TestCase):
    def test_defaults(self):
        r = kubeless.Response()
        self.assertEqual((r.body, r.status, r.headers), (None, 200, []))

    def test_headers_from_dict_or_pairs(self):
        self.assertEqual(kubeless.Response('x', headers={'A': 1, 'B': ['x', 'y'], 'C': b'z'}).headers,
                         [['A', '1'], ['B', 'x'], ['B', 'y'], ['C', 'z']])
        self.assertEqual(kubeless.Response('x', headers=[('A', 'a'), ('A', 'b')]).headers, [['A', 'a'], ['A', 'b']])

    def test_rejects_bad_arguments(self):
        for kw, exc in (({'status': '201'}, TypeError), ({'status': True}, TypeError), ({'status': 99}, ValueError),
                        ({'status': 600}, ValueError), ({'headers': {'Bad Name': 'x'}}, ValueError),
                        ({'headers': {'': 'x'}}, ValueError), ({'headers': {'X': 'a\nb'}}, ValueError),
                        ({'headers': ['notapair']}, TypeError)):
            with self.subTest(kw=kw):
                self.assertRaises(exc, kubeless.Response, 'body', **kw)


class HeadersTest(unittest.TestCase):
    def test_case_insensitive_mapping(self):
        h = kubeless.Headers([['Content-Type', 'text/plain'], ['X-A', '1'], ['X-A', '2']])
        self.assertEqual(h['content-type'], 'text/plain')
        self.assertEqual(h['X-A'], '1, 2')
        self.assertEqual(h.getall('x-a'), ['1', '2'])
        self.assertEqual(h.get('nope', 'd'), 'd')
        self.assertIn('CONTENT-TYPE', h)
        self.assertEqual((list(h), len(h)), (['Content-Type', 'X-A'], 2))
        self.assertEqual(h.items(), [('Content-Type', 'text/plain'), ('X-A', '1'), ('X-A', '2')])
        self.assertRaises(KeyError, lambda: h['nope'])


class FormsDictTest(unittest.TestCase):
    def test_last_value_all_values_and_attributes(self):
        d = kubeless.FormsDict([('a', '1'), ('a', '2'), ('b', '3')])
        self.assertEqual(dict(d), {'a': '2', 'b': '3'})
        self.assertEqual((d['a'], d.get('a'), d.get('a', index=0), d.get('b', type=int)), ('2', '2', '1', 3))
        self.assertEqual((d.getall('a'), d.getall('zz')), (['1', '2'], []))
        self.assertEqual((d.a, d.zz, d.get('zz', 'dflt')), ('2', '', 'dflt'))
        d['a'] = 'x'
        self.assertEqual(d.getall('a'), ['x'])
        del d['a']
        self.assertEqual(d.getall('a'), [])
        self.assertEqual(pickle.loads(pickle.dumps(d)).allitems(), [('b', '3')])


class BodyTest(unittest.TestCase):
    def test_bytes_that_read_like_a_file(self):
        b = kubeless.Body(b'line1\nline2\n')
        self.assertIsInstance(b, bytes)
        self.assertEqual(b, b'line1\nline2\n')
        self.assertEqual(b.readline(), b'line1\n')
        self.assertEqual(b.read(3), b'lin')
        self.assertEqual(b.read(), b'e2\n')
        self.assertEqual(b.read(), b'')
        b.seek(0)
        self.assertEqual(b.readlines(), [b'line1\n', b'line2\n'])
        self.assertEqual(b.getvalue(), b'line1\nline2\n')


class RequestTest(unittest.TestCase):
    def test_lazy_attributes(self):
        head = {'method': 'POST', 'path': '/p', 'query': 'x=1', 'headers': [['Host', 'example.com'],
                ['X-Forwarded-For', '1.1.1.1, 2.2.2.2']], 'remote': '[::1]:999'}
        r = kubeless.Request(head, b'{"a": 1}', {'a': 1})
        self.assertEqual((r.method, r.path, r.query_string, r.json), ('POST', '/p', 'x=1', {'a': 1}))
        self.assertEqual(r.url, 'http://example.com/p?x=1')
        self.assertEqual((r.remote_addr, r.remote_route), ('1.1.1.1', ['1.1.1.1', '2.2.2.2']))
        self.assertIs(r.query, r.GET)
        self.assertEqual((dict(r.forms), dict(r.files)), ({}, {}))
        self.assertEqual(r.environ['REMOTE_ADDR'], '::1')


if __name__ == '__main__':
    unittest.main()
