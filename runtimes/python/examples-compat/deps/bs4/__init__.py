"""A stand-in for the one piece of BeautifulSoup that hellowithdepshelper.py
uses (``BeautifulSoup(page, 'html.parser').title.string``), so the example's
test needs no package registry. It plays the part of a dependency installed
under the catalog's PYTHONPATH."""

from html.parser import HTMLParser

__all__ = ['BeautifulSoup']


class _Tag(object):
    def __init__(self, name, string):
        self.name = name
        self.string = string


class _TitleFinder(HTMLParser):
    def __init__(self):
        HTMLParser.__init__(self)
        self.title = None
        self._in_title = False
        self._text = []

    def handle_starttag(self, tag, attrs):
        if tag == 'title' and self.title is None:
            self._in_title = True

    def handle_endtag(self, tag):
        if tag == 'title' and self._in_title:
            self._in_title = False
            self.title = _Tag('title', ''.join(self._text))

    def handle_data(self, data):
        if self._in_title:
            self._text.append(data)


class BeautifulSoup(object):
    def __init__(self, markup, features=None):
        if isinstance(markup, bytes):
            markup = markup.decode('utf-8', 'replace')
        finder = _TitleFinder()
        finder.feed(markup)
        finder.close()
        self.title = finder.title
