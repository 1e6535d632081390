"""A stand-in for the two Bottle classes the original runtime honoured (tests only)."""


class HTTPResponse(Exception):
    def __init__(self, body='', status=200, headers=None):
        Exception.__init__(self, body)
        self.body = body
        self.status_code = status
        self.headerlist = [('Content-Type', 'text/html; charset=UTF-8')] + list((headers or {}).items())


class HTTPError(HTTPResponse):
    def __init__(self, status=500, body=''):
        HTTPResponse.__init__(self, body, status)
