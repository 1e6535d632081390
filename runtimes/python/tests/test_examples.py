"""The original Kubeless Python examples (docs/compatibility.md §6), as test
copies in ../examples-compat, answer as the originals did."""

import http.server
import os
import shutil
import tempfile
import threading
import time
import unittest

from harness import EXAMPLES, Worker


def example(mod, handler, **kw):
    return Worker(handler, mod=mod, volume=EXAMPLES, **kw)


class _Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b'<!doctype html><html><head><title>Google</title></head><body>search</body></html>'
        self.send_response(200)
        self.send_header('Content-Type', 'text/html')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class ExamplesTest(unittest.TestCase):
    def test_helloget(self):
        with example('helloget', 'foo') as w:
            r = w.call(method='GET')
            self.assertEqual((r.status, r.text), (200, 'hello world'))

    def test_hellowithdata_echoes_json_and_prints_the_event(self):
        with example('hellowithdata', 'handler') as w:
            r = w.call({'it-s': 'alive'}, method='POST', event={'event-id': 'data-1'})
            self.assertEqual((r.status, r.text, r.header('Content-Type')), (200, '{"it-s": "alive"}', 'application/json'))
            self.assertTrue(w.wait_output("'event-id': 'data-1'"))
            self.assertIn("'data': {'it-s': 'alive'}", w.stdout())

    def test_hellowithdeps_uses_a_helper_and_a_dependency(self):
        server = http.server.HTTPServer(('127.0.0.1', 0), _Page)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            env = {'PYTHONPATH': os.path.join(EXAMPLES, 'deps'),
                   'PAGE_URL': 'http://127.0.0.1:%d/' % server.server_address[1]}
            with example('hellowithdeps', 'foo', env=env) as w:
                r = w.call()
                self.assertEqual((r.status, r.text), (200, 'Google'), r)
        finally:
            server.shutdown()
            server.server_close()

    def test_preload_loads_once_and_reuses(self):
        with example('preload', 'handler', env={'PRELOAD_SECONDS': '0.3'}) as w:
            for i in range(1, 6):
                self.assertEqual(w.call(fid=i).text, 'hello world')
            out = w.stdout()
        self.assertEqual(out.count('loading ml_model_1'), 1)
        self.assertEqual(out.count('loading ml_model_2'), 1)

    def test_request_reads_header_and_query(self):
        with example('request', 'handler') as w:
            r = w.call(query='greeting=Hola', headers=[('Say-Hello-To', 'John')])
            self.assertEqual(r.text, 'Hola John')
            self.assertEqual(w.call(fid=2).text, 'Hello kubeless')

    def test_request_saves_a_multipart_upload(self):
        tmp = tempfile.mkdtemp()
        try:
            body = ('--b0\r\nContent-Disposition: form-data; name="category"\r\n\r\nanimals\r\n'
                    '--b0\r\nContent-Disposition: form-data; name="upload"; filename="cat.txt"\r\n'
                    'Content-Type: text/plain\r\n\r\nmeow\r\n--b0--\r\n').encode()
            with example('request', 'handler', env={'TMPDIR': tmp}) as w:
                r = w.call(body, method='POST', headers=[('Content-Type', 'multipart/form-data; boundary=b0'),
                                                         ('Say-Hello-To', 'Tom')])
                self.assertEqual(r.text, 'Hello Tom', r)
            with open(os.path.join(tmp, 'animals', 'cat.txt')) as f:
                self.assertEqual(f.read(), 'meow')
        finally:
            shutil.rmtree(tmp)


if __name__ == '__main__':
    unittest.main()
