"""The `bottle` stand-in: functions written for the original runtime set their
status and headers through bottle.HTTPResponse, HTTPError and response."""

import os
import shutil
import tempfile
import threading
import unittest

from harness import EXAMPLES, Worker


def write(folder, name, text):
    with open(os.path.join(folder, name), 'w') as f:
        f.write(text)


class BottleExampleTest(unittest.TestCase):
    def test_hellobottle(self):
        with Worker('handler', mod='hellobottle', volume=EXAMPLES) as w:
            r = w.call(query='name=ann')
            self.assertEqual((r.status, r.json(), r.header('Location'), r.header('Content-Type')),
                             (201, {'hello': 'ann'}, '/greetings/ann', 'application/json'), r)
            r = w.call(fid=2)
            self.assertEqual((r.status, r.text, r.header('X-Reason')), (400, 'name is required\n', 'missing name'), r)
            r = w.call(fid=3, query='name=teapot')
            self.assertEqual((r.status, r.text, r.header('X-Kind'), r.header('Content-Type')),
                             (418, "I'm a teapot", 'teapot', 'text/plain; charset=utf-8'), r)
            r = w.call(fid=4, query='name=nobody')
            self.assertEqual((r.status, r.text), (404, 'no such person'), r)
            # bottle.response does not carry over to the next invocation.
            r = w.call(fid=5, query='name=bob')
            self.assertEqual(r.status, 201, r)


class BottleShimTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)

    def worker(self, code, **kw):
        write(self.dir, 'fn.py', code)
        return Worker('handler', mod='fn', volume=self.dir, **kw)

    def test_response_status_line_headers_and_cookie(self):
        code = '\n'.join([
            'import bottle',
            'def handler(event, context):',
            '    bottle.response.status = "202 Taken"',
            '    bottle.response.headers["X-A"] = "1"',
            '    bottle.response.add_header("X-B", "2")',
            '    bottle.response.add_header("X-B", "3")',
            '    bottle.response.content_type = "text/csv"',
            '    bottle.response.set_cookie("sid", "abc", path="/", httponly=True)',
            '    return {"a": 1}',
        ])
        with self.worker(code) as w:
            r = w.call()
            self.assertEqual(r.status, 202, r)
            self.assertEqual([v for k, v in r.headers if k == 'X-B'], ['2', '3'])
            self.assertEqual((r.header('X-A'), r.header('Content-Type'), r.header('Set-Cookie'), r.text),
                             ('1', 'text/csv', 'sid=abc; Path=/; HttpOnly', '{"a": 1}'))

    def test_request_redirect_and_bad_status(self):
        code = '\n'.join([
            'import bottle',
            'def handler(event, context):',
            '    if bottle.request.method == "POST":',
            '        bottle.redirect("/elsewhere")',
            '    if bottle.request.query.get("bad"):',
            '        bottle.response.status = 99',
            '    return bottle.request.get_header("X-Who", "?")',
        ])
        with self.worker(code) as w:
            r = w.call(method='POST')
            self.assertEqual((r.status, r.header('Location')), (303, '/elsewhere'), r)
            r = w.call(fid=2, headers=[('X-Who', 'ann')])
            self.assertEqual((r.status, r.text), (200, 'ann'), r)
            r = w.call(fid=3, query='bad=1')
            self.assertEqual(r.error, 'ValueError: status must be between 100 and 599, got 99', r)

    def test_http_error_raised(self):
        code = '\n'.join([
            'from bottle import HTTPError',
            'def handler(event, context):',
            '    raise HTTPError(503, "later", Retry_After="5")',
        ])
        with self.worker(code) as w:
            r = w.call()
            self.assertEqual((r.status, r.text, r.header('Retry-After')), (503, 'later', '5'), r)

    def test_threads_keep_their_own_response(self):
        code = '\n'.join([
            'import bottle, threading',
            'gate = threading.Barrier(2)',
            'def handler(event, context):',
            '    n = int(event["data"])',
            '    bottle.response.status = 200 + n',
            '    gate.wait(5)',
            '    return str(bottle.request.body.read(), "ascii")',
        ])
        with self.worker(code, concurrency=2) as w:
            w.invoke(1, b'1', method='POST')
            w.invoke(2, b'2', method='POST')
            r1, r2 = w.reply(1), w.reply(2)
            self.assertEqual(((r1.status, r1.text), (r2.status, r2.text)), ((201, '1'), (202, '2')))

    def test_a_bundled_bottle_wins(self):
        write(self.dir, 'bottle.py', 'REAL = True\n')
        code = '\n'.join([
            'import bottle',
            'def handler(event, context):',
            '    return str(getattr(bottle, "REAL", False))',
        ])
        with self.worker(code) as w:
            self.assertEqual(w.call().text, 'True')

    def test_functions_without_bottle_do_not_load_it(self):
        code = '\n'.join([
            'import sys',
            'def handler(event, context):',
            '    return str("bottle" in sys.modules)',
        ])
        with self.worker(code) as w:
            self.assertEqual(w.call().text, 'False')


if __name__ == '__main__':
    unittest.main()
