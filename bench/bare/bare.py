# Reference: a bare Python standard-library HTTP server (threads).
import os
import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without this, Nagle's algorithm
    # and delayed ACKs add 40 ms to every keep-alive response.
    disable_nagle_algorithm = True
    def _send(self, body, ct):
        self.send_response(200)
        self.send_header("Content-Type", ct)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        self._send(b"hello world", "text/plain; charset=utf-8")
    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        self._send(self.rfile.read(n), self.headers.get("Content-Type", "application/octet-stream"))
    def log_message(self, *a):
        pass

fd = os.environ.get("KUBELESS_LISTEN_FD")
if fd:
    # The socket the bench bound and handed over.
    srv = ThreadingHTTPServer(("127.0.0.1", 0), H, bind_and_activate=False)
    srv.socket.close()
    srv.socket = socket.socket(fileno=int(fd))
    srv.server_address = srv.socket.getsockname()
else:
    srv = ThreadingHTTPServer(("127.0.0.1", int(os.environ["FUNC_PORT"])), H)
srv.serve_forever()
